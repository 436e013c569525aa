"""The statistics page and its CSV: who sees which figures, suppression on the page and in the
CSV, one audit row per view and download naming the scope (never a person), SVG charts with a
text alternative, and a number of queries that does not grow with the county."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from samplan.access.models import AuditEvent
from samplan.cases.models import State
from samplan.directory.models import Assignment
from samplan.stats.refresh import COUNTY, organisation_scope, refresh_statistics, unit_scope
from tests.factories import UserFactory, case_in_state, staff
from tests.test_statistics import KnownCounty

pytestmark = pytest.mark.django_db

PAGE = reverse("stats:statistics")
CSV = reverse("stats:statistics_csv")
PERIOD = {"first": "2025-03", "last": "2025-06"}


@pytest.fixture
def known(county):
    world = KnownCounty(county)
    refresh_statistics()
    return world


def sv(text: str) -> str:
    with translation.override("sv"):
        return gettext(text)


def statistics_rows(**filters):
    return AuditEvent.objects.filter(what="statistics", **filters)


def test_a_coordinator_sees_the_own_unit_in_full_and_the_view_is_logged(client, known):
    client.force_login(known.county.alice)
    response = client.get(PAGE, PERIOD)
    assert response.status_code == 200
    html = response.content.decode()
    assert sv("These are your own unit's figures, in full.") in html
    assert 'data-testid="table-sips"' in html
    assert "<svg" in html and "<title id=" in html and "<desc id=" in html
    row = statistics_rows(action=AuditEvent.Action.READ).get()
    scope = unit_scope(known.county.vardcentral.pk)
    assert row.detail == f"{scope} 2025-03..2025-06"
    assert row.unit_id == known.county.vardcentral.pk
    assert row.case_id is None and row.person_id is None


def test_the_organisation_and_the_county_are_suppressed(client, known):
    client.force_login(known.county.alice)
    scope = organisation_scope(known.county.region.pk)
    html = client.get(PAGE, {**PERIOD, "scope": scope}).content.decode()
    assert "&lt;5" in html
    assert 'data-testid="suppression-note"' in html
    assert client.get(PAGE, {**PERIOD, "scope": COUNTY}).status_code == 200
    assert statistics_rows(action=AuditEvent.Action.READ).count() == 2


def test_a_scope_of_someone_else_is_refused_as_an_invalid_choice(client, known):
    client.force_login(known.county.charlie)  # Annanby kommun: not the region's unit
    response = client.get(PAGE, {"scope": unit_scope(known.county.vardcentral.pk)})
    assert response.status_code == 400
    assert not statistics_rows(outcome=AuditEvent.Outcome.ALLOWED).exists()


def test_the_csv_has_the_same_figures_suppressed_and_is_logged_as_an_export(client, known):
    client.force_login(known.county.alice)
    scope = organisation_scope(known.county.region.pk)
    response = client.get(CSV, {**PERIOD, "scope": scope})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header = rows[1]
    by_month = {row[0]: dict(zip(header, row, strict=True)) for row in rows[2:]}
    with translation.override("sv"):
        initiated, discharge = gettext("Initiated"), gettext("of which after discharge")
    assert by_month["2025-03"][initiated] == "8"
    assert by_month["2025-03"][discharge] == "<5"
    own = client.get(CSV, {**PERIOD, "scope": unit_scope(known.county.vardcentral.pk)})
    own_rows = list(csv.reader(io.StringIO(own.content.decode("utf-8-sig"))))
    assert dict(zip(own_rows[1], own_rows[2], strict=True))[discharge] == "2"
    exports = statistics_rows(action=AuditEvent.Action.EXPORT)
    assert [row.detail for row in exports.order_by("seq")] == [
        f"{scope} 2025-03..2025-06",
        f"{unit_scope(known.county.vardcentral.pk)} 2025-03..2025-06",
    ]


@pytest.mark.parametrize("role", ["participant", "unit_administrator"])
def test_a_participant_and_a_unit_administrator_see_their_unit(client, county, role):
    user = staff(county.hemtjanst, role)
    client.force_login(user)
    response = client.get(PAGE)
    assert response.status_code == 200
    assert county.hemtjanst.name in response.content.decode()


@pytest.mark.parametrize("who", ["security_officer", "superuser"])
def test_a_security_officer_or_anyone_without_a_unit_gets_a_page_that_says_so(client, county, who):
    if who == "security_officer":
        user = staff(county.vardcentral, Assignment.Role.SECURITY_OFFICER)
    else:
        user = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(user)
    for url in (PAGE, CSV):
        response = client.get(url)
        assert response.status_code == 403
        assert 'data-testid="no-statistics"' in response.content.decode()
    assert statistics_rows(outcome=AuditEvent.Outcome.REFUSED).count() == 2


def test_anonymous_is_sent_to_sign_in(client, county):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_a_period_backwards_or_too_long_is_an_error_next_to_the_field(client, county):
    client.force_login(county.alice)
    backwards = client.get(PAGE, {"first": "2025-06", "last": "2025-03"})
    assert backwards.status_code == 400
    assert sv("The first month comes after the last.") in backwards.content.decode()
    assert client.get(PAGE, {"first": "2020-01", "last": "2025-03"}).status_code == 400
    assert client.get(PAGE, {"first": "mars"}).status_code == 400


def test_english_when_asked_for(client, known):
    client.force_login(known.county.alice)
    client.cookies["django_language"] = "en"
    html = client.get(PAGE, PERIOD).content.decode()
    assert '<html lang="en"' in html
    assert "SIPs month by month" in html
    assert "Median days from discharge notice to meeting call" in html


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(PAGE, {"scope": COUNTY}).status_code == 200
    return len(captured)


def test_the_number_of_queries_does_not_grow_with_the_county(client, county):
    client.force_login(county.alice)
    case_in_state(county, State.PLAN_ESTABLISHED)
    refresh_statistics()
    few = _queries(client)
    for _ in range(6):
        case_in_state(county, State.PLAN_ESTABLISHED)
    refresh_statistics()
    assert _queries(client) == few


def test_the_page_stays_within_its_queries(client, known, django_assert_max_num_queries):
    client.force_login(known.county.alice)
    with django_assert_max_num_queries(12):
        assert client.get(PAGE, PERIOD).status_code == 200
