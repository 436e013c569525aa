"""Loggkontroll: the security officer's review of the audit log. Who may open it, whose rows
they see, each filter and flag (the right rows and only them), keyset pages that neither repeat
nor skip rows sharing a time, the identity number kept out of every address, the CSV export
and the reason asked before protected persons leave in a file, the record of a review, and that
all of it is itself in the log."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from samplan.access.chain import write_events
from samplan.access.models import AuditEvent, EmergencyAccess, LogReview
from samplan.access.services import _unit_snapshots
from samplan.cases.models import State
from samplan.directory.models import Assignment
from samplan.people.models import Person
from samplan.workspace.views.log_review import PREFILL_SALT
from tests.factories import (
    OrganisationFactory,
    PersonFactory,
    UnitFactory,
    UserFactory,
    case_in_state,
    staff,
)

pytestmark = pytest.mark.django_db

URL = "/logg/"
EXPORT_URL = "/logg/export/"
REVIEWS_URL = "/logg/granskningar/"
NEW_REVIEW_URL = "/logg/granskningar/ny/"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
Action, Outcome = AuditEvent.Action, AuditEvent.Outcome


@pytest.fixture
def officer(county):
    """The region's security officer."""
    return staff(county.vardcentral, Assignment.Role.SECURITY_OFFICER, username="sakerhet")


def row(user=None, *, unit=None, at=None, action=Action.READ, what="sip_case", **fields):
    """One audit row as the services write it (unit and organisation snapshots included)."""
    name, organisation_id, organisation_name = (
        _unit_snapshots([unit.pk])[unit.pk] if unit else ("", None, "")
    )
    event = AuditEvent(
        at=at or timezone.now(),
        user=user,
        username=user.username if user else "",
        unit=unit,
        unit_name=name,
        organisation_id=organisation_id,
        organisation_name=organisation_name,
        action=action,
        what=what,
        **fields,
    )
    write_events([event])
    return event


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=STOCKHOLM)


def listed(client, data=None, *, method="post") -> list[int]:
    response = getattr(client, method)(URL, data or {})
    assert response.status_code == 200, response.content.decode()[:2000]
    return [event.pk for event in response.context["rows"]]


# --- Who may review ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coordinator", "unit_administrator", "superuser", "participant"])
def test_only_a_security_officer_opens_the_review_and_every_refusal_is_logged(client, county, who):
    user = {
        "coordinator": county.alice,
        "participant": county.bob,
        "unit_administrator": staff(
            county.vardcentral, Assignment.Role.UNIT_ADMINISTRATOR, username="chef"
        ),
        "superuser": UserFactory(username="root", is_staff=True, is_superuser=True),
    }[who]
    client.force_login(user)
    attempts = [
        (client.get(URL), Action.READ, "audit_log"),
        (client.post(URL, {"action": "read"}), Action.READ, "audit_log"),
        (client.post(EXPORT_URL, {}), Action.EXPORT, "audit_log"),
        (client.get(REVIEWS_URL), Action.READ, "log_review"),
        (client.get(NEW_REVIEW_URL), Action.READ, "log_review"),
        (client.post(NEW_REVIEW_URL, _review_data()), Action.CREATE, "log_review"),
    ]
    for response, _action, _what in attempts:
        assert response.status_code == 403
    refusals = list(
        AuditEvent.objects.filter(user=user, outcome=Outcome.REFUSED)
        .order_by("at", "id")
        .values_list("action", "what")
    )
    assert refusals == [(action, what) for _response, action, what in attempts]
    assert not LogReview.objects.exists()


def test_an_ended_security_officer_assignment_opens_nothing(client, county):
    user = UserFactory(username="former")
    Assignment.objects.create(
        user=user,
        unit=county.vardcentral,
        role=Assignment.Role.SECURITY_OFFICER,
        valid_from=timezone.now() - dt.timedelta(days=30),
        valid_to=timezone.now() - dt.timedelta(days=1),
    )
    client.force_login(user)
    assert client.get(URL).status_code == 403


