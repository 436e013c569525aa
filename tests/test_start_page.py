"""The start page "Att göra": what needs action now, in sections, each item with its deadline,
sorted by it, with "due soon" and "overdue" in words; "my work" and "my unit's work"; pages that
fit a security officer and someone without an assignment; a logged read per SIP shown and a
constant number of queries."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import SipCase, State
from samplan.directory.models import Assignment
from tests.factories import (
    PersonFactory,
    UserFactory,
    case_in_state,
    complete_draft,
    future,
    ready_to_establish,
    staff,
)
from tests.two_factor import authenticator, code_now

pytestmark = pytest.mark.django_db

START_URL = "/start/"
PASSWORD = "correct horse battery"


def section(response, key: str) -> str:
    """The HTML of one section of the start page ("" when it is not shown)."""
    match = re.search(
        rf'<section[^>]*data-testid="section-{key}".*?</section>', response.content.decode(), re.S
    )
    return html.unescape(match.group(0)) if match else ""


def rows(html: str) -> list[str]:
    return re.findall(r'<tr class="govuk-table__row">\s*<td.*?</tr>', html, re.S)


def discharge_case(county, *, notice_hours_ago: float, person=None) -> SipCase:
    return services.initiate_case(
        actor=county.alice,
        person=person or PersonFactory(),
        initiating_unit=county.vardcentral,
        coordinator=county.alice,
        kind=SipCase.Kind.DISCHARGE,
        discharge_notice_at=timezone.now() - dt.timedelta(hours=notice_hours_ago),
    )


def called_case(county, *, days_ahead: int = 2) -> SipCase:
    """A SIP whose meeting is called for `days_ahead` days from now, hemtjänst invited."""
    case = case_in_state(county, State.PREPARATION)
    services.call_meeting(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=future(days_ahead),
            duration_minutes=45,
            place="Vårdcentralen, rum 3",
            units=[county.vardcentral, county.hemtjanst],
        ),
    )
    return case


def established_case(county, *, follow_up_in_days: int) -> SipCase:
    case = case_in_state(county, State.MEETING_CALLED)
    draft = services.save_plan_draft(
        case,
        actor=county.alice,
        expected_version=None,
        data=complete_draft(
            county, follow_up_on=timezone.localdate() + dt.timedelta(days=follow_up_in_days)
        ),
    )
    ready_to_establish(case, county.alice)
    services.establish_plan(
        case,
        actor=county.alice,
        expected_version=draft.lock_version,
        approved_by="person",
        approved_by_name="Gunnel",
    )
    return case


def proposed_case(county) -> SipCase:
    case = case_in_state(county, State.MEETING_CALLED)
    draft = services.save_plan_draft(
        case, actor=county.alice, expected_version=None, data=complete_draft(county)
    )
    services.propose_plan(case, actor=county.alice, expected_version=draft.lock_version)
    return case


# --- Who lands here ----------------------------------------------------------------------------


def test_signing_in_lands_on_the_start_page(client, county):
    device = authenticator(county.alice)
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.url == reverse("accounts:second_factor")
    response = client.post(response.url, {"code": code_now(device)})
    assert response.status_code == 302
    assert response.url == START_URL == reverse("workspace:start")


def test_the_start_page_needs_sign_in(client, county):
    response = client.get(START_URL)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={START_URL}"


def test_header_home_link_and_menu_for_signed_in_staff(client, county):
    client.force_login(county.alice)
    page = client.get(START_URL).content.decode()
    header = re.search(r"<header.*?</header>", page, re.S).group(0)
    assert 'class="samplan-header__name" href="/start/"' in header
    assert re.search(r'href="/start/" aria-current="page"', header)
    assert 'href="/sip/sok/"' in header and 'href="/sip/ny/"' in header
    assert 'href="/logg/"' not in header  # alice is no security officer
    search = client.get("/sip/sok/").content.decode()
    assert re.search(r'href="/sip/sok/" aria-current="page"', search)
    assert not re.search(r'href="/start/" aria-current', search)


# --- What waits, sorted by deadline --------------------------------------------------------------


def test_each_section_shows_its_sips_with_their_deadline(client, county):
    initiated = case_in_state(county, State.INITIATED)
    preparing = case_in_state(county, State.PREPARATION)
    discharge = discharge_case(county, notice_hours_ago=60)  # 12 hours left of 72
    called = called_case(county, days_ahead=2)
    follow_up = established_case(county, follow_up_in_days=3)
    proposed = proposed_case(county)
    client.force_login(county.alice)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = client.get(START_URL)
    assert response.status_code == 200

    consent = section(response, "consent")
    assert initiated.person.full_name in consent and f'href="/sip/{initiated.pk}/"' in consent
    assert "Give the person information about SIP" in consent
    assert initiated.call_deadline.astimezone().strftime("%Y-%m-%d") in consent

    assert preparing.person.full_name in section(response, "call")
    assert "Call the SIP meeting" in section(response, "call")

    hours = section(response, "discharge")
    assert discharge.person.full_name in hours
    assert re.search(r"1[12] hours left", hours)
    assert "Due soon" in hours  # within 24 hours, in words

    meetings = section(response, "meetings")
    assert called.person.full_name in meetings
    assert "Vårdcentralen, rum 3" in meetings

    follow_ups = section(response, "follow_ups")
    assert follow_up.person.full_name in follow_ups
    assert f'href="/sip/{follow_up.pk}/#uppfoljning"' in follow_ups

    approval = section(response, "approval")
    assert proposed.person.full_name in approval
    assert "Record the person's approval of plan version 1" in approval

    # Nothing is listed where it does not belong.
    assert initiated.person.full_name not in section(response, "call")
    assert called.person.full_name not in consent
    # Her own unit was called too and has not answered.
    assert "Answer the meeting call for Vårdcentral Centrum" in section(response, "invitations")


def test_items_are_sorted_by_deadline_and_overdue_is_said_in_words(client, county):
    later = discharge_case(county, notice_hours_ago=10)  # 62 hours left
    overdue = discharge_case(county, notice_hours_ago=80)  # 8 hours overdue
    sooner = discharge_case(county, notice_hours_ago=50)  # 22 hours left
    client.force_login(county.alice)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    listed = rows(section(client.get(START_URL), "discharge"))
    order = [
        next(c for c in (later, overdue, sooner) if c.person.full_name in row) for row in listed
    ]
    assert order == [overdue, sooner, later]
    assert "Overdue" in listed[0] and re.search(r"[78] hours overdue", listed[0])
    assert "Due soon" in listed[1] and "Overdue" not in listed[1]
    assert "Due soon" not in listed[2] and "Overdue" not in listed[2]


def test_a_standard_sip_with_a_near_call_deadline_is_due_soon(client, county):
    county.region.initiative_deadline_days = 1
    county.region.save()
    near = case_in_state(county, State.INITIATED)
    county.region.initiative_deadline_days = 10
    county.region.save()
    far = case_in_state(county, State.INITIATED)
    client.force_login(county.alice)
    response = client.get(START_URL)
    listed = rows(section(response, "consent"))
    assert near.person.full_name in listed[0] and far.person.full_name in listed[1]
    with translation.override("sv"):
        due_soon = translation.gettext("Due soon")
    assert due_soon in listed[0] and due_soon not in listed[1]


def test_the_meeting_call_deadline_goes_once_the_meeting_is_called(client, county):
    case = called_case(county, days_ahead=5)
    client.force_login(county.alice)
    response = client.get(START_URL)
    for key in ("discharge", "consent", "call"):
        assert case.person.full_name not in section(response, key)
    assert case.person.full_name in section(response, "meetings")


def test_invitations_and_messages_of_bobs_unit(client, county):
    called = called_case(county, days_ahead=3)
    talked = case_in_state(county, State.MEETING_CALLED)
    services.post_message(talked, actor=county.alice, body="Kan ni ta med journalen?")
    client.force_login(county.bob)
    response = client.get(START_URL)
    invitations = section(response, "invitations")
    assert called.person.full_name in invitations
    assert "Hemtjänst Norr" in invitations
    messages = section(response, "messages")
    assert talked.person.full_name in messages
    assert f'href="/sip/{talked.pk}/#meddelanden"' in messages
    # Bob coordinates nothing: no consent or call sections for him.
    assert section(response, "consent") == section(response, "call") == ""

    # Once his unit has answered and he has read the message, both go.
    for case in (called, talked):  # talked's meeting called hemtjänst too
        invitation = case.meetings.get().invitations.get(unit=county.hemtjanst)
        services.record_answer(invitation, actor=county.bob, answer="accepted")
    client.get(reverse("workspace:case_detail", args=[talked.pk]))  # reads the thread
    response = client.get(START_URL)
    assert section(response, "invitations") == ""
    assert section(response, "messages") == ""


def test_charlie_sees_none_of_alices_sips(client, county):
    cases = [
        case_in_state(county, State.INITIATED),
        discharge_case(county, notice_hours_ago=30),
        called_case(county),
    ]
    client.force_login(county.charlie)
    response = client.get(START_URL)
    assert response.status_code == 200
    page = response.content.decode()
    for case in cases:
        assert case.person.full_name not in page
        assert case.reference not in page
    assert 'data-testid="nothing-to-do"' in page
    assert not AuditEvent.objects.filter(user=county.charlie, what="start_page").exists()


# --- My work and my unit's work -----------------------------------------------------------------


def test_my_work_leaves_out_a_colleagues_sip_which_my_unit_view_shows(client, county):
    colleague = staff(county.vardcentral, username="colleague")
    mine = case_in_state(county, State.INITIATED)
    theirs = services.initiate_case(
        actor=colleague,
        person=PersonFactory(),
        initiating_unit=county.vardcentral,
        coordinator=colleague,
    )
    nobodys = services.initiate_case(
        actor=colleague, person=PersonFactory(), initiating_unit=county.vardcentral
    )
    client.force_login(county.alice)
    consent = section(client.get(START_URL), "consent")
    assert mine.person.full_name in consent
    assert nobodys.person.full_name in consent  # nobody named: my coordinating unit's
    assert theirs.person.full_name not in consent
    unit_view = client.get(START_URL, {"view": "unit"})
    assert theirs.person.full_name in section(unit_view, "consent")
    assert 'href="?view=unit" aria-current="page"' in unit_view.content.decode()


def test_a_participants_unit_view_shows_the_sips_the_unit_takes_part_in(client, county):
    follow_up = established_case(county, follow_up_in_days=2)
    client.force_login(county.bob)
    assert follow_up.person.full_name not in section(client.get(START_URL), "follow_ups")
    unit_view = client.get(START_URL, {"view": "unit"})
    assert follow_up.person.full_name in section(unit_view, "follow_ups")


def test_a_unit_administrator_sees_the_units_work_and_may_not_pick_my_work(client, county):
    initiated = case_in_state(county, State.INITIATED)
    elsewhere = services.initiate_case(
        actor=county.charlie, person=PersonFactory(), initiating_unit=county.elsewhere
    )
    admin = staff(county.vardcentral, Assignment.Role.UNIT_ADMINISTRATOR, username="chef")
    client.force_login(admin)
    response = client.get(START_URL, {"view": "mine"})  # no working role: the unit's view
    assert response.status_code == 200
    assert response.context["scope"].view == "unit"
    page = response.content.decode()
    assert 'href="?view=mine"' not in page
    assert initiated.person.full_name in section(response, "consent")
    assert elsewhere.person.full_name not in page
    read = AuditEvent.objects.get(user=admin, what="start_page")
    assert (read.case_id, read.unit_id) == (initiated.pk, county.vardcentral.pk)


def test_the_unit_view_can_narrow_to_one_of_my_units(client, county):
    Assignment.objects.create(
        user=county.alice, unit=county.hemtjanst, role=Assignment.Role.PARTICIPANT
    )
    follow_up = established_case(county, follow_up_in_days=1)
    client.force_login(county.alice)
    both = client.get(START_URL, {"view": "unit"})
    assert follow_up.person.full_name in section(both, "follow_ups")
    assert 'id="unit"' in both.content.decode()
    only_hemtjanst = client.get(START_URL, {"view": "unit", "unit": county.hemtjanst.pk})
    assert only_hemtjanst.context["scope"].units == [county.hemtjanst.pk]
    assert follow_up.person.full_name in section(only_hemtjanst, "follow_ups")
    foreign = client.get(START_URL, {"view": "unit", "unit": county.elsewhere.pk})
    assert sorted(foreign.context["scope"].units) == sorted(
        [county.vardcentral.pk, county.hemtjanst.pk]
    )


# --- Roles without SIPs -------------------------------------------------------------------------


def test_a_security_officer_gets_the_audit_log_review_not_an_empty_list(client, county):
    case = case_in_state(county, State.INITIATED)
    officer = staff(county.vardcentral, Assignment.Role.SECURITY_OFFICER, username="sakerhet")
    client.force_login(officer)
    response = client.get(START_URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="audit-log-link"' in page and 'href="/logg/"' in page
    assert "Vårdcentral Centrum" in page
    assert case.person.full_name not in page
    header = re.search(r"<header.*?</header>", page, re.S).group(0)
    assert 'href="/logg/"' in header
    assert 'href="/sip/ny/"' not in header  # a security officer starts no SIP
    assert 'href="/sip/sok/"' not in header  # nor has SIPs to search
    assert not AuditEvent.objects.filter(user=officer, what="start_page").exists()


def test_staff_without_an_assignment_get_an_explanation(client, county):
    nobody = UserFactory(username="ny")
    client.force_login(nobody)
    response = client.get(START_URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="role"' in page
    assert 'href="/logg/"' not in page
    assert "table" not in re.search(r"<main.*?</main>", page, re.S).group(0)


# --- Audit and query budget -----------------------------------------------------------------------


def test_each_sip_shown_is_one_read_row_written_in_one_insert(client, county):
    initiated = case_in_state(county, State.INITIATED)
    both = called_case(county)  # in "meetings"; alice's unit's invitation is not hers to answer
    services.post_message(both, actor=county.bob, body="Vi kommer.")
    not_shown = case_in_state(county, State.CLOSED)
    client.force_login(county.alice)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(START_URL, REMOTE_ADDR="192.0.2.4")
    assert both.person.full_name in section(response, "messages")
    assert both.person.full_name in section(response, "meetings")
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "access_auditevent"')]
    assert len(inserts) == 1
    reads = AuditEvent.objects.filter(user=county.alice, what="start_page")
    assert sorted(reads.values_list("case_id", flat=True)) == sorted([initiated.pk, both.pk])
    for read in reads:
        assert read.action == AuditEvent.Action.READ
        assert read.unit_id == county.vardcentral.pk
        assert read.person_id == SipCase.objects.get(pk=read.case_id).person_id
        assert read.ip_address == "192.0.2.4"
    assert not reads.filter(case=not_shown).exists()


def _one_of_each(county, n: int) -> None:
    kind = n % 6
    if kind == 0:
        case_in_state(county, State.INITIATED)
    elif kind == 1:
        discharge_case(county, notice_hours_ago=20 + n)
    elif kind == 2:
        case = called_case(county, days_ahead=1 + n % 5)
        services.post_message(case, actor=county.bob, body=f"Meddelande {n}")
    elif kind == 3:
        established_case(county, follow_up_in_days=1 + n % 6)
    elif kind == 4:
        proposed_case(county)
    else:
        case_in_state(county, State.PREPARATION)


@pytest.mark.parametrize("username", ["alice", "bob"])
def test_start_page_queries_do_not_grow_with_the_sips(client, county, username):
    """Each section reads its rows and then tests visibility for those rows only (two queries
    when it has rows, one when it has none), so the count depends on which sections have work,
    never on how much: one SIP of each kind against four of each."""
    user = getattr(county, username)
    for n in range(6):
        _one_of_each(county, n)
    client.force_login(user)
    client.get(START_URL)
    client.get(START_URL, {"view": "unit"})

    def count(params=None) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(START_URL, params or {})
        assert response.status_code == 200
        return len(queries)

    one = (count(), count({"view": "unit"}))
    for n in range(6, 24):
        _one_of_each(county, n)
    many = (count(), count({"view": "unit"}))
    shown = sum(len(s.items) for s in client.get(START_URL).context["sections"])
    assert shown >= 8
    assert many == one, f"{username}: one SIP of each kind took {one} queries, four {many}"


def test_a_sip_of_my_unit_that_the_consent_no_longer_covers_is_not_shown_and_others_fill_in(
    client, county, settings
):
    """Sections read rows by their own conditions and test visibility for those rows: a SIP
    whose consent no longer covers bob's kommun ranks first but must not show, and the section
    still fills up with those he may see."""
    settings.SAMPLAN_START_SECTION_SIZE = 2

    def preparing_with_hemtjanst():
        case = case_in_state(county, State.PREPARATION)
        services.add_participant(case, actor=county.alice, unit=county.hemtjanst)
        return case

    hidden = preparing_with_hemtjanst()
    services.revoke_consent(
        hidden,
        actor=county.alice,
        expected_version=hidden.lock_version,
        organisations=[county.kommun],
    )
    shown = [preparing_with_hemtjanst() for _ in range(3)]
    SipCase.objects.filter(pk=hidden.pk).update(call_deadline=timezone.now())  # most urgent
    client.force_login(county.bob)
    response = client.get(START_URL, {"view": "unit"})
    html_of_section = section(response, "call")
    assert hidden.person.full_name not in html_of_section
    assert len(rows(html_of_section)) == 2
    assert shown[0].person.full_name in html_of_section
    assert not AuditEvent.objects.filter(user=county.bob, case_id=hidden.pk).exists()
