"""Kallelse in the staff workspace: calling the SIP meeting and a follow-up with warnings where
the choice goes against the person's preferences, each unit answering its own call and the
coordinator the others', moving and cancelling a meeting, attendance, and the meetings on the
case page (who has not answered, revoked consent marked, constant queries)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import CaseEvent, Invitation, Meeting, Preparation, State
from samplan.errors import DomainError
from tests.domain_helpers import assert_bilingual
from tests.factories import case_in_state, future, related_party_of, staff

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
ANSWER = "answer-{}"


def url(name: str, case, meeting=None, invitation=None) -> str:
    args = [case.pk] + ([meeting.pk] if meeting else []) + ([invitation.pk] if invitation else [])
    return reverse(f"workspace:{name}", args=args)


def english(client) -> None:
    client.post(reverse("set_language"), {"language": "en", "next": "/"})


def field_group(response, field_id: str) -> str:
    """The form group of one field: its label, hint, error and warning."""
    match = re.search(
        rf'<div class="govuk-form-group[^"]*" id="{field_id}-group">'
        r".*?(?=<div class=\"govuk-form-group|</fieldset>|</form>)",
        response.content.decode(),
        re.S,
    )
    assert match, f"no form group for {field_id}"
    return match.group(0)


def in_a_week() -> str:
    return (timezone.localdate() + dt.timedelta(days=7)).isoformat()


def call_data(case, county, **values) -> dict:
    data = {
        "version": case.lock_version,
        "starts_at": in_a_week(),
        "starts_time": "09:30",
        "duration_minutes": "45",
        "place": "Biblioteket",
        "video_link": "",
        "units": [str(county.vardcentral.pk)],
        "invite_person": "on",
        "honoured_preferences": "",
    }
    data.update(values)
    return {key: value for key, value in data.items() if value is not None}


def prefer(case, county, **values):
    """The person's meeting preferences, saved through the service."""
    preparation = Preparation.objects.get(case=case)
    services.update_preparation(
        case, actor=county.alice, expected_version=preparation.lock_version, values=values
    )


def with_hemtjanst(case, county):
    services.add_participant(case, actor=county.alice, unit=county.hemtjanst)
    return case


def called(county, state=State.MEETING_CALLED):
    """A case with its meeting now called and the hemtjänst invitation of it."""
    case = case_in_state(county, state)
    kind = Meeting.Kind.FOLLOW_UP if state == State.FOLLOW_UP else Meeting.Kind.SIP
    meeting = case.meetings.get(kind=kind)
    return case, meeting, meeting.invitations.get(unit=county.hemtjanst)


def held(meeting) -> Meeting:
    """The meeting as if it began an hour ago (services only call meetings ahead)."""
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now() - dt.timedelta(hours=1))
    meeting.refresh_from_db()
    return meeting


# --- Calling the meeting --------------------------------------------------------------------------


def test_coordinator_calls_the_meeting_in_swedish_time_and_everyone_is_invited(client, county):
    case = with_hemtjanst(case_in_state(county, State.PREPARATION), county)
    elsewhere = services.add_participant(case, actor=county.alice, unit=county.elsewhere).unit
    daughter = related_party_of(case, name="Dottern Eva")
    services.update_preparation(
        case,
        actor=county.alice,
        expected_version=case.preparation.lock_version,
        values={},
        invited_related_parties=[daughter],
    )
    client.force_login(county.alice)
    page = client.get(url("call_meeting", case))
    assert page.status_code == 200
    form = page.context["form"]
    # The units taking part are offered; those the consent covers are preselected.
    assert set(form["units"].value()) == {county.vardcentral.pk, county.hemtjanst.pk}
    assert set(form.fields["units"].queryset) == {county.vardcentral, county.hemtjanst, elsewhere}
    assert form["related_parties"].value() == [daughter.pk]

    response = client.post(
        url("call_meeting", case),
        call_data(
            case,
            county,
            units=[str(county.vardcentral.pk), str(county.hemtjanst.pk)],
            related_parties=[str(daughter.pk)],
        ),
    )
    assert response.status_code == 302
    meeting = Meeting.objects.get(case=case)
    assert response.url == url("meeting_detail", case, meeting)
    local = timezone.localtime(meeting.starts_at, timezone.get_default_timezone())
    assert (local.date().isoformat(), f"{local:%H:%M}") == (in_a_week(), "09:30")
    assert str(timezone.get_default_timezone()) == "Europe/Stockholm"
    case.refresh_from_db()
    assert case.state == State.MEETING_CALLED
    invitees = {(i.unit_id, i.related_party_id, i.is_person) for i in meeting.invitations.all()}
    assert invitees == {
        (county.vardcentral.pk, None, False),
        (county.hemtjanst.pk, None, False),
        (None, daughter.pk, False),
        (None, None, True),
    }
    assert CaseEvent.objects.get(case=case, action="call_meeting").actor == county.alice
    assert AuditEvent.objects.filter(
        case_id=case.pk, user=county.alice, action=AuditEvent.Action.CHANGE, what="meeting"
    ).exists()


def test_the_call_offers_only_relatives_known_in_this_sip(client, county):
    """A relative of the person registered in another SIP stays there, even where an older
    preparation of this SIP names them (written directly: the services refuse it today)."""
    case = case_in_state(county, State.PREPARATION)
    daughter = related_party_of(case, name="Dottern Eva")
    elsewhere = related_party_of(case_in_state(county, State.CONSENTED, person=case.person))
    elsewhere.name = "Gode Mannen Gustav"
    elsewhere.save()
    case.preparation.invited_related_parties.set([daughter, elsewhere])
    client.force_login(county.alice)
    page = client.get(url("call_meeting", case))
    assert list(page.context["form"].fields["related_parties"].queryset) == [daughter]
    assert "Gode Mannen Gustav" not in field_group(page, "id_related_parties")
    response = client.post(
        url("call_meeting", case), call_data(case, county, related_parties=[str(elsewhere.pk)])
    )
    assert response.status_code == 400
    assert "govuk-error-message" in field_group(response, "id_related_parties")
    assert not Meeting.objects.filter(case=case).exists()