def test_the_officer_sees_their_organisations_rows_and_no_others(client, county, officer):
    case = case_in_state(county, State.CONSENTED)  # region coordinates, kommun takes part
    stranger_org = OrganisationFactory(name="Fjärran kommun")
    stranger_unit = UnitFactory(organisation=stranger_org, name="Fjärran enhet")
    stranger = staff(stranger_unit, username="fjarran")
    at_unit = row(county.bob, unit=county.vardcentral, what="probe")  # done at a region unit
    by_staff = row(county.alice, action=Action.SIGN_IN, what="probe")  # region staff, no unit
    on_their_sip = row(county.charlie, case=case, outcome=Outcome.REFUSED, what="probe")
    granted_to_staff = row(None, action=Action.GRANT, what="probe", subject_user=county.alice)
    row(county.charlie, unit=county.elsewhere, what="probe")  # another organisation's business
    row(stranger, unit=stranger_unit, what="probe")
    row(None, action=Action.SIGN_IN, outcome=Outcome.REFUSED, what="probe")  # nobody's

    client.force_login(officer)
    shown = set(listed(client)) & set(
        AuditEvent.objects.filter(what="probe").values_list("pk", flat=True)
    )
    assert shown == {at_unit.pk, by_staff.pk, on_their_sip.pk, granted_to_staff.pk}

    # The other organisation's officer sees its own staff's refusal, not the region's rows.
    client.force_login(staff(county.elsewhere, Assignment.Role.SECURITY_OFFICER, username="sak2"))
    shown = set(listed(client)) & {at_unit.pk, by_staff.pk, on_their_sip.pk}
    assert shown == {on_their_sip.pk}


def test_every_grant_at_their_units_is_in_the_review(client, county, officer):
    """Separation of duties: whoever grants an assignment (the admin included), the officer
    sees it under "granted or changed access"."""
    newcomer = UserFactory(username="nyanstalld")
    Assignment.objects.create(user=newcomer, unit=county.vardcentral, role="participant")
    Assignment.objects.create(user=newcomer, unit=county.elsewhere, role="participant")
    client.force_login(officer)
    response = client.post(URL, {"action": "grant", "username": ""})
    grants = [
        (event.subject_username, event.unit_name)
        for event in response.context["rows"]
        if event.subject_username == "nyanstalld"
    ]
    # The one at their unit; the one at another organisation's unit is that one's business,
    # even though the newcomer is one of their staff.
    assert grants == [("nyanstalld", county.vardcentral.name)]
    client.force_login(staff(county.hemtjanst, Assignment.Role.SECURITY_OFFICER, username="k"))
    response = client.post(URL, {"action": "grant"})
    assert "nyanstalld" not in {event.subject_username for event in response.context["rows"]}


# --- Filters ----------------------------------------------------------------------------------


def test_search_by_person_in_any_common_form_finds_only_that_persons_rows(client, county, officer):
    person, other = PersonFactory(), PersonFactory()
    mine = [row(county.alice, unit=county.vardcentral, person=person) for _ in range(3)]
    row(county.alice, unit=county.vardcentral, person=other)
    client.force_login(officer)
    number = person.identity_number  # YYYYMMDDNNNN
    for typed in (number, f"{number[:8]}-{number[8:]}", f"{number[2:8]}-{number[8:]}"):
        # The officer's own earlier lookups are rows about the person too, newest first (the
        # search lists before it logs itself).
        lookups = AuditEvent.objects.filter(user=officer, person=person).order_by("-at", "-id")
        expected = [*lookups.values_list("pk", flat=True), *(e.pk for e in reversed(mine))]
        assert listed(client, {"identity": typed}) == expected
    page = client.post(URL, {"identity": number}).content.decode()
    assert person.full_name in page
    assert person.display_identity in page

    # The search is logged with the person, who is named by key only in the detail.
    seen = AuditEvent.objects.filter(user=officer, what="audit_log").latest("at", "id")
    assert seen.person_id == person.pk
    assert seen.detail == f"person #{person.pk}"
    assert number not in seen.detail and number not in seen.path


