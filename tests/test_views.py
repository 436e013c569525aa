"""The first signed-in pages through Django's test client: who sees which SIP, what each read
writes to the audit log, the admin, the language switch, and that no page grows a query per
row (an N+1 makes the query-count tests fail)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import EVENT_LABELS, CaseEvent, Consent, PlanVersion, SipCase, State
from samplan.directory.models import Assignment
from tests.factories import (
    PersonFactory,
    UserFactory,
    case_in_state,
    complete_draft,
    future,
    ready_to_establish,
    related_party_of,
    staff,
)

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
CLIENT_ADDRESS = "203.0.113.7"
LIST_URL = "/sip/"
START_URL = "/start/"
AUDIT_URL = "/logg/"


def detail_url(case: SipCase) -> str:
    return reverse("workspace:case_detail", args=[case.pk])


def html_lang(response) -> str:
    match = re.search(r'<html[^>]*\blang="([^"]+)"', response.content.decode())
    assert match, "the page has no <html lang>"
    return match.group(1)


def main_content(response) -> str:
    return re.search(r"<main.*?</main>", response.content.decode(), re.S).group(0)


def state_label(state: str, language: str = "sv") -> str:
    with translation.override(language):
        return str(State(state).label)


def security_officer(unit, username="sakerhet"):
    return staff(unit, Assignment.Role.SECURITY_OFFICER, username=username)


def established_case(county, *, interventions: int = 1, meetings: int = 1) -> SipCase:
    """A SIP with a valid plan of `interventions` interventions (carried by a unit, an
    organisation or a relative in turn) and `meetings` meetings, each follow-up inviting a
    relative too. Built through the services only."""
    alice = county.alice
    case = case_in_state(county, State.MEETING_CALLED)
    relative = related_party_of(case, name="Dottern Exempel")
    carriers = [
        {"unit": county.hemtjanst},
        {"organisation": county.region},
        {"responsible_party": relative},
    ]
    items = [
        services.InterventionData(
            description=f"Insats nummer {n}",
            contact_name=f"Kontakt {n}",
            starts_on=dt.date.today(),
            ends_note="Ses över vid uppföljningen",
            **carriers[n % len(carriers)],
        )
        for n in range(interventions)
    ]
    draft = services.save_plan_draft(
        case, actor=alice, expected_version=None, data=complete_draft(county, interventions=items)
    )
    ready_to_establish(case, alice)
    services.establish_plan(
        case,
        actor=alice,
        expected_version=draft.lock_version,
        approved_by=PlanVersion.ApprovedBy.PERSON,
        approved_by_name="Gunnel",
    )
    preparation = case.preparation
    services.update_preparation(
        case,
        actor=alice,
        expected_version=preparation.lock_version,
        values={},
        invited_related_parties=[relative],
    )
    for n in range(meetings - 1):
        services.call_follow_up(
            case,
            actor=alice,
            expected_version=case.lock_version,
            call=services.MeetingCall(
                starts_at=future(14 + 7 * n),
                duration_minutes=45,
                place="Hemma",
                units=[county.vardcentral, county.hemtjanst],
                related_parties=[relative],
            ),
        )
        draft = services.save_plan_draft(
            case,
            actor=alice,
            expected_version=case.draft_plan().lock_version,
            data=complete_draft(county, interventions=items),
        )
        ready_to_establish(case, alice)
        services.establish_plan(
            case,
            actor=alice,
            expected_version=draft.lock_version,
            approved_by=PlanVersion.ApprovedBy.PERSON,
            approved_by_name="Gunnel",
        )
    assert case.meetings.count() == meetings
    assert case.valid_plan().interventions.count() == interventions
    return case


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


# --- Signed out -------------------------------------------------------------------------------


def test_front_page_and_login_page_answer_without_sign_in(client):
    for url in ("/", reverse("login")):
        response = client.get(url)
        assert response.status_code == 200, url
    assert 'name="password"' in response.content.decode()


@pytest.mark.parametrize("name", ["list", "detail", "audit"])
def test_signed_out_staff_pages_redirect_to_login(client, county, name):
    case = case_in_state(county, State.INITIATED)
    url = {"list": LIST_URL, "detail": detail_url(case), "audit": AUDIT_URL}[name]
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.READ).exists()


def test_sign_in_with_the_right_password_only(client, county):
    wrong = client.post(reverse("login"), {"username": "alice", "password": "wrong horse"})
    assert wrong.status_code == 200
    assert "_auth_user_id" not in client.session
    right = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert right.status_code == 302
    # The password alone leads to the second factor (tests/test_second_factor.py), not to work.
    assert right.url == reverse("accounts:second_factor")
    assert int(client.session["_auth_user_id"]) == county.alice.pk


# --- The case list ----------------------------------------------------------------------------


def test_case_list_shows_alice_her_units_cases_and_charlie_none(client, county):
    cases = [case_in_state(county, state) for state in (State.INITIATED, State.CONSENTED)]
    client.force_login(county.alice)
    response = client.get(LIST_URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert [c.pk for c in response.context["rows"]] == [c.pk for c in cases[::-1]]
    for case in cases:
        assert case.reference in page
        assert case.person.full_name in page
        assert f'href="{detail_url(case)}"' in page

    client.force_login(county.charlie)
    response = client.get(LIST_URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert list(response.context["rows"]) == []
    for case in cases:
        assert case.reference not in page
        assert case.person.full_name not in page


def test_case_list_filters_on_state(client, county):
    initiated = case_in_state(county, State.INITIATED)
    consented = case_in_state(county, State.CONSENTED)
    client.force_login(county.alice)
    response = client.get(LIST_URL, {"state": State.CONSENTED})
    assert [c.pk for c in response.context["rows"]] == [consented.pk]
    assert initiated.reference not in response.content.decode()


def test_each_case_listed_writes_one_read_row_and_only_those(client, county, settings):
    settings.SAMPLAN_CASE_LIST_PAGE_SIZE = 2
    cases = [case_in_state(county, State.INITIATED) for _ in range(3)]
    client.force_login(county.alice)
    response = client.get(LIST_URL, REMOTE_ADDR=CLIENT_ADDRESS)
    shown = [c.pk for c in response.context["rows"]]
    assert len(shown) == 2
    rows = AuditEvent.objects.filter(what="sip_case_list")
    assert sorted(rows.values_list("case_id", flat=True)) == sorted(shown)
    for row in rows:
        assert row.action == AuditEvent.Action.READ
        assert row.outcome == AuditEvent.Outcome.ALLOWED
        assert row.user_id == county.alice.pk
        assert row.unit_id == county.vardcentral.pk
        assert row.unit_name == county.vardcentral.name
        assert row.person_id == SipCase.objects.get(pk=row.case_id).person_id
        assert row.ip_address == CLIENT_ADDRESS
    not_shown = {c.pk for c in cases} - set(shown)
    assert not rows.filter(case_id__in=not_shown).exists()

    client.force_login(county.charlie)
    before = AuditEvent.objects.count()
    client.get(LIST_URL)
    assert not AuditEvent.objects.filter(what="sip_case_list", user=county.charlie).exists()
    assert AuditEvent.objects.count() == before


# --- The case page ----------------------------------------------------------------------------


def test_alice_sees_state_plan_and_timeline_of_her_case(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    plan = case.valid_plan()
    client.force_login(county.alice)
    response = client.get(detail_url(case), REMOTE_ADDR=CLIENT_ADDRESS)
    assert response.status_code == 200
    page = response.content.decode()

    state = re.search(r'data-testid="case-state">([^<]*)<', page).group(1)
    assert state.strip() == state_label(State.PLAN_ESTABLISHED)
    assert case.person.full_name in page
    assert plan.needs_today in page
    for goal in plan.goals.all():
        assert goal.text in page
    for item in plan.interventions.all():
        assert item.description in page
        assert item.contact_name in page
    assert plan.coordination in page

    timeline = re.search(r'data-testid="timeline">(.*?)</ol>', page, re.S).group(1)
    events = list(CaseEvent.objects.filter(case=case).order_by("at", "pk"))
    shown = re.findall(r'<time datetime="([^"]+)"', timeline)
    assert len(shown) == len(events) >= 6
    # Exact times: the page gives each event's instant to the microsecond, with its offset.
    assert [dt.datetime.fromisoformat(value) for value in shown] == [e.at for e in events]
    assert [e.action for e in events][:2] == ["initiate", "record_information"]
    for event in events:
        assert str(EVENT_LABELS[event.action]) in timeline

    read = AuditEvent.objects.get(what="sip_case", action=AuditEvent.Action.READ)
    assert read.outcome == AuditEvent.Outcome.ALLOWED
    assert (read.user_id, read.case_id, read.person_id) == (
        county.alice.pk,
        case.pk,
        case.person_id,
    )
    assert read.unit_id == county.vardcentral.pk
    assert read.ip_address == CLIENT_ADDRESS


def test_charlie_gets_404_for_alices_case_and_the_refusal_is_logged(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    client.force_login(county.charlie)
    response = client.get(detail_url(case), REMOTE_ADDR=CLIENT_ADDRESS)
    assert response.status_code == 404
    page = response.content.decode()
    assert case.person.full_name not in page
    assert case.valid_plan().needs_today not in page

    refusal = AuditEvent.objects.get(user=county.charlie)
    assert refusal.outcome == AuditEvent.Outcome.REFUSED
    assert refusal.action == AuditEvent.Action.READ
    assert refusal.case_id == case.pk
    assert refusal.person_id == case.person_id
    assert refusal.ip_address == CLIENT_ADDRESS
    assert refusal.path == detail_url(case)

    # The same page for a case that does not exist: a foreign case gives nothing away.
    missing = client.get(reverse("workspace:case_detail", args=[case.pk + 1000]))
    assert missing.status_code == 404
    assert main_content(missing) == main_content(response)
    assert AuditEvent.objects.filter(
        user=county.charlie, outcome=AuditEvent.Outcome.REFUSED, case__isnull=True
    ).exists()


def test_the_404_page_is_the_sites_own(client, county):
    client.force_login(county.charlie)
    response = client.get("/sip/999999/")
    assert response.status_code == 404
    page = response.content.decode()
    assert html_lang(response) == "sv"
    assert 'class="samplan-header"' in page
    assert 'id="main"' in page


def test_bob_sees_a_case_only_while_consent_covers_his_kommun(client, county):
    alice = county.alice
    covered = case_in_state(county, State.INFORMED)
    region_only = case_in_state(county, State.INFORMED)
    for case in (covered, region_only):
        services.add_participant(case, actor=alice, unit=county.hemtjanst)
    client.force_login(county.bob)

    def visible() -> set[int]:
        listed = {c.pk for c in client.get(LIST_URL).context["rows"]}
        opened = {
            case.pk
            for case in (covered, region_only)
            if client.get(detail_url(case)).status_code == 200
        }
        assert listed == opened
        return listed

    assert visible() == set()  # taking part is not enough without consent

    def consent(case, organisations):
        services.give_consent(
            case,
            actor=alice,
            expected_version=case.lock_version,
            method=Consent.Method.WRITTEN,
            given_by=Consent.GivenBy.PERSON,
            given_by_name="Gunnel",
            organisations=organisations,
            information_scope="Behov och insatser",
        )

    consent(covered, [county.region, county.kommun])
    consent(region_only, [county.region])
    assert visible() == {covered.pk}
    refused = AuditEvent.objects.filter(
        user=county.bob, case=region_only, outcome=AuditEvent.Outcome.REFUSED
    )
    assert refused.exists()

    services.revoke_consent(
        covered, actor=alice, expected_version=covered.lock_version, organisations=[county.kommun]
    )
    assert visible() == set()


def next_step_section(response) -> str:
    match = re.search(r'data-testid="next-step">(.*?)</section>', response.content.decode(), re.S)
    assert match, "the case page has no next step"
    return re.sub(r"\s+", " ", match.group(1))


def test_the_case_page_says_the_next_step_and_the_deadline_of_the_state(client, county):
    initiated = case_in_state(county, State.INITIATED)
    called = case_in_state(county, State.MEETING_CALLED)
    established = case_in_state(county, State.PLAN_ESTABLISHED)
    client.force_login(county.alice)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})

    step = next_step_section(client.get(detail_url(initiated)))
    assert "Give the person information about SIP" in step
    assert "Meeting to be called by: <time" in step
    assert initiated.call_deadline.astimezone().strftime("%Y-%m-%d") in step

    step = next_step_section(client.get(detail_url(called)))
    assert "Hold the SIP meeting" in step
    assert "Meeting to be held: <time" in step
    assert "Meeting to be called by" not in step

    step = next_step_section(client.get(detail_url(established)))
    plan = established.valid_plan()
    assert "Follow-up due: <time" in step
    assert plan.follow_up_on.isoformat() in step
    assert "Meeting to be called by" not in step and "Overdue" not in step


@pytest.mark.parametrize(
    ("state", "target"),
    [
        (State.INITIATED, "/information/"),
        (State.INFORMED, "/samtycke/"),
        (State.CONSENTED, "/forberedelse/"),
        (State.PREPARATION, "/kallelse/"),
        (State.MEETING_CALLED, "/moten/"),
        (State.PLAN_ESTABLISHED, "/kallelse/"),
    ],
)
def test_the_next_step_links_the_coordinator_to_the_page_that_takes_it(
    client, county, state, target
):
    case = case_in_state(county, state)
    client.force_login(county.alice)
    step = next_step_section(client.get(detail_url(case)))
    link = re.search(r'href="([^"]+)" data-testid="next-step-link"', step)
    assert link, step
    assert link.group(1).startswith(f"/sip/{case.pk}{target}")
    assert client.get(link.group(1)).status_code == 200


def test_a_participant_who_does_not_drive_gets_no_next_step_link(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    client.force_login(county.bob)
    step = next_step_section(client.get(detail_url(case)))
    assert "Follow-up due" in step or "Uppföljning" in step
    assert "next-step-link" not in step


def test_the_case_page_marks_an_overdue_meeting_call_in_words(client, county):
    late = services.initiate_case(
        actor=county.alice,
        person=PersonFactory(),
        initiating_unit=county.vardcentral,
        kind=SipCase.Kind.DISCHARGE,
        discharge_notice_at=timezone.now() - dt.timedelta(days=4),
    )
    client.force_login(county.alice)
    step = next_step_section(client.get(detail_url(late)))
    with translation.override("sv"):
        overdue = translation.gettext("Overdue")
    assert f'<strong class="govuk-tag samplan-tag-overdue">{overdue}</strong>' in step
    assert 'data-testid="hours"' in step


def test_timeline_entries_say_what_changed(client, county):
    case = case_in_state(county, State.INFORMED)
    services.add_participant(case, actor=county.alice, unit=county.hemtjanst)
    consent = {"organisations": [county.region, county.kommun, county.other_kommun]}
    services.give_consent(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        method=Consent.Method.WRITTEN,
        given_by=Consent.GivenBy.PERSON,
        given_by_name="Gunnel",
        information_scope="Behov och insatser",
        **consent,
    )
    services.revoke_consent(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        organisations=[county.other_kommun],
    )
    client.force_login(county.alice)
    page = client.get(detail_url(case)).content.decode()
    timeline = re.search(r'data-testid="timeline">(.*?)</ol>', page, re.S).group(1)
    entries = re.findall(r"<li>(.*?)</li>", timeline, re.S)
    with translation.override("sv"):
        added = str(EVENT_LABELS["add_participant"])
        revoked = str(EVENT_LABELS["revoke_consent_in_part"])
    assert any(
        added in e and '<span data-testid="event-note">Hemtjänst Norr</span>' in e for e in entries
    )
    assert any(revoked in e and "Annanby kommun" in e for e in entries)


# --- Query counts -----------------------------------------------------------------------------


def test_case_list_queries_do_not_grow_with_the_cases(client, county):
    states = [State.INITIATED, State.CONSENTED, State.PLAN_ESTABLISHED]
    protected = {"protection": "sekretessmarkering"}
    for n in range(3):
        case_in_state(county, states[n % 3], person=PersonFactory(**(protected if n else {})))
    client.force_login(county.alice)
    client.get(LIST_URL)  # warm the session and the content types
    few = count_queries(client, LIST_URL)
    for n in range(27):
        case_in_state(county, states[n % 3], person=PersonFactory(**(protected if n else {})))
    many = count_queries(client, LIST_URL)
    assert len(client.get(LIST_URL).context["rows"]) == 30
    assert many == few, f"the list of 30 cases took {many} queries, of 3 cases {few}"


def test_case_page_queries_do_not_grow_with_interventions_or_meetings(client, county):
    one = established_case(county, interventions=1, meetings=1)
    ten_interventions = established_case(county, interventions=10, meetings=1)
    five_meetings = established_case(county, interventions=1, meetings=5)
    client.force_login(county.alice)
    client.get(detail_url(one))
    base = count_queries(client, detail_url(one))
    assert count_queries(client, detail_url(ten_interventions)) == base
    assert count_queries(client, detail_url(five_meetings)) == base
    # The five-meeting case really shows its meetings and the relative invited to them.
    page = client.get(detail_url(five_meetings)).content.decode()
    assert page.count("Dottern Exempel") >= 4
    # 25: the read's audit row is chained to the one before (access/chain.py: one head read);
    # +1 the read-only mode's state (maintenance), +1 the bell's unread count (reminders).
    assert base <= 27, f"the case page takes {base} queries"


def test_audit_log_queries_do_not_grow_with_the_events(client, county):
    officer = security_officer(county.vardcentral)
    case = case_in_state(county, State.INITIATED)
    client.force_login(officer)
    few = count_queries(client, AUDIT_URL)
    client.force_login(county.alice)
    for _ in range(20):
        client.get(detail_url(case))
    client.force_login(officer)
    many = count_queries(client, AUDIT_URL)
    assert many == few


# --- The audit log ----------------------------------------------------------------------------


def test_audit_log_is_refused_to_a_coordinator(client, county):
    client.force_login(county.alice)
    response = client.get(AUDIT_URL, REMOTE_ADDR=CLIENT_ADDRESS)
    assert response.status_code == 403
    assert html_lang(response) == "sv"
    refusal = AuditEvent.objects.get(user=county.alice, what="audit_log")
    assert refusal.outcome == AuditEvent.Outcome.REFUSED
    assert refusal.ip_address == CLIENT_ADDRESS


def test_security_officers_see_the_refusal_from_their_side(client, county):
    case = case_in_state(county, State.CONSENTED)
    client.force_login(county.charlie)
    assert client.get(detail_url(case), REMOTE_ADDR=CLIENT_ADDRESS).status_code == 404

    # The officer of the region, whose case it is, and the officer of charlie's kommun.
    for officer in (
        security_officer(county.vardcentral, "sakerhet_region"),
        security_officer(county.elsewhere, "sakerhet_annanby"),
    ):
        client.force_login(officer)
        response = client.get(AUDIT_URL, {"outcome": "refused"})
        assert response.status_code == 200
        rows = list(response.context["rows"])
        assert [(r.username, r.case_id, r.outcome) for r in rows] == [
            ("charlie", case.pk, AuditEvent.Outcome.REFUSED)
        ]
        page = response.content.decode()
        assert "charlie" in page
        assert CLIENT_ADDRESS in page
        assert f"#{case.pk}" in page

    # The kommun's officer sees nothing of it: neither charlie nor the case is theirs (its
    # hemtjänst does not take part yet).
    client.force_login(security_officer(county.hemtjanst, "sakerhet_testby"))
    response = client.get(AUDIT_URL, {"outcome": "refused"})
    assert response.status_code == 200
    assert list(response.context["rows"]) == []
    assert CLIENT_ADDRESS not in response.content.decode()


def test_a_security_officer_role_opens_no_case(client, county):
    case = case_in_state(county, State.CONSENTED)
    officer = security_officer(county.vardcentral)
    client.force_login(officer)
    assert list(client.get(LIST_URL).context["rows"]) == []
    assert client.get(detail_url(case)).status_code == 404


# --- Admin ------------------------------------------------------------------------------------


@pytest.fixture
def admin_client_(client, county):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    return client


@pytest.mark.parametrize(
    "model", ["organisation", "unit", "user", "assignment"], ids=lambda m: f"directory.{m}"
)
def test_admin_directory_changelists_answer(admin_client_, model):
    response = admin_client_.get(reverse(f"admin:directory_{model}_changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count > 0


def test_admin_directory_change_page_for_a_unit(admin_client_, county):
    response = admin_client_.get(reverse("admin:directory_unit_change", args=[county.hemtjanst.pk]))
    assert response.status_code == 200
    assert county.hemtjanst.name in response.content.decode()


def test_admin_sip_cases_are_read_only_and_nameless(admin_client_, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    person = case.person
    changelist = admin_client_.get(reverse("admin:cases_sipcase_changelist"))
    change = admin_client_.get(reverse("admin:cases_sipcase_change", args=[case.pk]))
    for response in (changelist, change):
        assert response.status_code == 200
        page = response.content.decode()
        assert case.reference in page or str(case) in page
        assert person.given_name not in page
        assert person.family_name not in page
        assert person.identity_number not in page
        assert person.display_identity not in page
        assert case.valid_plan().needs_today not in page
    assert reverse("admin:cases_sipcase_add") not in changelist.content.decode()
    assert changelist.context["has_add_permission"] is False
    assert change.context["has_change_permission"] is False
    assert change.context["has_delete_permission"] is False

    assert admin_client_.get(reverse("admin:cases_sipcase_add")).status_code == 403
    delete_url = reverse("admin:cases_sipcase_delete", args=[case.pk])
    assert admin_client_.get(delete_url).status_code == 403
    assert admin_client_.post(delete_url, {"post": "yes"}).status_code == 403
    response = admin_client_.post(
        reverse("admin:cases_sipcase_change", args=[case.pk]),
        {"state": State.CLOSED, "closing_reason": "other", "lock_version": 99},
    )
    assert response.status_code == 403
    fresh = SipCase.objects.get(pk=case.pk)
    assert (fresh.state, fresh.lock_version) == (State.PLAN_ESTABLISHED, case.lock_version)
    assert SipCase.objects.filter(pk=case.pk).exists()
    assert not LogEntry.objects.exists()


def test_admin_is_closed_to_ordinary_staff(client, county):
    client.force_login(county.alice)
    response = client.get(reverse("admin:cases_sipcase_changelist"))
    assert response.status_code == 302
    assert reverse("admin:login") in response.url


# --- Language ---------------------------------------------------------------------------------


def sign_in_button(response) -> str:
    page = response.content.decode()
    return re.search(r'<button type="submit" class="govuk-button"[^>]*>([^<]+)<', page).group(1)


def test_swedish_is_the_default_and_english_can_be_chosen(client, county):
    response = client.get(reverse("login"))
    assert html_lang(response) == "sv"
    with translation.override("sv"):
        assert sign_in_button(response) == translation.gettext("Sign in")
    assert 'name="language" value="en"' in response.content.decode()

    switched = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert switched.status_code == 302
    assert switched.url == reverse("login")
    response = client.get(reverse("login"))
    assert html_lang(response) == "en"
    assert sign_in_button(response) == "Sign in"
    assert 'name="language" value="sv"' in response.content.decode()

    client.force_login(county.alice)
    assert html_lang(client.get(LIST_URL)) == "en"
    client.post(reverse("set_language"), {"language": "sv", "next": "/"})
    assert html_lang(client.get(LIST_URL)) == "sv"


def test_state_labels_follow_the_language(client, county):
    case = case_in_state(county, State.CONSENTED)
    client.force_login(county.alice)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(detail_url(case)).content.decode()
    state = re.search(r'data-testid="case-state">([^<]*)<', page).group(1)
    assert state.strip() == state_label(State.CONSENTED, "en") == "Consent given"
