"""The security officer's log review in real Chromium on a 320 px screen: the search by identity
number is posted (the address stays /logg/), the rows stack, nothing is wider than the screen,
and axe-core (WCAG 2.2 AA) finds nothing, without any script of ours needed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from samplan.access.chain import write_events
from samplan.access.models import AuditEvent
from samplan.directory.models import Assignment
from samplan.people.models import Person
from tests.browser.a11y import assert_accessible
from tests.factories import PersonFactory, staff

pytestmark = pytest.mark.browser
WIDTH = 320


def signed_in(page: Page, base_url: str, user) -> None:
    """A session with two factors (tests/conftest.py: force_login marks them), handed to the
    browser; signing in itself is tested elsewhere."""
    client = Client()
    client.force_login(user)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": base_url}]
    )


def fits_and_is_accessible(page: Page) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= WIDTH, f"{page.url} is {wide} px wide at {WIDTH} px"
    assert_accessible(page)


def test_officer_searches_a_person_on_a_narrow_screen(page: Page, live_server, county):
    officer = staff(county.vardcentral, Assignment.Role.SECURITY_OFFICER, username="sakerhet")
    person = PersonFactory(protection=Person.Protection.SEKRETESSMARKERING)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    late_last_night = timezone.make_aware(dt.datetime.combine(yesterday, dt.time(23, 30)))
    write_events(
        [
            AuditEvent(
                user=county.alice,
                username="alice",
                unit=county.vardcentral,
                unit_name=county.vardcentral.name,
                organisation_id=county.region.pk,
                organisation_name=county.region.name,
                person=person,
                action=AuditEvent.Action.READ,
                what="sip_case",
                ip_address="203.0.113.5",
            ),
            # A read late last night: the summary then holds several links one under the
            # other, whatever the hour the test runs (each must be a 24 px target).
            AuditEvent(
                at=late_last_night,
                user=county.alice,
                username="alice",
                unit=county.vardcentral,
                unit_name=county.vardcentral.name,
                organisation_id=county.region.pk,
                organisation_name=county.region.name,
                action=AuditEvent.Action.READ,
                what="sip_case_list",
            ),
        ]
    )
    page.set_viewport_size({"width": WIDTH, "height": 900})
    signed_in(page, live_server.url, officer)

    page.goto(f"{live_server.url}/logg/")
    page.get_by_test_id("show-flags").click()
    expect(page.get_by_test_id("flag-protected").get_by_role("link")).to_be_visible()
    fits_and_is_accessible(page)

    page.fill("#id_identity", person.identity_number)
    page.locator("#log-search button[type=submit]").first.click()
    expect(page).to_have_url(f"{live_server.url}/logg/")
    rows = page.get_by_test_id("log-row")
    expect(rows).to_have_count(1)
    read = rows.filter(has_text="alice")
    expect(read).to_contain_text(person.full_name)
    expect(read).to_contain_text(person.display_identity)
    expect(read).to_contain_text("203.0.113.5")
    fits_and_is_accessible(page)