def test_a_malformed_identity_number_is_an_error_next_to_the_field(client, county, officer):
    client.force_login(officer)
    response = client.post(URL, {"identity": "19121212-1213"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_identity-error"' in page
    assert 'value="19121212-1213"' in page  # what was typed stays
    assert response.context["rows"] == []
    assert AuditEvent.objects.filter(user=officer, detail="search not valid").count() == 1


def test_search_by_user_unit_action_and_outcome(client, county, officer):
    second_unit = UnitFactory(organisation=county.region, name="Akuten")
    alice_read = row(county.alice, unit=county.vardcentral)
    alice_change = row(county.alice, unit=second_unit, action=Action.CHANGE)
    alice_refused = row(county.alice, unit=county.vardcentral, outcome=Outcome.REFUSED)
    bob_read = row(county.bob, unit=second_unit)
    client.force_login(officer)

    assert listed(client, {"username": "alice", "unit": county.vardcentral.pk}) == [
        alice_refused.pk,
        alice_read.pk,
    ]
    assert listed(client, {"unit": second_unit.pk}) == [bob_read.pk, alice_change.pk]
    assert listed(client, {"username": "alice", "action": "change"}) == [alice_change.pk]
    assert listed(client, {"username": "alice", "outcome": "refused"}) == [alice_refused.pk]
    # Filters work from the address as well (the summary links use it).
    assert listed(client, {"username": "bob", "unit": second_unit.pk}, method="get") == [
        bob_read.pk
    ]
    # A unit of another organisation is no choice.
    assert client.post(URL, {"unit": county.elsewhere.pk}).status_code == 400


def test_the_period_is_in_local_days(client, county, officer):
    # 23:30 on 2 March in Stockholm is 22:30 UTC: it belongs to 2 March, not 3 March.
    late = row(county.alice, unit=county.vardcentral, at=local(2026, 3, 2, 23, 30))
    early = row(county.alice, unit=county.vardcentral, at=local(2026, 3, 3, 0, 10))
    row(county.alice, unit=county.vardcentral, at=local(2026, 3, 1, 23, 59))
    client.force_login(officer)
    one_day = {"username": "alice", "date_from": "2026-03-02", "date_to": "2026-03-02"}
    assert listed(client, one_day) == [late.pk]
    assert listed(client, {**one_day, "date_to": "2026-03-03"}) == [early.pk, late.pk]
    response = client.post(URL, {"date_from": "2026-03-03", "date_to": "2026-03-02"})
    assert response.status_code == 400


# --- Flags ------------------------------------------------------------------------------------


def test_emergency_flag_lists_emergency_rows_with_the_reason(client, county, officer):
    case = case_in_state(county, State.CONSENTED)
    grant = EmergencyAccess.objects.create(
        user=county.bob,
        unit=county.hemtjanst,
        case=case,
        reason="Akut vårdbehov under natten",
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    flagged = row(
        county.bob,
        unit=county.hemtjanst,
        case=case,
        emergency=True,
        detail=f"emergency access #{grant.pk}",
    )
    row(county.bob, unit=county.hemtjanst, case=case)
    client.force_login(officer)
    response = client.post(URL, {"flag": "emergency", "summary": "1"})
    assert [event.pk for event in response.context["rows"]] == [flagged.pk]
    assert "Akut vårdbehov under natten" in response.content.decode()
    assert response.context["summary"].emergency == 1


def test_protected_flag_lists_rows_about_protected_persons_only(client, county, officer):
    rows = {}
    for protection in Person.Protection.values:
        person = PersonFactory(protection=protection)
        rows[protection] = row(county.alice, unit=county.vardcentral, person=person)
    row(county.alice, unit=county.vardcentral)  # about no person
    client.force_login(officer)
    response = client.post(URL, {"flag": "protected", "summary": "1"})
    expected = [rows[value].pk for value in reversed(Person.Protection.values) if value != "none"]
    assert [event.pk for event in response.context["rows"]] == expected
    assert response.context["summary"].protected == 3

    # Without a period the flag lists the last seven days, as its count in the summary does.
    earlier = row(
        county.alice,
        unit=county.vardcentral,
        person=PersonFactory(protection=Person.Protection.FINGERADE),
        at=timezone.now() - dt.timedelta(days=10),
    )
    assert earlier.pk not in listed(client, {"flag": "protected"})
    today = timezone.localdate()
    period = {"date_from": today - dt.timedelta(days=10), "date_to": today}
    assert listed(client, {"flag": "protected", **period}) == [*expected, earlier.pk]


def test_off_hours_flag_lists_reads_before_seven_after_eighteen_and_at_weekends(
    client, county, officer
):
    # Monday 2 March 2026 and Saturday 7 March, local time.
    times = {
        "06:59": local(2026, 3, 2, 6, 59),
        "07:00": local(2026, 3, 2, 7, 0),
        "17:59": local(2026, 3, 2, 17, 59),
        "18:00": local(2026, 3, 2, 18, 0),
        "saturday": local(2026, 3, 7, 12, 0),
    }
    made = {key: row(county.alice, unit=county.vardcentral, at=at) for key, at in times.items()}
    row(county.alice, unit=county.vardcentral, at=local(2026, 3, 2, 20), action=Action.CHANGE)
    client.force_login(officer)
    march = {"date_from": "2026-03-01", "date_to": "2026-03-08"}
    shown = listed(client, {"flag": "off_hours", "username": "alice", **march})
    assert shown == [made["saturday"].pk, made["18:00"].pk, made["06:59"].pk]
    summary = client.post(
        URL,
        {"date_from": "2026-03-01", "date_to": "2026-03-08", "username": "alice", "summary": "1"},
    ).context["summary"]
    assert summary.off_hours == 3


def test_many_persons_flag_names_users_who_read_more_than_the_threshold_in_a_day(
    client, county, officer
):
    persons = [PersonFactory() for _ in range(4)]
    day = timezone.now() - dt.timedelta(hours=1)
    for person in persons:  # alice reads four persons, bob two (one of them twice)
        row(county.alice, unit=county.vardcentral, person=person, at=day)
    bob_rows = [row(county.bob, unit=county.vardcentral, person=persons[0], at=day)] * 2
    bob_rows.append(row(county.bob, unit=county.vardcentral, person=persons[1], at=day))
    client.force_login(officer)

    response = client.post(URL, {"flag": "many_persons", "threshold": "3"})
    summary = response.context["summary"]
    assert [(e.username, e.persons) for e in summary.many_persons] == [("alice", 4)]
    reads = AuditEvent.objects.filter(user=county.alice, action=Action.READ).values_list(
        "pk", flat=True
    )
    assert set(event.pk for event in response.context["rows"]) == set(reads)
    page = response.content.decode()
    assert "alice: 4 persons" in page or "alice: 4 personer" in page

    # With the default threshold (20 a day) no one is flagged.
    assert client.post(URL, {"flag": "many_persons"}).context["rows"] == []


def test_refusal_burst_flag_names_users_refused_five_times_within_ten_minutes(
    client, county, officer
):
    case = case_in_state(county, State.CONSENTED)
    start = timezone.now() - dt.timedelta(hours=2)
    burst = [
        row(
            county.charlie,
            case=case,
            outcome=Outcome.REFUSED,
            at=start + dt.timedelta(minutes=2 * n),
        )
        for n in range(5)  # 0, 2, 4, 6, 8 minutes: five within ten
    ]
    spread = [
        row(
            county.bob,
            unit=county.hemtjanst,
            case=case,
            outcome=Outcome.REFUSED,
            at=start + dt.timedelta(minutes=4 * n),
        )
        for n in range(5)  # 0 … 16 minutes: never five within ten
    ]
    client.force_login(officer)
    response = client.post(URL, {"flag": "refusal_bursts"})
    assert [b.username for b in response.context["summary"].bursts] == ["charlie"]
    assert [event.pk for event in response.context["rows"]] == [r.pk for r in reversed(burst)]
    assert not {r.pk for r in spread} & {event.pk for event in response.context["rows"]}


def test_summary_links_lead_to_the_rows_without_an_identity_number(client, county, officer):
    person = PersonFactory(protection=Person.Protection.SEKRETESSMARKERING)
    row(county.alice, unit=county.vardcentral, person=person)
    client.force_login(officer)
    assert client.get(URL).context["summary"] is None  # asked for, not read on every page
    page = client.get(URL, {"summary": "1"}).content.decode()
    link = re.search(r'<li data-testid="flag-protected"><a class="govuk-link" href="([^"]+)"', page)
    assert link, "the protected-persons count links to its rows"
    response = client.get(link.group(1).replace("&amp;", "&"))
    assert response.status_code == 200, (link.group(1), response.content.decode()[:3000])
    assert [event.person_id for event in response.context["rows"]] == [person.pk]


def test_a_persons_summary_has_numbers_but_no_links(client, county, officer):
    person = PersonFactory(protection=Person.Protection.SEKRETESSMARKERING)
    row(county.alice, unit=county.vardcentral, person=person)
    client.force_login(officer)
    response = client.post(URL, {"identity": person.identity_number, "summary": "1"})
    assert response.context["summary"].protected == 1
    summary = re.search(r'data-testid="flag-summary".*?</section>', response.content.decode(), re.S)
    assert "href" not in summary.group(0)


def test_a_lookup_in_an_invalid_search_is_logged_with_the_person(client, county, officer):
    person = PersonFactory()
    client.force_login(officer)
    response = client.post(URL, {"identity": person.identity_number, "date_from": "igår"})
    assert response.status_code == 400
    assert AuditEvent.objects.get(user=officer, detail="search not valid").person_id is None
    logged = AuditEvent.objects.get(user=officer, what="person_lookup")
    assert (logged.person_id, logged.detail) == (person.pk, "log review")


# --- Pages ------------------------------------------------------------------------------------


def test_keyset_pages_neither_repeat_nor_skip_rows_that_share_a_time(client, county, officer):
    moments = [timezone.now() - dt.timedelta(minutes=n) for n in range(3)]
    made = [
        row(county.alice, unit=county.vardcentral, at=moments[n % 3], what="paged")
        for n in range(130)
    ]
    client.force_login(officer)
    seen, after, pages = [], "", 0
    while True:
        response = client.post(URL, {"username": "alice", "action": "read", "after": after})
        rows = response.context["rows"]
        assert len(rows) <= 50
        seen += [event.pk for event in rows if event.what == "paged"]
        pages += 1
        after = response.context["next_cursor"]
        if not after:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 130
    expected = sorted(made, key=lambda event: (event.at, event.pk), reverse=True)
    assert seen == [event.pk for event in expected]
    # A later page is logged with its cursor, so the page can be shown again.
    last = AuditEvent.objects.filter(user=officer, what="audit_log").latest("at", "id")
    assert "page after" in last.detail


def count_queries(client, data) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.post(URL, data).status_code == 200
    return len(queries)


def test_the_list_page_takes_the_same_queries_for_few_and_many_rows(client, county, officer):
    case = case_in_state(county, State.CONSENTED)
    grant = EmergencyAccess.objects.create(
        user=county.bob,
        unit=county.hemtjanst,
        case=case,
        reason="Akut",
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    client.force_login(officer)
    searches = [{"username": "bob"}, {"username": "bob", "summary": "1"}]
    row(
        county.bob,
        unit=county.hemtjanst,
        case=case,
        person=PersonFactory(),
        emergency=True,
        detail=f"emergency access #{grant.pk}",
    )
    few = [count_queries(client, data) for data in searches]
    for _ in range(60):  # 60 rows: a full page and more, each about another person
        row(
            county.bob,
            unit=county.hemtjanst,
            case=case,
            person=PersonFactory(protection=Person.Protection.SEKRETESSMARKERING),
            emergency=True,
            detail=f"emergency access #{grant.pk}",
        )
    many = [count_queries(client, data) for data in searches]
    assert many == few, (few, many)
    # 12, +1 the bell's unread count in the header (reminders).
    assert few[0] <= 13, f"the review page takes {few[0]} queries"
    assert few[1] <= 20, f"the review page with its flags takes {few[1]} queries"


# --- The identity number stays out of addresses -----------------------------------------------


def test_the_identity_number_is_in_no_address_link_or_redirect(client, county, officer):
    person = PersonFactory()
    for _ in range(60):
        row(county.alice, unit=county.vardcentral, person=person)
    client.force_login(officer)
    number = person.identity_number
    response = client.post(URL, {"identity": number})
    assert response.status_code == 200
    assert response.context["next_cursor"]  # there is a next page, and it is a posted button
    page = response.content.decode()
    addresses = re.findall(r'(?:href|action|formaction|src)="([^"]*)"', page)
    assert addresses
    for address in addresses:
        assert number not in address and number[2:] not in address
        assert number[:8] not in address
    # The prefill link of the review record names the person by key only.
    prefill = response.context["prefill"]
    assert number not in signing.loads(prefill, salt=PREFILL_SALT)["scope"]

    # An identity number put in the address is ignored, not searched.
    response = client.get(URL, {"identity": number, "username": "alice"})
    assert response.status_code == 200
    assert response.context["searched_person"] is None


# --- Export -----------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_export_streams_the_search_as_csv_and_is_logged(client, county, officer):
    person = PersonFactory()
    made = [
        row(county.alice, unit=county.vardcentral, person=person, ip_address="203.0.113.9"),
        row(county.alice, unit=county.vardcentral, detail='=HYPERLINK("http://x")'),
    ]
    row(county.bob, unit=county.vardcentral)  # not alice: not exported
    client.force_login(officer)
    response = client.post(EXPORT_URL, {"username": "alice", "action": "read"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="samplan-audit-log-')
    assert "no-store" in response["Cache-Control"]
    lines = read_csv(response)
    header, body = lines[0], lines[1:]
    assert header[:3] == ["time", "user", "unit"]
    assert len(body) == 2
    newest, oldest = body
    assert newest[header.index("detail")] == '\'=HYPERLINK("http://x")'  # no formula
    assert oldest[header.index("identity_number")] == person.identity_number
    assert oldest[header.index("person")] == person.full_name
    assert oldest[header.index("address")] == "203.0.113.9"
    assert oldest[header.index("organisation")] == county.region.name
    assert oldest[header.index("time")] == timezone.localtime(made[0].at).isoformat(
        timespec="seconds"
    )
    export = AuditEvent.objects.get(user=officer, action=Action.EXPORT)
    assert export.outcome == Outcome.ALLOWED
    assert export.what == "audit_log"
    assert export.detail == "user alice, action read"


def test_export_about_protected_persons_asks_for_a_reason_first(client, county, officer):
    person = PersonFactory(protection=Person.Protection.SKYDDAD_FOLKBOKFORING)
    row(county.alice, unit=county.vardcentral, person=person)
    client.force_login(officer)
    number = person.identity_number
    search = {"identity": number, "action": "read"}

    asked = client.post(EXPORT_URL, search)
    assert asked.status_code == 200
    assert asked["Content-Type"].startswith("text/html")
    page = asked.content.decode()
    assert 'data-testid="export-reason"' in page
    assert f'name="identity" value="{number}"' in page  # the search rides along in the body
    assert not AuditEvent.objects.filter(action=Action.EXPORT).exists()

    too_short = client.post(EXPORT_URL, {**search, "reason": "ja"})
    assert too_short.status_code == 400
    assert 'id="id_reason-error"' in too_short.content.decode()

    reason = "Begäran om loggutdrag från den enskilde"
    exported = client.post(EXPORT_URL, {**search, "reason": reason})
    assert exported.status_code == 200
    # alice's read, and the officer's own lookups (reads of the person): the one that asked for
    # the reason, the one with a short reason, and this export's own.
    assert [line[1] for line in read_csv(exported)[1:]] == ["sakerhet"] * 3 + ["alice"]
    export = AuditEvent.objects.get(user=officer, action=Action.EXPORT, outcome=Outcome.ALLOWED)
    assert export.person_id == person.pk
    assert export.detail == f"person #{person.pk}, action read; reason: {reason}"
    assert number not in export.detail


def test_a_long_export_is_cut_and_says_so(client, county, officer, monkeypatch):
    monkeypatch.setattr("samplan.workspace.views.log_review.EXPORT_MAX_ROWS", 3)
    for _ in range(4):
        row(county.alice, unit=county.vardcentral)
    client.force_login(officer)
    lines = read_csv(client.post(EXPORT_URL, {"username": "alice"}))
    assert len(lines) == 1 + 3 + 1
    assert lines[-1][0].startswith("# cut at 3 rows")


def test_an_export_of_a_wrong_search_shows_the_search_with_its_error(client, county, officer):
    client.force_login(officer)
    response = client.post(EXPORT_URL, {"username": "nobody", "date_from": "igår"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_date_from-error"' in page and 'value="nobody"' in page
    assert not AuditEvent.objects.filter(action=Action.EXPORT).exists()


def test_export_without_protected_persons_asks_no_reason(client, county, officer):
    row(county.alice, unit=county.vardcentral, person=PersonFactory())
    client.force_login(officer)
    response = client.post(EXPORT_URL, {"username": "alice"})
    assert response["Content-Type"].startswith("text/csv")


# --- The record of a review -------------------------------------------------------------------


def _review_data(**changes):
    return {
        "period_start": "2026-03-01",
        "period_end": "2026-03-31",
        "scope": "whole log, flag emergency",
        "conclusion": "Inget att anmärka.",
        **changes,
    }


def test_a_review_is_recorded_from_the_search_and_listed(client, county, officer):
    client.force_login(officer)
    response = client.post(
        URL, {"username": "alice", "date_from": "2026-03-01", "date_to": "2026-03-31"}
    )
    link = re.search(r'href="(/logg/granskningar/ny/\?prefill=[^"]+)"', response.content.decode())
    form = client.get(link.group(1).replace("&amp;", "&")).context["form"]
    assert form.initial == {
        "period_start": "2026-03-01",
        "period_end": "2026-03-31",
        "scope": "user alice, period 2026-03-01–2026-03-31",
    }

    missing = client.post(NEW_REVIEW_URL, _review_data(conclusion=""))
    assert missing.status_code == 400
    assert 'id="id_conclusion-error"' in missing.content.decode()
    assert not LogReview.objects.exists()

    saved = client.post(NEW_REVIEW_URL, _review_data(scope=form.initial["scope"]))
    assert saved.status_code == 302 and saved["Location"] == REVIEWS_URL
    record = LogReview.objects.get()
    assert (record.reviewer, record.period_start, record.conclusion) == (
        officer,
        dt.date(2026, 3, 1),
        "Inget att anmärka.",
    )
    created = AuditEvent.objects.get(action=Action.CREATE, what="log_review")
    assert created.user == officer
    assert created.detail.startswith(f"review #{record.pk} 2026-03-01–2026-03-31")

    listing = client.get(REVIEWS_URL)
    assert [r.pk for r in listing.context["records"]] == [record.pk]
    assert "Inget att anmärka." in listing.content.decode()
    assert AuditEvent.objects.filter(user=officer, what="log_review", action=Action.READ).exists()

    # Another organisation's officer does not see the region's reviews.
    client.force_login(staff(county.hemtjanst, Assignment.Role.SECURITY_OFFICER, username="k"))
    assert list(client.get(REVIEWS_URL).context["records"]) == []


def test_a_tampered_prefill_fills_nothing(client, county, officer):
    client.force_login(officer)
    form = client.get(NEW_REVIEW_URL, {"prefill": "forged"}).context["form"]
    assert form.initial == {}
