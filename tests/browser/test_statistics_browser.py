"""The statistics page in real Chromium on a 320 px phone, axe-core (WCAG 2.2 AA) on every state
visited: from the main menu, the own unit's figures, the organisation's with small numbers
hidden, the filter form without JavaScript, the CSV download; and a security officer told there
is nothing for them."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from samplan.access.models import AuditEvent
from samplan.directory.models import Assignment
from samplan.stats.refresh import refresh_statistics
from tests.browser.steps import Staff
from tests.browser.test_log_review_browser import signed_in
from tests.factories import staff
from tests.test_statistics import KnownCounty

pytestmark = pytest.mark.browser

PHONE = {"width": 320, "height": 640}


def test_the_coordinator_reads_the_statistics_on_a_phone(new_context, live_server, county):
    KnownCounty(county)
    refresh_statistics()
    alice = Staff(new_context(viewport=PHONE).new_page(), live_server.url, width=320)
    alice.sign_in("alice")
    alice.header().get_by_role("link", name=alice.t("Statistics")).click()
    alice.arrive(alice.t("Statistics") + f" {county.vardcentral.name}, " + _period(alice))
    alice.fill("From month", "2025-03")
    alice.fill("To month", "2025-06")
    alice.button("Show figures").click()
    alice.arrive(alice.t("Statistics") + f" {county.vardcentral.name}, 2025-03 – 2025-06")
    table = alice.page.get_by_test_id("table-sips")
    expect(table.get_by_role("row", name="2025-03")).to_contain_text("8")
    expect(alice.page.get_by_test_id("chart-volumes").locator("svg")).to_be_visible()

    alice.field("Figures for").select_option(label=county.region.name)
    alice.button("Show figures").click()
    alice.arrive(alice.t("Statistics") + f" {county.region.name}, 2025-03 – 2025-06")
    expect(alice.page.get_by_test_id("suppression-note")).to_be_visible()
    expect(table.get_by_role("row", name="2025-04")).to_contain_text("<5")

    with alice.page.expect_download() as info:
        alice.link("Download the figures as CSV").click()
    with open(info.value.path(), encoding="utf-8-sig") as file:
        rows = list(csv.reader(io.StringIO(file.read())))
    assert rows[0] == [alice.t("Figures for"), county.region.name]
    assert rows[2][0] == "2025-03"
    assert "<5" in rows[3]  # April: one SIP declined
    actions = list(
        AuditEvent.objects.filter(what="statistics", user=county.alice)
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["read", "read", "read", "export"]


def _period(staff: Staff) -> str:
    from django.utils import timezone

    from samplan.stats.views import _months_back

    last = timezone.localdate().replace(day=1)
    return f"{_months_back(last, 11):%Y-%m} – {last:%Y-%m}"


def test_a_security_officer_is_told_there_are_no_figures(page, live_server, county):
    user = staff(county.vardcentral, Assignment.Role.SECURITY_OFFICER, username="sakerhet")
    signed_in(page, live_server.url, user)
    officer = Staff(page, live_server.url)
    page.goto(f"{live_server.url}/statistik/")
    expect(officer.header().get_by_role("link", name=officer.t("Statistics"))).to_have_count(0)
    officer.arrive(officer.t("Statistics"))
    expect(page.get_by_test_id("no-statistics")).to_be_visible()
