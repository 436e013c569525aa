"""Signing in through the real pages in Chromium: the first sign-in sets up the authenticator on a
320 px phone (the key read off the page, the code computed as the app would), the backup codes
are shown once and one of them signs in the next time; and the sign-in works without JavaScript."""

from __future__ import annotations

import base64

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from samplan.access.models import AuditEvent
from tests.browser.steps import PASSWORD, Staff
from tests.two_factor import authenticator, code_now

pytestmark = pytest.mark.browser


def test_first_sign_in_sets_up_the_app_on_a_phone_and_a_backup_code_works_later(
    new_context, live_server, county
):
    phone = new_context(viewport={"width": 320, "height": 640}).new_page()
    alice = Staff(phone, live_server.url, width=320)
    phone.goto(f"{live_server.url}/konto/logga-in/")
    alice.arrive(alice.t("Sign in"))
    alice.fill("User name", "alice")
    alice.fill("Password", PASSWORD)
    alice.button("Sign in").click()

    alice.arrive(alice.t("Set up your authenticator app"))
    expect(phone.locator("main img[src^='data:image/svg+xml']")).to_be_visible()
    secret = phone.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    alice.fill("Code from the app", f"{totp(base64.b32decode(secret)):06d}")
    alice.button("Confirm").click()

    alice.arrive(alice.t("Backup codes"))
    codes = phone.get_by_test_id("backup-codes").locator("li").all_inner_texts()
    assert len(codes) == 10
    alice.link("I have saved the codes, continue").click()
    expect(phone).to_have_url(f"{live_server.url}/start/")
    alice.sign_out()

    # The phone is left at home: a backup code instead.
    phone.goto(f"{live_server.url}/sip/sok/")
    alice.arrive(alice.t("Sign in"))
    alice.fill("User name", "alice")
    alice.fill("Password", PASSWORD)
    alice.button("Sign in").click()
    alice.arrive(alice.t("Enter your code"))
    alice.fill("Code", codes[0])
    alice.button("Continue").click()
    expect(phone).to_have_url(f"{live_server.url}/sip/sok/")
    used = AuditEvent.objects.filter(what="second_factor", detail__startswith="backup_code")
    assert used.count() == 1

    # The account page: 9 codes left, the password page, and signing out everywhere.
    phone.goto(f"{live_server.url}/konto/")
    alice.arrive(alice.t("Your account"))
    expect(phone.get_by_test_id("backup-codes-left")).to_contain_text("9")
    alice.link("Change your password").click()
    alice.arrive(alice.t("Change your password"))
    phone.go_back()
    alice.button("Sign out everywhere").click()
    alice.arrive(alice.t("Sign in"))
    alice.message(alice.t("You are signed out on every computer and phone."))


def test_sign_in_works_without_javascript(new_context, live_server, county):
    device = authenticator(county.alice)
    page = new_context(java_script_enabled=False).new_page()
    page.goto(f"{live_server.url}/konto/logga-in/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "not the password")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page.locator("#id_username")).to_have_value("alice")
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.fill("#id_code", code_now(device))
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(f"{live_server.url}/start/")
