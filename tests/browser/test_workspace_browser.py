"""Real Chromium against the live server: sign in through the form, the access rule and the
audit trail as staff meet them, and axe-core (WCAG 2.2 AA) on every page visited."""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from playwright.sync_api import Page, expect

from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import CaseEvent, State
from samplan.directory.models import Assignment, User
from tests.browser.a11y import assert_accessible
from tests.factories import PersonFactory, case_in_state, staff
from tests.two_factor import authenticator, code_now

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def sign_in(page: Page, base_url: str, username: str) -> None:
    device = authenticator(User.objects.get(username=username))
    page.goto(f"{base_url}/konto/logga-in/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.fill("#id_code", code_now(device))  # the second factor
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(f"{base_url}/start/")
    # The tests below begin from the list of SIPs, the search page (a security officer has none
    # and the menu offers none: the page then says so).
    page.goto(f"{base_url}/sip/sok/")


def sign_out(page: Page) -> None:
    page.locator("form[action='/konto/logga-ut/'] button").click()
    expect(page).to_have_url(re.compile(r"/$"))


def test_alice_signs_in_sees_only_her_cases_and_reads_one(page: Page, live_server, county):
    mine = case_in_state(county, State.PLAN_ESTABLISHED)
    also_mine = case_in_state(
        county, State.INITIATED, person=PersonFactory(protection="sekretessmarkering")
    )
    theirs = services.initiate_case(
        actor=county.charlie, person=PersonFactory(), initiating_unit=county.elsewhere
    )

    page.goto(live_server.url)
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    assert_accessible(page)
    page.locator("main a[href='/konto/logga-in/']").click()
    expect(page.locator("#id_username")).to_be_visible()
    assert_accessible(page)

    sign_in(page, live_server.url, "alice")
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(2)
    for case in (mine, also_mine):
        expect(page.locator(f"a[href='/sip/{case.pk}/']")).to_have_text(case.person.full_name)
    expect(page.locator("main")).not_to_contain_text(theirs.reference)
    expect(page.locator("main")).not_to_contain_text(theirs.person.full_name)
    assert_accessible(page)

    page.locator(f"a[href='/sip/{mine.pk}/']").click()
    expect(page.locator("h1")).to_have_text(mine.person.full_name)
    plan = mine.valid_plan()
    with translation.override("sv"):
        state = str(State.PLAN_ESTABLISHED.label)
    expect(page.get_by_test_id("case-state")).to_have_text(state)
    expect(page.locator("main")).to_contain_text(plan.needs_today)
    expect(page.locator("main")).to_contain_text(plan.goals.first().text)
    expect(page.locator("main")).to_contain_text(plan.interventions.first().description)
    events = CaseEvent.objects.filter(case=mine).count()
    expect(page.get_by_test_id("timeline").locator("li")).to_have_count(events)
    assert_accessible(page)

    reads = AuditEvent.objects.filter(user=county.alice, action=AuditEvent.Action.READ)
    assert set(reads.filter(what="sip_case_list").values_list("case_id", flat=True)) == {
        mine.pk,
        also_mine.pk,
    }
    assert reads.get(what="sip_case").case_id == mine.pk
    assert reads.get(what="sip_case").ip_address == "127.0.0.1"

    # A coordinator may not read the audit log.
    response = page.goto(f"{live_server.url}/logg/")
    assert response.status == 403
    expect(page.locator("h1")).to_be_visible()
    assert_accessible(page)


def test_outsider_gets_404_and_the_security_officer_sees_the_refusal(
    page: Page, live_server, county
):
    case = case_in_state(county, State.CONSENTED)
    staff(county.vardcentral, Assignment.Role.SECURITY_OFFICER, username="sakerhet")

    sign_in(page, live_server.url, "charlie")
    expect(page.locator("main table")).to_have_count(0)
    response = page.goto(f"{live_server.url}/sip/{case.pk}/")
    assert response.status == 404
    expect(page.locator("main")).not_to_contain_text(case.person.full_name)
    expect(page.locator("main")).not_to_contain_text(case.reference)
    assert_accessible(page)
    sign_out(page)

    sign_in(page, live_server.url, "sakerhet")
    page.goto(f"{live_server.url}/logg/")
    page.select_option("#id_outcome", "refused")
    page.locator("#log-search button[type=submit]").first.click()
    expect(page).to_have_url(f"{live_server.url}/logg/")  # the search is posted
    refusal = page.locator("main table tbody tr", has_text="charlie")
    expect(refusal).to_have_count(1)
    expect(refusal).to_contain_text(f"#{case.pk}")
    expect(refusal).to_contain_text("127.0.0.1")
    assert_accessible(page)


def test_language_switch_in_the_header(page: Page, live_server, county):
    page.goto(f"{live_server.url}/konto/logga-in/")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    page.locator("header button[name=language][value=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(f"{live_server.url}/konto/logga-in/")
    assert_accessible(page)
    page.locator("header button[name=language][value=sv]").click()
    expect(page.locator("html")).to_have_attribute("lang", "sv")