def test_from_an_established_plan_the_same_form_calls_a_follow_up(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    client.force_login(county.alice)
    assert client.get(url("call_meeting", case)).context["follow_up"] is True
    response = client.post(url("call_meeting", case), call_data(case, county))
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.FOLLOW_UP
    assert case.meetings.filter(kind=Meeting.Kind.FOLLOW_UP).count() == 1
    assert CaseEvent.objects.filter(case=case, action="call_follow_up").count() == 1


def test_a_participant_may_not_call_the_meeting(client, county):
    case = with_hemtjanst(case_in_state(county, State.PREPARATION), county)
    client.force_login(county.bob)
    page = client.get(url("call_meeting", case))
    assert page.status_code == 200
    assert 'name="starts_at"' not in page.content.decode()
    response = client.post(url("call_meeting", case), call_data(case, county))
    assert response.status_code == 403
    assert "samordnare" in response.content.decode()
    assert not Meeting.objects.filter(case=case).exists()
    assert AuditEvent.objects.filter(
        case_id=case.pk, user=county.bob, outcome=AuditEvent.Outcome.REFUSED
    ).exists()


@pytest.mark.parametrize(
    "name",
    ["call_meeting", "meeting_detail", "move_meeting", "cancel_meeting", "record_attendance"],
)
def test_an_outsider_gets_404_for_every_meeting_page(client, county, name):
    case, meeting, invitation = called(county)
    client.force_login(county.charlie)
    target = url(name, case, None if name == "call_meeting" else meeting)
    assert client.get(target).status_code == 404
    if name != "meeting_detail":
        assert client.post(target, {"version": 0}).status_code == 404
    assert client.post(url("answer_invitation", case, meeting, invitation)).status_code == 404
    assert AuditEvent.objects.filter(
        case_id=case.pk, user=county.charlie, outcome=AuditEvent.Outcome.REFUSED
    ).exists()


def test_a_meeting_of_another_case_is_not_found_through_this_one(client, county):
    case, _meeting, _invitation = called(county)
    _other, foreign, _ = called(county)
    client.force_login(county.alice)
    assert client.get(url("meeting_detail", case, foreign)).status_code == 404


def test_a_time_in_the_past_is_refused_next_to_the_date_and_typed_text_stays(client, county):
    case = case_in_state(county, State.PREPARATION)
    client.force_login(county.alice)
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    response = client.post(
        url("call_meeting", case),
        call_data(case, county, starts_at=yesterday, place="Stadsbiblioteket, rum 2"),
    )
    assert response.status_code == 400
    assert "Mötestiden har redan passerat" in field_group(response, "id_starts_at")
    assert 'value="Stadsbiblioteket, rum 2"' in field_group(response, "id_place")
    assert not Meeting.objects.filter(case=case).exists()

    english(client)
    response = client.post(url("call_meeting", case), call_data(case, county, starts_at=yesterday))
    assert "The meeting time has already passed" in field_group(response, "id_starts_at")


def test_a_missing_time_and_place_are_named_at_their_fields(client, county):
    case = case_in_state(county, State.PREPARATION)
    client.force_login(county.alice)
    response = client.post(
        url("call_meeting", case), call_data(case, county, starts_time="", place="")
    )
    assert response.status_code == 400
    assert response.context["form"].errors["starts_time"]
    assert "id_starts_time-error" in field_group(response, "id_starts_time")
    response = client.post(url("call_meeting", case), call_data(case, county, place=""))
    assert response.status_code == 400
    assert "Ange plats eller videolänk." in field_group(response, "id_place")


def test_a_stale_call_is_refused_and_the_meeting_called_meanwhile_shown(client, county):
    case = case_in_state(county, State.PREPARATION)
    opened_at = case.lock_version
    services.call_meeting(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=future(3), duration_minutes=30, place="Hemma", units=[county.vardcentral]
        ),
    )
    client.force_login(county.alice)
    response = client.post(
        url("call_meeting", case),
        call_data(case, county, version=opened_at, place="Mitt förslag"),
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "Någon annan har sparat" in body
    assert "Mitt förslag" in body
    newer = re.search(r'data-testid="newer-meeting">(.*?)</div>', body, re.S).group(1)
    assert f"{timezone.localtime(future(3)):%Y-%m-%d %H:%M}" in newer
    assert Meeting.objects.filter(case=case).count() == 1


# --- Warnings against the person's preferences ----------------------------------------------------


def preferring(county):
    case = case_in_state(county, State.PREPARATION)
    prefer(
        case,
        county,
        preferred_place="Biblioteket",
        preferred_time_of_day="Förmiddagar",
        max_length_minutes=60,
        interpreter_language="arabiska",
        picture_support=True,
    )
    return case


def test_warnings_show_next_to_each_field_the_choice_goes_against(client, county):
    case = preferring(county)
    client.force_login(county.alice)
    response = client.post(
        url("call_meeting", case),
        call_data(case, county, starts_time="14:00", place="Vårdcentralen", check="1"),
    )
    assert response.status_code == 200
    assert "Förmiddagar" in field_group(response, "id_starts_time")
    assert "eftermiddag" in field_group(response, "id_starts_time")
    assert "Biblioteket" in field_group(response, "id_place")
    support = field_group(response, "id_honoured_preferences")
    assert "tolk (arabiska)" in support and "bildstöd" in support
    assert "samplan-field-warning" not in field_group(response, "id_duration_minutes")
    assert not Meeting.objects.filter(case=case).exists()  # a check saves nothing

    english(client)
    response = client.post(
        url("call_meeting", case),
        call_data(case, county, starts_time="14:00", duration_minutes="90", check="1"),
    )
    assert "14:00 is afternoon" in field_group(response, "id_starts_time")
    assert "at most 60 minutes" in field_group(response, "id_duration_minutes")


def test_htmx_asks_again_when_a_field_changes(client, county):
    case = preferring(county)
    client.force_login(county.alice)
    page = client.get(url("call_meeting", case)).content.decode()
    time_input = re.search(r'<input[^>]*id="id_starts_time"[^>]*>', page).group(0)
    assert f'hx-post="{url("call_meeting", case)}"' in time_input
    assert 'hx-select="#id_starts_time-group"' in time_input
    assert "check" in time_input
    response = client.post(
        url("call_meeting", case),
        call_data(case, county, starts_time="10:00", check="1"),
        **HTMX,
    )
    assert response.status_code == 200
    assert "samplan-field-warning" not in field_group(response, "id_starts_time")
    assert not Meeting.objects.filter(case=case).exists()


def test_warnings_do_not_stop_the_call_and_the_case_page_repeats_them(client, county):
    case = preferring(county)
    client.force_login(county.alice)
    response = client.post(
        url("call_meeting", case),
        call_data(case, county, starts_time="14:00", place="Vårdcentralen"),
    )
    assert response.status_code == 302
    page = client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    warnings = re.search(r'data-testid="preference-warnings">(.*?)</div>', page, re.S).group(1)
    assert "Biblioteket" in warnings and "Förmiddagar" in warnings and "arabiska" in warnings


def test_a_meeting_longer_than_the_person_manages_is_refused_at_the_length(client, county):
    case = preferring(county)
    client.force_login(county.alice)
    response = client.post(
        url("call_meeting", case), call_data(case, county, duration_minutes="90")
    )
    assert response.status_code == 400
    group = field_group(response, "id_duration_minutes")
    assert "Personen orkar högst 60 minuter" in group
    assert 'value="90"' in group


@pytest.mark.parametrize(
    ("preferred", "hour", "warned"),
    [
        ("förmiddag", 14, True),
        ("Förmiddagar", 9, False),
        ("mornings", 13, True),
        ("eftermiddag", 14, False),
        ("afternoon", 10, True),
        ("på kvällen", 18, False),
        ("evening", 9, True),
        ("förmiddag eller kväll", 19, False),
        ("när som helst utom måndagar", 7, False),
        ("", 3, False),
    ],
)
def test_the_time_of_day_rule_reads_morning_afternoon_and_evening(preferred, hour, warned):
    preparation = Preparation(preferred_time_of_day=preferred)
    starts = future(3, hour=hour)
    warnings = services.preference_warnings(preparation, starts_at=starts)
    assert [w.field for w in warnings] == (["starts_time"] if warned else [])


def test_the_same_place_in_other_words_gives_no_warning_but_video_does():
    preparation = Preparation(preferred_place="Biblioteket")
    assert services.preference_warnings(preparation, place="Stadsbiblioteket, rum 2") == []
    assert [w.code for w in services.preference_warnings(preparation, place="Hemma")] == [
        "place_not_preferred"
    ]
    assert [
        w.code for w in services.preference_warnings(preparation, video_link="https://v.se/1")
    ] == ["place_not_preferred"]


# --- Answers ------------------------------------------------------------------------------------


def answer(client, case, meeting, invitation, value, reason="", sequence=None, version=None):
    """Post an answer; by default based on the invitation and meeting as they are now."""
    prefix = ANSWER.format(invitation.pk)
    stored = Invitation.objects.get(pk=invitation.pk)
    return client.post(
        url("answer_invitation", case, meeting, invitation),
        {
            f"{prefix}-version": stored.lock_version if version is None else version,
            f"{prefix}-sequence": meeting.sequence if sequence is None else sequence,
            f"{prefix}-answer": value,
            f"{prefix}-decline_reason": reason,
        },
    )


def test_bob_answers_his_units_own_call(client, county):
    case, meeting, invitation = called(county)
    client.force_login(county.bob)
    page = client.get(url("meeting_detail", case, meeting))
    assert page.status_code == 200
    forms = re.findall(r'<form[^>]*id="answer-(\d+)"', page.content.decode())
    assert forms == [str(invitation.pk)]  # hemtjänst's own, not the others'

    response = answer(client, case, meeting, invitation, "accepted")
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert (invitation.answer, invitation.answered_by) == (Invitation.Answer.ACCEPTED, county.bob)
    event = CaseEvent.objects.get(case=case, action="record_answer")
    assert (event.actor, event.actor_unit, event.note) == (
        county.bob,
        county.hemtjanst,
        "Hemtjänst Norr",
    )
    assert AuditEvent.objects.filter(
        case_id=case.pk, user=county.bob, what="invitation", action=AuditEvent.Action.CHANGE
    ).exists()


def test_bob_may_not_answer_for_another_unit(client, county):
    case, meeting, _invitation = called(county)
    other = meeting.invitations.get(unit=county.vardcentral)
    client.force_login(county.bob)
    response = answer(client, case, meeting, other, "accepted")
    assert response.status_code == 403
    assert "din egen enhet" in response.content.decode()
    other.refresh_from_db()
    assert other.answer == Invitation.Answer.NO_ANSWER


def test_the_coordinator_records_the_persons_and_a_relatives_answer(client, county):
    case, meeting, _invitation = called(county)
    person = meeting.invitations.get(is_person=True)
    client.force_login(county.alice)
    assert answer(client, case, meeting, person, "accepted").status_code == 302
    person.refresh_from_db()
    assert (person.answer, person.answered_by) == (Invitation.Answer.ACCEPTED, county.alice)


def test_declining_without_a_reason_is_refused_next_to_the_reason(client, county):
    case, meeting, invitation = called(county)
    client.force_login(county.bob)
    response = answer(client, case, meeting, invitation, "declined", reason="  ")
    assert response.status_code == 400
    group = field_group(response, f"id_answer-{invitation.pk}-decline_reason")
    assert "Ange skälet till att kallelsen avböjs." in group
    english(client)
    response = answer(client, case, meeting, invitation, "declined")
    group = field_group(response, f"id_answer-{invitation.pk}-decline_reason")
    assert "Give the reason for declining." in group
    invitation.refresh_from_db()
    assert invitation.answer == Invitation.Answer.NO_ANSWER

    response = answer(client, case, meeting, invitation, "declined", reason="Sjuk; ersättare")
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert (invitation.answer, invitation.decline_reason) == ("declined", "Sjuk; ersättare")


def test_an_answer_to_a_time_that_has_moved_is_refused_with_the_new_time(client, county):
    case, meeting, invitation = called(county)
    opened_at = meeting.sequence
    moved = services.move_meeting(
        meeting,
        actor=county.alice,
        expected_sequence=meeting.sequence,
        starts_at=future(9, hour=13),
        duration_minutes=45,
        place="Hemma",
    )
    client.force_login(county.bob)
    response = answer(client, case, meeting, invitation, "accepted", sequence=opened_at, version=0)
    assert response.status_code == 409
    body = response.content.decode()
    assert "Någon annan har sparat" in body
    assert f"{timezone.localtime(moved.starts_at):%Y-%m-%d %H:%M}" in body
    # The form is now based on the new time: sending it again is a deliberate answer to it.
    posted = response.context["posted"]
    assert (posted["sequence"].value(), posted["answer"].value()) == ("1", "accepted")
    assert posted["version"].value() == str(Invitation.objects.get(pk=invitation.pk).lock_version)
    invitation.refresh_from_db()
    assert invitation.answer == Invitation.Answer.NO_ANSWER


def mine_to_answer(client, case) -> bool:
    """Whether the case page offers this user's unit the link to answer the meeting now called."""
    meetings = client.get(url("case_detail", case)).context["meetings"]
    return any(meeting.mine_to_answer for meeting in meetings)


def answer_forms(response) -> list[str]:
    return re.findall(r'<form[^>]*id="answer-(\d+)"', response.content.decode())


def test_answers_close_when_the_meeting_starts_and_what_was_typed_stays(client, county):
    case, meeting, invitation = called(county)
    client.force_login(county.bob)
    assert answer_forms(client.get(url("meeting_detail", case, meeting))) == [str(invitation.pk)]
    assert mine_to_answer(client, case)
    held(meeting)
    page = client.get(url("meeting_detail", case, meeting))
    assert answer_forms(page) == []
    closed = re.search(r'data-testid="answers-closed">(.*?)</p>', page.content.decode()).group(1)
    assert "Mötet har redan börjat" in closed
    assert not mine_to_answer(client, case)

    response = answer(client, case, meeting, invitation, "declined", reason="Vi hann inte")
    assert response.status_code == 400
    prefix = ANSWER.format(invitation.pk)
    assert "Mötet har redan börjat" in field_group(response, f"id_{prefix}-answer")
    assert "Vi hann inte" in field_group(response, f"id_{prefix}-decline_reason")
    english(client)
    response = answer(client, case, meeting, invitation, "declined", reason="Vi hann inte")
    assert "The meeting has already started" in field_group(response, f"id_{prefix}-answer")
    invitation.refresh_from_db()
    assert invitation.answer == Invitation.Answer.NO_ANSWER


def test_an_answer_cannot_contradict_the_attendance_recorded(client, county):
    case, meeting, invitation = called(county)
    services.record_answer(invitation, actor=county.bob, answer=Invitation.Answer.ACCEPTED)
    held(meeting)
    meeting.case = case
    services.record_attendance(meeting, actor=county.alice, attended={invitation.pk: True})
    client.force_login(county.bob)
    response = answer(client, case, meeting, invitation, "declined", reason="Vi kom inte")
    assert response.status_code == 400
    group = field_group(response, f"id_{ANSWER.format(invitation.pk)}-answer")
    assert "Närvaro är registrerad för mötet" in group
    invitation.refresh_from_db()
    assert (invitation.answer, invitation.attended) == (Invitation.Answer.ACCEPTED, True)


def test_an_earlier_meeting_offers_no_answer_forms_and_takes_no_answers(client, county):
    case = case_in_state(county, State.FOLLOW_UP)
    sip_meeting = case.meetings.get(kind=Meeting.Kind.SIP)
    invitation = sip_meeting.invitations.get(unit=county.hemtjanst)
    follow_up = case.meetings.get(kind=Meeting.Kind.FOLLOW_UP)
    client.force_login(county.bob)
    assert answer_forms(client.get(url("meeting_detail", case, sip_meeting))) == []
    assert answer_forms(client.get(url("meeting_detail", case, follow_up))) != []
    response = answer(client, case, sip_meeting, invitation, "declined", reason="Efteråt")
    assert response.status_code == 400
    group = field_group(response, f"id_{ANSWER.format(invitation.pk)}-answer")
    assert "inte det som nu är kallat" in group
    before = invitation.answer
    invitation.refresh_from_db()
    assert invitation.answer == before


def test_after_the_plan_is_established_the_meeting_takes_no_answers(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    meeting = case.meetings.get(kind=Meeting.Kind.SIP)
    invitation = meeting.invitations.get(unit=county.hemtjanst)
    client.force_login(county.bob)
    assert answer_forms(client.get(url("meeting_detail", case, meeting))) == []
    before = invitation.answer
    response = answer(client, case, meeting, invitation, "declined", reason="I efterhand")
    assert response.status_code == 400
    invitation.refresh_from_db()
    assert invitation.answer == before


def opened_answer_form(browser, case, meeting, invitation) -> dict:
    """What one browser's meeting page holds in the hidden fields of an answer form."""
    page = browser.get(url("meeting_detail", case, meeting))
    form = next(i.form for i in page.context["invitations"] if i.pk == invitation.pk)
    return {f"{form.prefix}-{name}": form[name].value() for name in ("version", "sequence")}


def test_two_browsers_answering_one_call_the_later_sees_the_newer_answer(client, county):
    case, meeting, invitation = called(county)
    prefix = ANSWER.format(invitation.pk)
    bobs = Client()
    bobs.force_login(county.bob)
    client.force_login(county.alice)
    alices_form = opened_answer_form(client, case, meeting, invitation)
    bobs_form = opened_answer_form(bobs, case, meeting, invitation)
    target = url("answer_invitation", case, meeting, invitation)

    declined = {f"{prefix}-answer": "declined", f"{prefix}-decline_reason": "Ingen personal"}
    assert bobs.post(target, {**bobs_form, **declined}).status_code == 302
    response = client.post(target, {**alices_form, f"{prefix}-answer": "accepted"})
    assert response.status_code == 409
    body = response.content.decode()
    summary = re.search(r'class="govuk-error-summary".*?</ul>', body, re.S).group(0)
    assert "Någon annan har sparat" in summary and "Ingen personal" in summary
    assert re.search(rf'name="{prefix}-answer" type="radio" value="accepted" checked', body)
    invitation.refresh_from_db()
    assert (invitation.answer, invitation.answered_by) == ("declined", county.bob)
    # Alice has seen Bob's answer; sending her answer again is a deliberate choice.
    posted = response.context["posted"]
    assert posted["version"].value() == str(invitation.lock_version)
    again = {f"{prefix}-{name}": posted[name].value() for name in ("version", "sequence")}
    response = client.post(target, {**again, f"{prefix}-answer": "accepted"})
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert (invitation.answer, invitation.answered_by) == ("accepted", county.alice)


def test_who_has_not_answered_shows_on_the_meeting_and_the_case_page(client, county):
    case, meeting, invitation = called(county)
    services.record_answer(invitation, actor=county.bob, answer=Invitation.Answer.ACCEPTED)
    client.force_login(county.alice)
    for page_url in (url("meeting_detail", case, meeting), url("case_detail", case)):
        page = client.get(page_url).content.decode()
        unanswered = re.search(r'data-testid="unanswered">(.*?)</(ul|p)>', page, re.S).group(1)
        assert "Vårdcentral Centrum" in unanswered
        assert case.person.full_name in unanswered
        assert "Hemtjänst Norr" not in unanswered


# --- Moving -------------------------------------------------------------------------------------


def move_data(meeting, **values) -> dict:
    data = {
        "version": meeting.sequence,
        "starts_at": (timezone.localdate() + dt.timedelta(days=10)).isoformat(),
        "starts_time": "10:15",
        "duration_minutes": "40",
        "place": "Biblioteket",
        "video_link": "",
    }
    data.update(values)
    return data


def test_coordinator_moves_the_meeting_and_everyone_answers_again(client, county):
    case, meeting, invitation = called(county)
    services.record_answer(invitation, actor=county.bob, answer=Invitation.Answer.ACCEPTED)
    was = timezone.localtime(meeting.starts_at)
    client.force_login(county.alice)
    page = client.get(url("move_meeting", case, meeting))
    assert page.status_code == 200
    assert page.context["form"]["starts_time"].value() == f"{was:%H:%M}"

    response = client.post(url("move_meeting", case, meeting), move_data(meeting))
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.sequence == 1
    assert f"{timezone.localtime(meeting.starts_at):%H:%M}" == "10:15"
    assert (meeting.duration_minutes, meeting.place) == (40, "Biblioteket")
    invitation.refresh_from_db()
    assert (invitation.answer, invitation.answered_at, invitation.answered_by) == (
        Invitation.Answer.NO_ANSWER,
        None,
        None,
    )
    assert meeting.invitations.count() == 3  # everyone stays invited
    # A form opened before the move is stale for every invitation, answered or not.
    versions = dict(meeting.invitations.values_list("pk", "lock_version"))
    assert versions.pop(invitation.pk) == 2  # answered once, then moved
    assert set(versions.values()) == {1}
    event = CaseEvent.objects.get(case=case, action="move_meeting")
    assert (
        event.note
        == f"{was:%Y-%m-%d %H:%M} → {timezone.localtime(meeting.starts_at):%Y-%m-%d %H:%M}"
    )
    case.refresh_from_db()
    assert case.state == State.MEETING_CALLED


def test_a_participant_may_not_move_the_meeting(client, county):
    case, meeting, _invitation = called(county)
    client.force_login(county.bob)
    response = client.post(url("move_meeting", case, meeting), move_data(meeting))
    assert response.status_code == 403
    assert "samordnare" in response.content.decode()
    meeting.refresh_from_db()
    assert meeting.sequence == 0


def test_a_participant_posting_stale_forms_is_refused_and_every_refusal_audited(client, county):
    """The right comes before the version: with a stale form a participant who may not drive
    still gets 403 and leaves a refused audit row, as with a current one."""
    case, meeting, _invitation = called(county)
    opened_version, opened_sequence = case.lock_version, meeting.sequence
    moved = services.move_meeting(
        meeting,
        actor=county.alice,
        expected_sequence=opened_sequence,
        starts_at=future(12, hour=11),
        duration_minutes=30,
        place="Hemma",
    )
    client.force_login(county.bob)
    refused = AuditEvent.objects.filter(
        case_id=case.pk, user=county.bob, outcome=AuditEvent.Outcome.REFUSED
    )
    response = client.post(url("move_meeting", case, meeting), move_data(meeting, version=0))
    assert response.status_code == 403
    assert "samordnare" in response.content.decode()
    assert refused.count() == 1

    services.cancel_meeting(
        moved, actor=county.alice, expected_version=case.lock_version, reason="Sjuk"
    )
    response = client.post(
        url("cancel_meeting", case, meeting), {"version": opened_version, "reason": "Mitt skäl"}
    )
    assert response.status_code == 403
    assert refused.count() == 2
    response = client.post(
        url("call_meeting", case), call_data(case, county, version=opened_version)
    )
    assert response.status_code == 403
    assert refused.count() == 3
    assert case.meetings.filter(cancelled_at__isnull=True).count() == 0


def test_moving_into_the_past_is_refused_next_to_the_date(client, county):
    case, meeting, _invitation = called(county)
    client.force_login(county.alice)
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    response = client.post(
        url("move_meeting", case, meeting), move_data(meeting, starts_at=yesterday)
    )
    assert response.status_code == 400
    assert "Mötestiden har redan passerat" in field_group(response, "id_starts_at")
    meeting.refresh_from_db()
    assert meeting.sequence == 0


def test_a_stale_move_is_refused_and_the_newer_time_shown(client, county):
    case, meeting, _invitation = called(county)
    services.move_meeting(
        meeting,
        actor=county.alice,
        expected_sequence=0,
        starts_at=future(12, hour=11),
        duration_minutes=30,
        place="Hemma",
    )
    client.force_login(county.alice)
    response = client.post(
        url("move_meeting", case, meeting), move_data(meeting, version=0, place="Mitt förslag")
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "Någon annan har sparat" in body and "Mitt förslag" in body
    now = re.search(r'data-testid="meeting-now">(.*?)</dl>', body, re.S).group(1)
    assert f"{timezone.localtime(future(12, hour=11)):%Y-%m-%d %H:%M}" in now
    assert response.context["form"]["version"].value() == "1"


# --- Cancelling ---------------------------------------------------------------------------------


def test_cancelling_the_sip_meeting_takes_the_case_back_to_preparation(client, county):
    case, meeting, _invitation = called(county)
    client.force_login(county.alice)
    response = client.post(
        url("cancel_meeting", case, meeting),
        {"version": case.lock_version, "reason": "Personen är sjuk"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    meeting.refresh_from_db()
    assert case.state == State.PREPARATION
    assert meeting.cancelled_at is not None
    assert meeting.cancellation_reason == "Personen är sjuk"
    assert CaseEvent.objects.get(case=case, action="cancel_meeting").to_state == State.PREPARATION
    page = client.get(url("case_detail", case)).content.decode()
    assert 'data-testid="meeting-cancelled"' in page and "Personen är sjuk" in page


def test_cancelling_a_follow_up_goes_back_to_the_established_plan(client, county):
    case, meeting, _invitation = called(county, State.FOLLOW_UP)
    client.force_login(county.alice)
    response = client.post(
        url("cancel_meeting", case, meeting),
        {"version": case.lock_version, "reason": "Ny tid behövs"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.PLAN_ESTABLISHED
    assert CaseEvent.objects.filter(case=case, action="cancel_follow_up").count() == 1


def test_cancelling_needs_a_reason_in_either_language(client, county):
    case, meeting, _invitation = called(county)
    client.force_login(county.alice)
    response = client.post(
        url("cancel_meeting", case, meeting), {"version": case.lock_version, "reason": " "}
    )
    assert response.status_code == 400
    assert "Ange varför mötet ställs in." in field_group(response, "id_reason")
    english(client)
    response = client.post(
        url("cancel_meeting", case, meeting), {"version": case.lock_version, "reason": ""}
    )
    assert "Enter why it is cancelled." in field_group(response, "id_reason")
    meeting.refresh_from_db()
    assert meeting.cancelled_at is None


def test_a_participant_may_not_cancel_the_meeting(client, county):
    case, meeting, _invitation = called(county)
    client.force_login(county.bob)
    response = client.post(
        url("cancel_meeting", case, meeting), {"version": case.lock_version, "reason": "Sjuk"}
    )
    assert response.status_code == 403
    meeting.refresh_from_db()
    assert meeting.cancelled_at is None


def test_a_stale_cancel_is_refused_and_shows_the_case_as_it_is_now(client, county):
    case, meeting, _invitation = called(county)
    opened_at = case.lock_version
    services.cancel_meeting(meeting, actor=county.alice, expected_version=opened_at, reason="Sjuk")
    client.force_login(county.alice)
    response = client.post(
        url("cancel_meeting", case, meeting), {"version": opened_at, "reason": "Mitt skäl"}
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "Någon annan har sparat" in body and "Mitt skäl" in body
    assert response.context["case"].state == State.PREPARATION
    meeting.refresh_from_db()
    assert meeting.cancellation_reason == "Sjuk"


# --- Attendance ---------------------------------------------------------------------------------


def attendance_data(meeting, present=(), without_answer=(), versions=None) -> dict:
    """The attendance form as posted; each invitation's version as it is now unless given."""
    data = {"version": meeting.sequence}
    versions = versions or dict(meeting.invitations.values_list("pk", "lock_version"))
    for pk, version in versions.items():
        data[f"lock_{pk}"] = version
    for invitation in present:
        data[f"attended_{invitation.pk}"] = "on"
    for invitation in without_answer:
        data[f"without_answer_{invitation.pk}"] = "on"
    return data


def test_attendance_waits_until_the_meeting_has_started(client, county):
    case, meeting, invitation = called(county)
    services.record_answer(invitation, actor=county.bob, answer=Invitation.Answer.ACCEPTED)
    client.force_login(county.alice)
    page = client.get(url("record_attendance", case, meeting))
    assert page.status_code == 200
    assert f'name="attended_{invitation.pk}"' not in page.content.decode()
    response = client.post(
        url("record_attendance", case, meeting), attendance_data(meeting, [invitation])
    )
    assert response.status_code == 400
    assert "Närvaro kan registreras först när mötet har börjat." in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.attended is None


def test_accepted_parties_are_marked_present_and_the_rest_absent(client, county):
    case, meeting, invitation = called(county)
    services.record_answer(invitation, actor=county.bob, answer=Invitation.Answer.ACCEPTED)
    held(meeting)
    client.force_login(county.alice)
    response = client.post(
        url("record_attendance", case, meeting), attendance_data(meeting, [invitation])
    )
    assert response.status_code == 302
    attended = dict(meeting.invitations.values_list("pk", "attended"))
    assert attended.pop(invitation.pk) is True
    assert set(attended.values()) == {False}
    event = CaseEvent.objects.get(case=case, action="record_attendance")
    assert event.actor == county.alice
    assert AuditEvent.objects.filter(
        case_id=case.pk, user=county.alice, what="attendance", action=AuditEvent.Action.CHANGE
    ).exists()


def test_a_party_that_declined_cannot_be_marked_present(client, county):
    case, meeting, invitation = called(county)
    services.record_answer(
        invitation, actor=county.bob, answer=Invitation.Answer.DECLINED, decline_reason="Sjuk"
    )
    held(meeting)
    client.force_login(county.alice)
    response = client.post(
        url("record_attendance", case, meeting), attendance_data(meeting, [invitation])
    )
    assert response.status_code == 400
    group = field_group(response, f"id_attended_{invitation.pk}")
    assert "Hemtjänst Norr har avböjt kallelsen" in group
    english(client)
    response = client.post(
        url("record_attendance", case, meeting), attendance_data(meeting, [invitation])
    )
    assert "Hemtjänst Norr declined the call" in field_group(
        response, f"id_attended_{invitation.pk}"
    )
    assert set(meeting.invitations.values_list("attended", flat=True)) == {None}


def test_a_party_that_never_answered_is_present_only_when_it_came_without_answering(client, county):
    case, meeting, _invitation = called(county)
    person = meeting.invitations.get(is_person=True)
    held(meeting)
    client.force_login(county.alice)
    response = client.post(
        url("record_attendance", case, meeting), attendance_data(meeting, [person])
    )
    assert response.status_code == 400
    assert "har inte svarat på kallelsen" in field_group(response, f"id_attended_{person.pk}")
    person.refresh_from_db()
    assert person.attended is None

    response = client.post(
        url("record_attendance", case, meeting), attendance_data(meeting, [person], [person])
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.attended is True


def opened_attendance_form(browser, case, meeting) -> dict:
    """What one browser's attendance page holds in its hidden fields."""
    form = browser.get(url("record_attendance", case, meeting)).context["form"]
    hidden = ["version"] + [field.name for field in form.lock_fields()]
    return {name: form[name].value() for name in hidden}


def test_two_browsers_recording_attendance_the_later_sees_the_newer_and_keeps_its_ticks(
    client, county
):
    case, meeting, invitation = called(county)
    services.record_answer(invitation, actor=county.bob, answer=Invitation.Answer.ACCEPTED)
    person = meeting.invitations.get(is_person=True)
    held(meeting)
    carols = Client()
    carols.force_login(staff(county.vardcentral, username="carol"))  # a second coordinator
    client.force_login(county.alice)
    alices_form = opened_attendance_form(client, case, meeting)
    carols_form = opened_attendance_form(carols, case, meeting)
    target = url("record_attendance", case, meeting)

    carols_ticks = {f"attended_{invitation.pk}": "on"}
    assert carols.post(target, {**carols_form, **carols_ticks}).status_code == 302
    alices_ticks = {f"attended_{person.pk}": "on", f"without_answer_{person.pk}": "on"}
    response = client.post(target, {**alices_form, **alices_ticks})
    assert response.status_code == 409
    body = response.content.decode()
    assert "Någon annan har sparat" in body
    newer = re.search(r'data-testid="newer-attendance">(.*?)</table>', body, re.S).group(1)
    assert "Hemtjänst Norr" in newer
    assert {i.pk: i.attended for i in response.context["newer"]}[invitation.pk] is True
    form = response.context["form"]
    assert form[f"attended_{person.pk}"].value() is True  # Alice's ticks stay
    assert form[f"attended_{invitation.pk}"].value() is False
    assert dict(meeting.invitations.values_list("pk", "attended")) == {
        pk: pk == invitation.pk for pk in meeting.invitations.values_list("pk", flat=True)
    }
    # Seen Carol's record, Alice sends hers again on top of it.
    again = {name: form[name].value() for name in opened_attendance_form(client, case, meeting)}
    assert again != alices_form
    assert client.post(target, {**again, **alices_ticks}).status_code == 302
    person.refresh_from_db()
    invitation.refresh_from_db()
    assert (person.attended, invitation.attended) == (True, False)


def test_a_participant_may_not_record_attendance(client, county):
    case, meeting, invitation = called(county)
    services.record_answer(invitation, actor=county.bob, answer=Invitation.Answer.ACCEPTED)
    held(meeting)
    client.force_login(county.bob)
    response = client.post(
        url("record_attendance", case, meeting), attendance_data(meeting, [invitation])
    )
    assert response.status_code == 403
    invitation.refresh_from_db()
    assert invitation.attended is None


# --- The case page ------------------------------------------------------------------------------


def test_an_invitation_of_an_organisation_whose_consent_was_revoked_is_marked(client, county):
    case, meeting, _invitation = called(county)
    services.revoke_consent(
        case, actor=county.alice, expected_version=case.lock_version, organisations=[county.kommun]
    )
    client.force_login(county.alice)
    page = client.get(url("case_detail", case)).content.decode()
    rows = re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", page, re.S)
    hemtjanst = next(row for row in rows if "Hemtjänst Norr" in row and "data-label" in row)
    vardcentral = next(row for row in rows if "Vårdcentral Centrum" in row and "data-label" in row)
    assert 'data-testid="consent-revoked"' in hemtjanst
    assert 'data-testid="consent-revoked"' not in vardcentral


def test_the_invitations_table_stacks_on_narrow_screens(client, county):
    case, _meeting, _invitation = called(county)
    client.force_login(county.alice)
    page = client.get(url("case_detail", case)).content.decode()
    table = re.search(r'<table class="govuk-table samplan-table--stack">.*?</table>', page, re.S)
    assert table
    cells = re.findall(r'<td class="govuk-table__cell"([^>]*)>', table.group(0))
    assert cells and all("data-label=" in cell for cell in cells)


def count_queries(client, page_url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page_url)
    assert response.status_code == 200
    return len(queries)


def test_the_case_page_makes_the_same_queries_for_one_meeting_or_many(client, county):
    one, _meeting, answered = called(county)
    many, meeting, _invitation = called(county)
    relatives = [related_party_of(many) for _ in range(3)]
    for _ in range(3):
        services.cancel_meeting(
            meeting, actor=county.alice, expected_version=many.lock_version, reason="Sjuk"
        )
        services.update_preparation(
            many,
            actor=county.alice,
            expected_version=Preparation.objects.get(case=many).lock_version,
            values={},
            invited_related_parties=relatives,
        )
        meeting = services.call_meeting(
            many,
            actor=county.alice,
            expected_version=many.lock_version,
            call=services.MeetingCall(
                starts_at=future(8),
                duration_minutes=45,
                place="Hemma",
                units=[county.vardcentral, county.hemtjanst],
                related_parties=relatives,
            ),
        )
    services.record_answer(
        meeting.invitations.get(unit=county.hemtjanst),
        actor=county.bob,
        answer=Invitation.Answer.ACCEPTED,
    )
    assert many.meetings.count() == 4
    # The one-meeting case has an answer too: who recorded it is loaded for any number of them.
    services.record_answer(answered, actor=county.bob, answer=Invitation.Answer.ACCEPTED)
    client.force_login(county.alice)
    client.get(url("case_detail", one))
    assert count_queries(client, url("case_detail", many)) == count_queries(
        client, url("case_detail", one)
    )
    # The same for the meeting page, whatever the number of invitations.
    assert count_queries(client, url("meeting_detail", many, meeting)) == count_queries(
        client, url("meeting_detail", one, one.meetings.get())
    )


# --- Rules of the services behind these pages ---------------------------------------------------


def test_only_the_meeting_now_called_can_be_moved_or_cancelled(county):
    case, follow_up, _invitation = called(county, State.FOLLOW_UP)
    sip_meeting = case.meetings.get(kind=Meeting.Kind.SIP)
    sip_meeting.case = case
    with pytest.raises(DomainError) as caught:
        services.move_meeting(
            sip_meeting,
            actor=county.alice,
            expected_sequence=0,
            starts_at=future(5),
            duration_minutes=30,
            place="Hemma",
        )
    assert caught.value.code == "not_current_meeting"
    assert_bilingual(caught.value)
    services.cancel_meeting(
        follow_up, actor=county.alice, expected_version=case.lock_version, reason="Sjuk"
    )
    with pytest.raises(DomainError):  # a cancelled meeting is not cancelled twice
        services.cancel_meeting(
            follow_up, actor=county.alice, expected_version=case.lock_version, reason="Igen"
        )
    follow_up.refresh_from_db()
    assert follow_up.cancellation_reason == "Sjuk"


def test_a_cancelled_meeting_takes_no_answers(county):
    """The SIP meeting was cancelled and a new one called: the cancelled one takes no answers."""
    case, meeting, invitation = called(county)
    services.cancel_meeting(
        meeting, actor=county.alice, expected_version=case.lock_version, reason="x"
    )
    services.call_meeting(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=future(5), duration_minutes=30, place="Hemma", units=[county.hemtjanst]
        ),
    )
    with pytest.raises(DomainError) as caught:
        services.record_answer(invitation, actor=county.bob, answer=Invitation.Answer.ACCEPTED)
    assert (caught.value.code, caught.value.field) == ("cancelled", "answer")
    assert_bilingual(caught.value)
    invitation.refresh_from_db()
    assert invitation.answer == Invitation.Answer.NO_ANSWER


def test_a_meeting_with_attendance_recorded_was_held_and_is_not_moved(county):
    case, meeting, invitation = called(county)
    services.record_answer(invitation, actor=county.bob, answer=Invitation.Answer.ACCEPTED)
    held(meeting)
    meeting.case = case
    services.record_attendance(meeting, actor=county.alice, attended={invitation.pk: True})
    with pytest.raises(DomainError) as caught:
        services.move_meeting(
            meeting,
            actor=county.alice,
            expected_sequence=meeting.sequence,
            starts_at=future(5),
            duration_minutes=30,
            place="Hemma",
        )
    assert caught.value.code == "meeting_held"
    assert CaseEvent.objects.filter(case=case, action="move_meeting").count() == 0
