"""Min SIP, who has read my data (logguttag, patientdatalagen 8 kap. 5 §): every unit and time that
read or changed data about the person, from the audit log, newest first; units and organisations
named, staff never; emergency access flagged; a summary; keyset pages; a period; a printable copy
audited as PRINT. The extract lists exactly the units the audit rows name."""

from __future__ import annotations

import datetime as dt
import html as html_module
import re

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from samplan.access.chain import write_events
from samplan.access.citizen import Citizen, audit_citizen
from samplan.access.models import AuditEvent
from samplan.access.services import _event, audit
from samplan.cases.models import State
from samplan.cases.services.initiative import SomeoneElse, request_sip
from samplan.mypages.views import log_extract as log_extract_views
from samplan.people.identity import make_identity_number
from samplan.people.models import RelatedParty
from tests.citizens import sign_in_as_person, sign_in_citizen
from tests.factories import UnitFactory, case_in_state, minor, related_party_of, staff

pytestmark = pytest.mark.django_db

READ = AuditEvent.Action.READ


def url(case, **params) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return reverse("mypages:log_extract", args=[case.pk]) + (f"?{query}" if query else "")


def print_url(case, **params) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return reverse("mypages:log_extract_print", args=[case.pk]) + (f"?{query}" if query else "")


def english(client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def text(fragment: str) -> str:
    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def summary_units(response) -> dict[str, tuple[str, int]]:
    """Unit → (organisation, times) as the summary shows them."""
    found = {}
    for row in re.findall(
        r'<tr class="govuk-table__row" data-testid="summary-unit">(.*?)</tr>',
        response.content.decode(),
        re.S,
    ):
        cells = [text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        found[cells[0].replace(" Emergency access", "")] = (cells[1], int(cells[2]))
    return found


def log_rows(response) -> list[list[str]]:
    return [
        [text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(
            r'<tr class="govuk-table__row" data-testid="log-row">(.*?)</tr>',
            response.content.decode(),
            re.S,
        )
    ]


def rows_at(user, case, unit, moments, *, what="sip_case", emergency=False) -> None:
    """Rows of the log at given moments, through its one write path (as a read long ago)."""
    events = []
    for moment in moments:
        event = _event(user, READ, what, case.pk, case.person_id, unit.pk, emergency=emergency)
        event.at = moment
        events.append(event)
    write_events(events)


# --- Exactly the units that read ---------------------------------------------------------------


def test_the_extract_lists_exactly_the_units_that_read_the_persons_data(client, county):
    case = case_in_state(county, State.MEETING_CALLED)  # alice's vårdcentral wrote it
    client.force_login(county.bob)  # hemtjänst takes part (called) under the consent
    assert client.get(reverse("workspace:case_detail", args=[case.pk])).status_code == 200
    client.force_login(county.charlie)  # his unit takes no part: refused, read nothing
    assert client.get(reverse("workspace:case_detail", args=[case.pk])).status_code == 404
    other = case_in_state(county, State.PREPARATION)  # someone else's SIP, read by psykiatrin
    psykiatri = UnitFactory(organisation=county.region, name="Psykiatrimottagningen")
    rows_at(staff(psykiatri), other, psykiatri, [timezone.now()])
    client.logout()

    sign_in_as_person(client, case)
    english(client)
    response = client.get(url(case))
    assert response.status_code == 200
    shown = summary_units(response)

    from_the_log = {
        (row.unit_name, row.organisation_name)
        for row in AuditEvent.objects.filter(
            person_id=case.person_id, outcome=AuditEvent.Outcome.ALLOWED, unit__isnull=False
        )
    }
    assert {(unit, organisation) for unit, (organisation, _) in shown.items()} == from_the_log
    assert set(shown) == {"Vårdcentral Centrum", "Hemtjänst Norr"}
    assert shown["Hemtjänst Norr"] == ("Testby kommun", 1)
    assert (
        shown["Vårdcentral Centrum"][1]
        == AuditEvent.objects.filter(person_id=case.person_id, unit=county.vardcentral).count()
    )
    page_text = text(response.content.decode())
    assert "Socialtjänst Annanby" not in page_text and "Psykiatrimottagningen" not in page_text
    assert "Organisations: Region Test, Testby kommun." in page_text


def test_staff_are_never_named_only_their_unit_and_organisation(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    client.force_login(county.bob)
    client.get(reverse("workspace:case_detail", args=[case.pk]))
    client.logout()
    sign_in_as_person(client, case)
    english(client)
    response = client.get(url(case))
    page = response.content.decode()
    for member in (county.alice, county.bob):
        assert member.get_username() not in page
        assert member.get_full_name() not in page
    newest_staff = next(row for row in log_rows(response) if row[1] == "Hemtjänst Norr")
    assert newest_staff[2] == "Testby kommun"
    assert newest_staff[3] == "Read: the SIP"


def test_rows_come_newest_first_in_plain_words_and_emergency_access_is_flagged(client, county):
    case = case_in_state(county, State.PREPARATION)
    now = timezone.now()
    rows_at(county.alice, case, county.vardcentral, [now - dt.timedelta(hours=3)], what="plan")
    rows_at(
        county.charlie,
        case,
        county.elsewhere,
        [now - dt.timedelta(hours=2)],
        emergency=True,
    )
    sign_in_as_person(client, case)
    english(client)
    response = client.get(url(case))
    found = log_rows(response)
    times = re.findall(
        r'data-testid="log-row">\s*<td[^>]*><time datetime="([^"]+)"', response.content.decode()
    )
    assert times == sorted(times, reverse=True)
    assert found[0][1] == "You, in Min SIP"  # opening this very page
    assert found[0][3] == "Read: who has read the data (this page)"
    emergency = next(row for row in found if row[1] == "Socialtjänst Annanby")
    assert emergency[3] == "Read: the SIP Emergency access"
    plan = next(row for row in found if row[3].startswith("Read: the plan"))
    assert plan[1] == "Vårdcentral Centrum"
    assert re.search(
        r'data-testid="summary-unit">\s*<td[^>]*>Socialtjänst Annanby <strong class="govuk-tag '
        r'govuk-tag--red">Emergency access',
        response.content.decode(),
    )


def test_what_is_done_in_min_sip_shows_by_capacity_never_by_name(client, county):
    case = case_in_state(county, State.PREPARATION, person=minor())
    number = make_identity_number(dt.date(1977, 9, 9), 81)
    related_party_of(
        case, kind=RelatedParty.Kind.GUARDIAN, identity_number=number, name="Mamma Svensson"
    )
    sign_in_citizen(client, number, "Mamma Svensson")
    english(client)
    client.get(url(case))
    response = client.get(url(case))
    assert response.status_code == 200
    page = text(response.content.decode())
    assert f"Who has read {case.person.given_name}'s data" in page
    assert "Mamma Svensson" not in page
    # Her own reads are "you" to her (access/citizen.role_words_for_person).
    assert "You, in Min SIP – number of times: 2" in page
    assert "Guardian (vårdnadshavare)" not in page


def test_a_relative_asking_for_a_sip_for_the_person_shows_in_their_log(client, county):
    number = make_identity_number(dt.date(1950, 1, 1), 84)
    daughter = Citizen(make_identity_number(dt.date(1975, 1, 1), 85), "Dotter Andersson")
    case = request_sip(
        daughter,
        unit=county.vardcentral,
        reason="Mamma behöver hjälp hemma.",
        for_person=SomeoneElse(number, "Maj", "Andersson"),
    )
    sign_in_citizen(client, number, "Maj Andersson")
    english(client)
    response = client.get(url(case))
    assert response.status_code == 200
    by_relative = [row for row in log_rows(response) if row[1].startswith("Your relative")]
    assert [row[3] for row in by_relative] == [
        "Created: a request for a SIP",
        "Created: personal details",
    ]
    assert by_relative[0][1] == "Your relative, in Min SIP"
    assert "Dotter" not in response.content.decode()


# --- How far the extract reaches ------------------------------------------------------------------


def two_sips_of_one_person(county):
    """An earlier SIP, ended, read by psykiatrin; the current one, where a god man with a mandate
    that covers acting is known (and a search for the person, tied to no SIP)."""
    earlier = case_in_state(county, State.CLOSED)
    person = earlier.person
    current = case_in_state(county, State.PREPARATION, person=person)
    psykiatri = UnitFactory(organisation=county.region, name="Psykiatrimottagningen")
    rows_at(staff(psykiatri), earlier, psykiatri, [timezone.now() - dt.timedelta(days=1)])
    audit(
        county.charlie,
        READ,
        "person_lookup",
        person_id=person.pk,
        unit_id=county.elsewhere.pk,
    )
    number = make_identity_number(dt.date(1960, 6, 6), 86)
    related_party_of(
        current,
        kind=RelatedParty.Kind.GOD_MAN,
        identity_number=number,
        name="Gode Mannen",
        may_act=True,
    )
    return earlier, current, number


def test_a_god_man_known_in_one_sip_reads_that_sips_rows_only(client, county):
    earlier, current, number = two_sips_of_one_person(county)
    sign_in_citizen(client, number, "Gode Mannen")
    english(client)
    response = client.get(url(current))
    assert response.status_code == 200
    page = text(response.content.decode())
    assert "Psykiatrimottagningen" not in page  # read the other SIP
    assert "Socialtjänst Annanby" not in page  # searched for the person, in no SIP
    assert "Vårdcentral Centrum" in page  # wrote this one
    assert "You see this SIP only" in page
    shown = {row.pk for row in response.context["rows"]}
    assert shown
    assert set(AuditEvent.objects.filter(pk__in=shown).values_list("case_id", flat=True)) == {
        current.pk
    }
    printed = text(client.get(print_url(current)).content.decode())
    assert "Psykiatrimottagningen" not in printed and "Socialtjänst Annanby" not in printed
    assert f"read or changed the data in {current.reference}" in printed
    # Their own reads of this SIP's pages are "you" to them.
    assert "You, in Min SIP" in page


def test_the_person_reads_every_row_about_them_and_is_told_so(client, county):
    earlier, current, number = two_sips_of_one_person(county)
    sign_in_as_person(client, current)
    english(client)
    response = client.get(url(current))
    page = text(response.content.decode())
    assert "Psykiatrimottagningen" in page and "Socialtjänst Annanby" in page
    assert "in your other SIPs, and when they searched for you" in page
    assert "You see this SIP only" not in page
    printed = text(client.get(print_url(current)).content.decode())
    assert "Psykiatrimottagningen" in printed and "in all their SIPs" in printed


def test_a_guardian_of_a_child_reads_every_row_about_the_child(client, county):
    child = minor()
    earlier = case_in_state(county, State.CLOSED, person=child)
    current = case_in_state(county, State.PREPARATION, person=child)
    psykiatri = UnitFactory(organisation=county.region, name="BUP")
    rows_at(staff(psykiatri), earlier, psykiatri, [timezone.now() - dt.timedelta(days=1)])
    number = make_identity_number(dt.date(1981, 1, 1), 87)
    related_party_of(current, kind=RelatedParty.Kind.GUARDIAN, identity_number=number)
    sign_in_citizen(client, number, "Förälder")
    english(client)
    page = text(client.get(url(current)).content.decode())
    assert "BUP" in page
    assert f"in {child.given_name}'s other SIPs" in page


# --- Signing in --------------------------------------------------------------------------------


def signed_in(person) -> None:
    """A sign-in as Min SIP's middleware logs it: the citizen, no capacity, their own person."""
    citizen = Citizen(person.identity_number, person.full_name, method="oidc")
    audit_citizen(citizen, AuditEvent.Action.SIGN_IN, "min_sip", person_id=person.pk, detail="oidc")


def test_the_persons_own_sign_ins_read_as_theirs(client, county):
    young = minor(own_view=True)
    case = case_in_state(county, State.PREPARATION, person=young)
    signed_in(young)
    sign_in_as_person(client, case)
    english(client)
    response = client.get(url(case))
    sign_in_row = next(row for row in log_rows(response) if "signed in" in row[3])
    assert sign_in_row[1] == "You, in Min SIP"
    assert sign_in_row[3] == "You signed in to Min SIP."
    assert "Someone" not in response.content.decode()

    number = make_identity_number(dt.date(1978, 8, 8), 88)
    related_party_of(case, kind=RelatedParty.Kind.GUARDIAN, identity_number=number)
    client.cookies.clear()
    sign_in_citizen(client, number, "Förälder")
    english(client)
    response = client.get(url(case))
    sign_in_row = next(row for row in log_rows(response) if "signed in" in row[3])
    assert sign_in_row[1] == "The person, in Min SIP"
    assert sign_in_row[3] == "The person signed in to Min SIP."


# --- Who may open it ----------------------------------------------------------------------------


def test_a_relative_a_stranger_and_staff_cannot_open_it_and_refusals_are_logged(client, county):
    case = case_in_state(county, State.PREPARATION)
    relative = make_identity_number(dt.date(1982, 3, 3), 82)
    related_party_of(case, identity_number=relative, may_see=RelatedParty.Sees.EVERYTHING)
    stranger = make_identity_number(dt.date(1983, 4, 4), 83)
    for number in (relative, stranger):
        client.cookies.clear()
        sign_in_citizen(client, number)
        assert client.get(url(case)).status_code == 404
        assert client.get(print_url(case)).status_code == 404
    assert (
        AuditEvent.objects.filter(
            case=case, what="log_extract", outcome=AuditEvent.Outcome.REFUSED
        ).count()
        == 4
    )
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.PRINT).exists()
    client.cookies.clear()
    client.force_login(county.alice)  # staff are not citizens: sent to Min SIP's sign-in
    response = client.get(url(case))
    assert response.status_code == 302
    assert response.url.startswith(reverse("mypages:sign_in"))


def test_a_young_person_with_their_own_view_may_read_their_log(client, county):
    young = minor(own_view=True)
    case = case_in_state(county, State.PREPARATION, person=young)
    sign_in_as_person(client, case)
    english(client)
    response = client.get(url(case))
    assert response.status_code == 200
    assert "Who has read your data" in response.content.decode()


# --- Pages and periods --------------------------------------------------------------------------


def test_keyset_pages_show_every_row_once_without_offset(client, county, monkeypatch):
    monkeypatch.setattr(log_extract_views, "PAGE_SIZE", 20)
    case = case_in_state(county, State.PREPARATION)
    same_moment = timezone.now() - dt.timedelta(days=2)
    rows_at(county.alice, case, county.vardcentral, [same_moment] * 25)  # ties broken by id
    rows_at(
        county.bob,
        case,
        county.hemtjanst,
        [same_moment - dt.timedelta(minutes=n) for n in range(1, 31)],
    )
    sign_in_as_person(client, case)
    english(client)
    expected = AuditEvent.objects.filter(person_id=case.person_id, outcome="allowed").count() + 1

    seen: list[str] = []
    address = url(case)
    pages = 0
    while address:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(address)
        assert response.status_code == 200
        log_selects = [
            q["sql"]
            for q in queries
            if q["sql"].startswith("SELECT") and "access_auditevent" in q["sql"]
        ]
        assert not any("OFFSET" in sql.upper() for sql in log_selects)
        pages += 1
        page_html = response.content.decode()
        seen += re.findall(r'data-testid="log-row">\s*<td[^>]*><time datetime="([^"]+)"', page_html)
        older = re.search(r'href="\?([^"]+)" rel="next"', page_html)
        address = url(case) + "?" + html_module.unescape(older.group(1)) if older else ""
        if pages > 1:
            assert 'data-testid="summary-units"' not in page_html
            assert 'data-testid="newest"' in page_html
    # Every row once (the reads of this page add one row per page, after the first: newer
    # than the cursor, so not repeated).
    assert len(seen) == expected
    assert pages == -(-expected // 20) >= 3


def test_a_period_narrows_the_rows_and_the_summary(client, county):
    case = case_in_state(county, State.PREPARATION)
    today = timezone.localdate()
    long_ago = timezone.now() - dt.timedelta(days=100)
    rows_at(county.bob, case, county.hemtjanst, [long_ago])
    rows_at(county.alice, case, county.vardcentral, [timezone.now() - dt.timedelta(days=50)] * 2)
    sign_in_as_person(client, case)
    english(client)
    first = (today - dt.timedelta(days=60)).isoformat()
    last = (today - dt.timedelta(days=40)).isoformat()
    response = client.get(url(case, date_from=first, date_to=last))
    assert response.status_code == 200
    assert summary_units(response) == {"Vårdcentral Centrum": ("Region Test", 2)}
    assert len(log_rows(response)) == 2
    assert f'value="{first}"' in response.content.decode()

    wrong = client.get(url(case, date_from=last, date_to=first))
    assert wrong.status_code == 400
    assert "The end date must be the same as or after the start." in wrong.content.decode()
    assert 'id="id_date_to-error"' in wrong.content.decode()


# --- The printable copy -------------------------------------------------------------------------


def test_the_printable_copy_holds_the_period_without_navigation_and_is_audited(client, county):
    case = case_in_state(county, State.PREPARATION)
    rows_at(county.bob, case, county.hemtjanst, [timezone.now() - dt.timedelta(days=3)])
    sign_in_as_person(client, case)
    english(client)
    day = (timezone.localdate() - dt.timedelta(days=3)).isoformat()
    response = client.get(print_url(case, date_from=day, date_to=day))
    page = response.content.decode()
    assert response.status_code == 200
    assert "samplan-header" not in page and "Sign out" not in page
    assert case.person.full_name in page
    assert [row[1] for row in log_rows(response)] == ["Hemtjänst Norr"]
    assert summary_units(response) == {"Hemtjänst Norr": ("Testby kommun", 1)}
    printed = AuditEvent.objects.get(action=AuditEvent.Action.PRINT)
    assert (printed.what, printed.case_id, printed.person_id, printed.citizen_role) == (
        "log_extract",
        case.pk,
        case.person_id,
        "person",
    )
    assert printed.detail == f"period {day}–{day}"
    assert printed.user_id is None


def test_a_long_printable_copy_says_it_is_cut_short(client, county, monkeypatch):
    monkeypatch.setattr(log_extract_views, "PRINT_LIMIT", 3)
    case = case_in_state(county, State.PREPARATION)
    sign_in_as_person(client, case)
    english(client)
    response = client.get(print_url(case))
    assert len(log_rows(response)) == 3
    assert 'data-testid="cut-short"' in response.content.decode()


# --- Speed --------------------------------------------------------------------------------------


def test_the_page_makes_the_same_number_of_queries_for_a_short_and_a_long_log(
    client, county, django_assert_max_num_queries
):
    case = case_in_state(county, State.PREPARATION)
    sign_in_as_person(client, case)
    client.get(url(case))

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url(case)).status_code == 200
        return len(queries)

    short = count()
    now = timezone.now()
    rows_at(county.bob, case, county.hemtjanst, [now - dt.timedelta(minutes=n) for n in range(120)])
    rows_at(county.charlie, case, county.elsewhere, [now], emergency=True)
    assert count() == short
    with django_assert_max_num_queries(15):
        client.get(url(case))
    with django_assert_max_num_queries(15):
        client.get(print_url(case))
