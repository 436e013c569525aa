"""Min SIP, ending my SIP: on a page that first says what happens, with a reason if I want; the
SIP closes as "the person wishes to end it", the coordinator sees it on the timeline, a meeting
ahead is cancelled, the plan stays. Refused for a relative, a young person without the right to
act, staff, someone else's SIP and a SIP already closed: nothing changes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse

from samplan.access.citizen import Citizen
from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import CaseEvent, Meeting, PlanVersion, SipCase, State
from samplan.errors import PermissionRefused, TransitionNotAllowed
from samplan.mypages.views.ending import EndForm
from samplan.people.identity import make_identity_number
from samplan.people.models import RelatedParty
from tests.citizens import sign_in_as_person, sign_in_citizen
from tests.factories import case_in_state, minor, related_party_of

pytestmark = pytest.mark.django_db

PAGE_BUDGET = 12


def url(name: str, case) -> str:
    return reverse(f"mypages:{name}", args=[case.pk])


def english(client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def adult_number(serial: int) -> str:
    return make_identity_number(dt.date(1975, 3, 3), serial)


def snapshot(case) -> tuple:
    case.refresh_from_db()
    return (case.state, case.lock_version, case.closing_reason, CaseEvent.objects.count())


def test_the_person_ends_their_sip_with_a_reason_after_reading_what_happens(
    client, county, django_assert_max_num_queries
):
    case = case_in_state(county, State.MEETING_CALLED)
    meeting = Meeting.objects.get(case=case)
    sign_in_as_person(client, case)
    english(client)
    with django_assert_max_num_queries(PAGE_BUDGET):
        page = client.get(url("end", case)).content.decode()
    consequence = page.split('data-testid="end-consequence"')[1].split("</ul>")[0]
    assert "Your coordinator is told." in consequence
    assert "The plan and everything written down stay" in consequence
    assert "You can ask for a new SIP later" in consequence

    response = client.post(
        url("end", case), {"version": str(case.lock_version), "note": " Jag mår bättre nu. "}
    )
    assert response.status_code == 302
    assert response["Location"] == url("end_done", case)
    case.refresh_from_db()
    assert case.state == State.CLOSED and case.closed_at is not None
    assert case.closing_reason == SipCase.ClosingReason.PERSON_WISH
    assert case.closing_note == "Jag mår bättre nu."
    event = CaseEvent.objects.get(case=case, action="end_sip")
    assert (event.actor_id, event.citizen_role, event.note) == (None, "person", case.closing_note)
    assert (event.from_state, event.to_state) == (State.MEETING_CALLED, State.CLOSED)
    change = AuditEvent.objects.get(action=AuditEvent.Action.CHANGE, user__isnull=True)
    assert (change.what, change.citizen_role, change.case_id) == ("sip_case", "person", case.pk)
    meeting.refresh_from_db()
    assert meeting.cancelled_at is not None
    assert "Personen avslutade SIP:en" in meeting.cancellation_reason

    with django_assert_max_num_queries(PAGE_BUDGET):
        receipt = client.get(response["Location"])
    assert receipt.status_code == 200
    assert "The SIP has ended" in receipt.content.decode()
    assert "Jag mår bättre nu." in receipt.content.decode()
    # Staff see it on the case's timeline as the person's own act.
    client.force_login(county.alice)
    english(client)
    case_page = client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    assert "The person ended the SIP" in case_page


def test_a_reason_is_optional_and_the_plan_stays(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    plan = PlanVersion.objects.get(case=case)
    sign_in_as_person(client, case)
    assert client.post(url("end", case), {"version": str(case.lock_version)}).status_code == 302
    case.refresh_from_db()
    assert (case.state, case.closing_note) == (State.CLOSED, "")
    plan.refresh_from_db()
    assert plan.status == PlanVersion.Status.VALID and plan.goals.count() == 1


def test_a_closed_sip_cannot_be_ended_again(client, county):
    case = case_in_state(county, State.CLOSED)
    sign_in_as_person(client, case)
    english(client)
    page = client.get(url("end", case)).content.decode()
    assert "This SIP already ended on" in page
    assert 'data-testid="confirm-end"' not in page
    before = snapshot(case)
    response = client.post(url("end", case), {"version": str(case.lock_version)})
    assert response.status_code == 400
    assert "The SIP is closed. You cannot end the SIP after closing" in response.content.decode()
    assert snapshot(case) == before
    # Closed by staff for another reason: the receipt of ending is not shown for it.
    assert client.get(url("end_done", case))["Location"] == url("end", case)


def test_a_guardian_ends_a_childs_sip_and_the_child_with_own_view_cannot(client, county):
    child = minor(own_view=True)
    case = case_in_state(county, State.PREPARATION, person=child)
    sign_in_as_person(client, case)
    before = snapshot(case)
    assert client.get(url("end", case)).status_code == 404
    assert client.post(url("end", case), {"version": str(case.lock_version)}).status_code == 404
    assert snapshot(case) == before

    number = adult_number(101)
    related_party_of(case, kind=RelatedParty.Kind.GUARDIAN, identity_number=number, name="Pappa")
    sign_in_citizen(client, number, "Pappa")
    assert client.post(url("end", case), {"version": str(case.lock_version)}).status_code == 302
    assert CaseEvent.objects.get(action="end_sip").citizen_role == "guardian"


def test_a_relative_cannot_end_the_sip_and_nothing_changes(client, county):
    case = case_in_state(county, State.PREPARATION)
    number = adult_number(102)
    related_party_of(case, identity_number=number, may_see=RelatedParty.Sees.EVERYTHING)
    sign_in_citizen(client, number)
    before = snapshot(case)
    assert client.get(url("end", case)).status_code == 404
    assert client.post(url("end", case), {"version": str(case.lock_version)}).status_code == 404
    with pytest.raises(PermissionRefused):
        services.end_sip(case, actor=Citizen(number).capacities()[case.pk], expected_version=None)
    assert snapshot(case) == before
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.CHANGE, outcome=AuditEvent.Outcome.REFUSED, case_id=case.pk
    ).exists()


def test_a_god_man_ends_it_only_when_the_mandate_covers_acting(client, county):
    case = case_in_state(county, State.PREPARATION)
    number = adult_number(103)
    god_man = related_party_of(case, kind=RelatedParty.Kind.GOD_MAN, identity_number=number)
    sign_in_citizen(client, number)
    assert client.post(url("end", case), {"version": str(case.lock_version)}).status_code == 404
    god_man.may_act = True
    god_man.save()
    assert client.post(url("end", case), {"version": str(case.lock_version)}).status_code == 302
    assert CaseEvent.objects.get(action="end_sip").citizen_role == "god_man"


def test_staff_cannot_take_the_persons_action(county):
    case = case_in_state(county, State.PREPARATION)
    before = snapshot(case)
    with pytest.raises(PermissionRefused):
        services.end_sip(case, actor=county.alice, expected_version=case.lock_version)
    assert snapshot(case) == before


def test_someone_elses_sip_is_a_404(client, county):
    mine = case_in_state(county, State.PREPARATION)
    theirs = case_in_state(county, State.PREPARATION)
    sign_in_as_person(client, mine)
    before = snapshot(theirs)
    assert client.get(url("end", theirs)).status_code == 404
    assert client.post(url("end", theirs), {"version": str(theirs.lock_version)}).status_code == 404
    assert snapshot(theirs) == before


def test_a_stale_form_is_a_409_and_nothing_changes(client, county):
    case = case_in_state(county, State.PREPARATION)
    sign_in_as_person(client, case)
    english(client)
    stale = case.lock_version
    services.call_meeting(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=3),
            duration_minutes=30,
            place="Hemma",
            units=[county.vardcentral],
        ),
    )
    before = snapshot(case)
    response = client.post(url("end", case), {"version": str(stale), "note": "Vill sluta"})
    assert response.status_code == 409
    assert "Vill sluta" in response.content.decode()
    assert response.context["form"]["version"].value() == str(case.lock_version)
    assert snapshot(case) == before


def test_the_reason_has_a_length_limit(client, county):
    assert EndForm.base_fields["note"].max_length == 2000
    case = case_in_state(county, State.PREPARATION)
    sign_in_as_person(client, case)
    response = client.post(
        url("end", case), {"version": str(case.lock_version), "note": "x" * 2001}
    )
    assert response.status_code == 400
    assert SipCase.objects.get(pk=case.pk).state == State.PREPARATION


def test_ending_a_closed_sip_through_the_service_says_it_is_closed(county):
    case = case_in_state(county, State.CLOSED)
    with pytest.raises(TransitionNotAllowed):
        services.end_sip(
            case,
            actor=Citizen(case.person.identity_number).capacities()[case.pk],
            expected_version=None,
        )
