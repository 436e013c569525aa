"""Calling the SIP meeting (kallelse): time ahead, within the person's limits, only parties the
consent covers; one invitation per invited party; answers and attendance."""

import datetime as dt

import pytest
from django.utils import timezone

from samplan.cases import services
from samplan.cases.models import Invitation, Meeting, Participant, Preparation, State
from samplan.errors import DomainError, PermissionRefused, StaleEdit
from tests.domain_helpers import assert_bilingual, error_fields, snapshot
from tests.factories import (
    RelatedPartyFactory,
    case_in_state,
    future,
    related_party_of,
    staff,
)


def call(county, **overrides) -> services.MeetingCall:
    values = dict(
        starts_at=future(),
        duration_minutes=45,
        place="Vårdcentralen, rum 3",
        units=[county.vardcentral, county.hemtjanst],
    )
    values.update(overrides)
    return services.MeetingCall(**values)


def refused_call(case, county, **overrides) -> DomainError:
    before = snapshot(case)
    with pytest.raises(DomainError) as caught:
        services.call_meeting(
            case,
            actor=county.alice,
            expected_version=case.lock_version,
            call=call(county, **overrides),
        )
    assert snapshot(case) == before
    assert not Meeting.objects.filter(case=case).exists()
    assert_bilingual(caught.value)
    return caught.value


@pytest.fixture
def preparing(county):
    return case_in_state(county, State.PREPARATION)


def prefer_at_most(case, county, minutes):
    preparation = case.preparation
    services.update_preparation(
        case,
        actor=county.alice,
        expected_version=preparation.lock_version,
        values={"max_length_minutes": minutes, "picture_support": True},
    )


@pytest.mark.django_db
def test_meeting_in_the_past_is_refused(county, preparing):
    error = refused_call(preparing, county, starts_at=timezone.now() - dt.timedelta(minutes=5))
    assert error_fields(error) == ["starts_at"]
    assert error.code == "past"


@pytest.mark.django_db
def test_meeting_without_time_length_units_or_place_names_each_missing_part(county, preparing):
    error = refused_call(
        preparing, county, starts_at=None, duration_minutes=None, units=[], place=""
    )
    assert sorted(error_fields(error)) == ["duration_minutes", "place", "starts_at", "units"]


@pytest.mark.django_db
def test_a_video_link_can_replace_the_place(county, preparing):
    meeting = services.call_meeting(
        preparing,
        actor=county.alice,
        expected_version=preparing.lock_version,
        call=call(county, place="", video_link="https://video.example.se/sip-42"),
    )
    assert meeting.video_link == "https://video.example.se/sip-42"


@pytest.mark.django_db
def test_meeting_longer_than_the_person_can_manage_is_refused(county, preparing):
    prefer_at_most(preparing, county, 40)
    error = refused_call(preparing, county, duration_minutes=41)
    assert error_fields(error) == ["duration_minutes"]
    assert "40" in error.sv and "40" in error.en
    meeting = services.call_meeting(
        preparing,
        actor=county.alice,
        expected_version=preparing.lock_version,
        call=call(county, duration_minutes=40),
    )
    assert meeting.duration_minutes == 40


@pytest.mark.django_db
def test_preferred_length_outside_reason_is_refused(county, preparing):
    with pytest.raises(DomainError) as caught:
        prefer_at_most(preparing, county, 5)
    assert caught.value.field == "max_length_minutes"


@pytest.mark.django_db
def test_units_the_consent_does_not_cover_are_not_called(county, preparing):
    error = refused_call(preparing, county, units=[county.hemtjanst, county.elsewhere])
    assert error_fields(error) == ["units"]
    assert "Socialtjänst Annanby" in error.sv
    assert "Socialtjänst Annanby" in error.en
    assert "Hemtjänst Norr" not in error.en
    assert not Participant.objects.filter(case=preparing, unit=county.elsewhere).exists()


@pytest.mark.django_db
def choose_invitees(county, case, parties):
    services.update_preparation(
        case,
        actor=county.alice,
        expected_version=case.preparation.lock_version,
        values={},
        invited_related_parties=parties,
    )


def test_a_relative_the_person_did_not_choose_is_not_called(county, preparing):
    chosen = related_party_of(preparing, name="Eva")
    grandfather = related_party_of(preparing, name="Morfar Gösta")
    choose_invitees(county, preparing, [chosen])
    with pytest.raises(DomainError) as refused:
        services.call_meeting(
            preparing,
            actor=county.alice,
            expected_version=preparing.lock_version,
            call=call(county, related_parties=[chosen, grandfather]),
        )
    assert refused.value.field == "related_parties"
    assert "Morfar Gösta" in refused.value.sv and "Morfar Gösta" in refused.value.en
    assert not preparing.meetings.exists()


def test_one_invitation_per_unit_related_party_and_the_person(county, preparing):
    daughter = related_party_of(preparing, name="Eva")
    god_man = related_party_of(preparing, name="Gustav", kind="god_man")
    choose_invitees(county, preparing, [daughter, god_man])
    meeting = services.call_meeting(
        preparing,
        actor=county.alice,
        expected_version=preparing.lock_version,
        call=call(
            county,
            units=[county.vardcentral, county.hemtjanst, county.hemtjanst],
            related_parties=[daughter, god_man],
        ),
    )
    invitations = meeting.invitations.all()
    assert sorted(i.unit_id for i in invitations if i.unit_id) == sorted(
        [county.vardcentral.pk, county.hemtjanst.pk]
    )
    assert sorted(i.related_party_id for i in invitations if i.related_party_id) == sorted(
        [daughter.pk, god_man.pk]
    )
    assert [i.is_person for i in invitations].count(True) == 1
    assert len(invitations) == 5
    assert {i.answer for i in invitations} == {Invitation.Answer.NO_ANSWER}
    assert {i.attended for i in invitations} == {None}
    assert meeting.called_by == county.alice
    # The called units take part from now on.
    assert set(preparing.participants.values_list("unit", flat=True)) == {
        county.vardcentral.pk,
        county.hemtjanst.pk,
    }


@pytest.mark.django_db
def test_the_person_need_not_be_invited_by_a_separate_call(county, preparing):
    meeting = services.call_meeting(
        preparing,
        actor=county.alice,
        expected_version=preparing.lock_version,
        call=call(county, invite_person=False),
    )
    assert not meeting.invitations.filter(is_person=True).exists()


@pytest.mark.django_db
def test_someone_elses_relative_cannot_be_invited(county, preparing):
    stranger = RelatedPartyFactory(name="Främling")
    error = refused_call(preparing, county, related_parties=[stranger])
    assert error_fields(error) == ["related_parties"]


@pytest.mark.django_db
def test_a_relative_known_only_in_another_sip_of_the_person_is_not_called(county, preparing):
    other_sip = case_in_state(county, State.CONSENTED, person=preparing.person)
    god_man = related_party_of(other_sip, name="Gode Mannen", kind="god_man")
    error = refused_call(preparing, county, related_parties=[god_man])
    assert error_fields(error) == ["related_parties"]


@pytest.mark.django_db
def test_the_person_chooses_invitees_among_their_own_relatives_only(county, preparing):
    daughter = related_party_of(preparing, name="Eva")
    stranger = RelatedPartyFactory(name="Främling")
    version = preparing.preparation.lock_version
    with pytest.raises(DomainError) as caught:
        services.update_preparation(
            preparing,
            actor=county.alice,
            expected_version=version,
            values={"needs_to_discuss": "Boende"},
            invited_related_parties=[daughter, stranger],
        )
    assert caught.value.field == "related_parties"
    preparation = Preparation.objects.get(case=preparing)
    assert preparation.needs_to_discuss == ""  # the whole edit was undone
    assert preparation.lock_version == version
    assert not preparation.invited_related_parties.exists()
    services.update_preparation(
        preparing,
        actor=county.alice,
        expected_version=version,
        values={"needs_to_discuss": "Boende"},
        invited_related_parties=[daughter],
    )
    assert list(preparing.preparation.invited_related_parties.all()) == [daughter]


# --- Answers and attendance -----------------------------------------------------------------


@pytest.fixture
def called(county):
    case = case_in_state(county, State.MEETING_CALLED)
    meeting = case.meetings.get()
    return case, meeting, meeting.invitations.get(unit=county.hemtjanst)


@pytest.mark.django_db
def test_declining_a_call_needs_a_reason(county, called):
    _case, _meeting, invitation = called
    with pytest.raises(DomainError) as caught:
        services.record_answer(
            invitation, actor=county.bob, answer=Invitation.Answer.DECLINED, decline_reason="  "
        )
    assert caught.value.field == "decline_reason"
    assert_bilingual(caught.value)
    invitation.refresh_from_db()
    assert invitation.answer == Invitation.Answer.NO_ANSWER
    assert invitation.answered_at is None

    services.record_answer(
        invitation,
        actor=county.bob,
        answer=Invitation.Answer.DECLINED,
        decline_reason="Sjuk; ersättare kommer",
    )
    invitation.refresh_from_db()
    assert invitation.answer == Invitation.Answer.DECLINED
    assert invitation.decline_reason == "Sjuk; ersättare kommer"
    assert invitation.answered_at is not None


@pytest.mark.django_db
def test_accepting_clears_an_earlier_decline_reason(county, called):
    _case, _meeting, invitation = called
    services.record_answer(
        invitation, actor=county.bob, answer=Invitation.Answer.DECLINED, decline_reason="Sjuk"
    )
    services.record_answer(invitation, actor=county.bob, answer=Invitation.Answer.ACCEPTED)
    invitation.refresh_from_db()
    assert (invitation.answer, invitation.decline_reason) == (Invitation.Answer.ACCEPTED, "")


@pytest.mark.django_db
def test_unanswered_invitations_can_be_listed(county, called):
    _case, meeting, invitation = called
    services.record_answer(invitation, actor=county.bob, answer=Invitation.Answer.ACCEPTED)
    unanswered = meeting.invitations.filter(answer=Invitation.Answer.NO_ANSWER)
    assert invitation not in unanswered
    assert unanswered.count() == meeting.invitations.count() - 1


@pytest.mark.django_db
def test_attendance_is_recorded_only_once_the_meeting_has_started(county, called):
    _case, meeting, invitation = called
    with pytest.raises(DomainError) as caught:
        services.record_attendance(meeting, actor=county.alice, attended={invitation.pk: True})
    assert caught.value.field == "attended"
    assert caught.value.code == "future_meeting"
    invitation.refresh_from_db()
    assert invitation.attended is None

    Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now() - dt.timedelta(hours=1))
    meeting.refresh_from_db()
    person = meeting.invitations.get(is_person=True)
    services.record_attendance(
        meeting,
        actor=county.alice,
        attended={invitation.pk: False, person.pk: True},
        came_without_answer={person.pk},
    )
    invitation.refresh_from_db()
    person.refresh_from_db()
    assert invitation.attended is False
    assert person.attended is True


@pytest.mark.django_db
def test_attendance_of_another_meetings_invitation_is_ignored(county, called):
    case, meeting, _invitation = called
    other = case_in_state(county, State.MEETING_CALLED)
    foreign = other.meetings.get().invitations.get(unit=county.hemtjanst)
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now() - dt.timedelta(hours=1))
    meeting.refresh_from_db()
    services.record_attendance(meeting, actor=county.alice, attended={foreign.pk: True})
    foreign.refresh_from_db()
    assert foreign.attended is None


def test_a_unit_answers_its_own_call_but_not_another_units(county):
    case = case_in_state(county, State.MEETING_CALLED)
    meeting = case.meetings.get()
    own = meeting.invitations.get(unit=county.hemtjanst)
    services.record_answer(own, actor=county.bob, answer=Invitation.Answer.ACCEPTED)
    own.refresh_from_db()
    assert own.answer == Invitation.Answer.ACCEPTED

    other = meeting.invitations.get(unit=county.vardcentral)
    with pytest.raises(PermissionRefused):
        services.record_answer(other, actor=county.bob, answer=Invitation.Answer.ACCEPTED)
    other.refresh_from_db()
    assert other.answer == Invitation.Answer.NO_ANSWER

    person = meeting.invitations.get(is_person=True)
    services.record_answer(person, actor=county.alice, answer=Invitation.Answer.ACCEPTED)
    person.refresh_from_db()
    assert person.answer == Invitation.Answer.ACCEPTED


def test_units_are_not_called_under_an_expired_consent(county, preparing):
    consent = preparing.current_consent()
    type(consent).objects.filter(pk=consent.pk).update(
        valid_until=timezone.localdate() - dt.timedelta(days=1)
    )
    error = refused_call(preparing, county)
    assert "units" in error_fields(error)


def test_an_answer_must_be_one_of_the_known_answers(county):
    case = case_in_state(county, State.MEETING_CALLED)
    invitation = case.meetings.get().invitations.get(unit=county.vardcentral)
    with pytest.raises(DomainError) as refused:
        services.record_answer(invitation, actor=county.alice, answer="bogus")
    assert refused.value.field == "answer"
    invitation.refresh_from_db()
    assert invitation.answer == Invitation.Answer.NO_ANSWER


def held(meeting) -> Meeting:
    """The meeting as if it began an hour ago (services only call meetings ahead)."""
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now() - dt.timedelta(hours=1))
    meeting.refresh_from_db()
    return meeting


def refused_answer(invitation, actor, **values) -> DomainError:
    """An answer the service refuses; the invitation is left as it was."""
    before = Invitation.objects.filter(pk=invitation.pk).values().get()
    values.setdefault("answer", Invitation.Answer.DECLINED)
    values.setdefault("decline_reason", "Vi kom inte")
    with pytest.raises(DomainError) as caught:
        services.record_answer(Invitation.objects.get(pk=invitation.pk), actor=actor, **values)
    assert Invitation.objects.filter(pk=invitation.pk).values().get() == before
    assert_bilingual(caught.value)
    return caught.value


@pytest.mark.django_db
def test_an_answer_cannot_change_once_the_meeting_has_started(county, called):
    _case, meeting, invitation = called
    held(meeting)
    error = refused_answer(invitation, county.bob)
    assert (error.code, error.field) == ("meeting_started", "answer")


@pytest.mark.django_db
def test_an_answer_cannot_change_once_attendance_is_recorded(county, called):
    case, meeting, invitation = called
    services.record_answer(invitation, actor=county.bob, answer=Invitation.Answer.ACCEPTED)
    held(meeting).case = case
    services.record_attendance(meeting, actor=county.alice, attended={invitation.pk: True})
    error = refused_answer(invitation, county.bob)
    assert (error.code, error.field) == ("meeting_held", "answer")
    # The coordinator, who records the others' answers, is refused as well.
    assert refused_answer(invitation, county.alice).code == "meeting_held"


@pytest.mark.django_db
def test_the_sip_meeting_takes_no_answers_once_a_follow_up_is_called(county):
    case = case_in_state(county, State.FOLLOW_UP)
    earlier = case.meetings.get(kind=Meeting.Kind.SIP).invitations.get(unit=county.hemtjanst)
    error = refused_answer(earlier, county.bob)
    assert (error.code, error.field) == ("not_current_meeting", "answer")
    follow_up = case.meetings.get(kind=Meeting.Kind.FOLLOW_UP)
    services.record_answer(
        follow_up.invitations.get(unit=county.hemtjanst),
        actor=county.bob,
        answer=Invitation.Answer.ACCEPTED,
    )


@pytest.mark.django_db
def test_an_answer_based_on_an_older_version_is_refused_and_the_newer_kept(county, called):
    _case, _meeting, invitation = called
    opened = invitation.lock_version
    services.record_answer(
        Invitation.objects.get(pk=invitation.pk),
        actor=county.bob,
        answer=Invitation.Answer.DECLINED,
        decline_reason="Ingen personal",
        expected_version=opened,
    )
    with pytest.raises(StaleEdit) as caught:
        services.record_answer(
            Invitation.objects.get(pk=invitation.pk),
            actor=county.alice,
            answer=Invitation.Answer.ACCEPTED,
            expected_version=opened,
        )
    assert caught.value.current.answer == Invitation.Answer.DECLINED
    invitation.refresh_from_db()
    assert (invitation.answer, invitation.answered_by) == (Invitation.Answer.DECLINED, county.bob)
    assert invitation.lock_version == opened + 1


@pytest.mark.django_db
def test_attendance_based_on_older_versions_is_refused_and_the_newer_kept(county, called):
    case, meeting, invitation = called
    services.record_answer(invitation, actor=county.bob, answer=Invitation.Answer.ACCEPTED)
    held(meeting).case = case
    opened = dict(meeting.invitations.values_list("pk", "lock_version"))
    carol = staff(county.vardcentral, username="carol")
    services.record_attendance(
        meeting, actor=carol, attended={invitation.pk: True}, expected_versions=opened
    )
    with pytest.raises(StaleEdit):
        services.record_attendance(
            meeting, actor=county.alice, attended={invitation.pk: False}, expected_versions=opened
        )
    invitation.refresh_from_db()
    assert (invitation.attended, invitation.lock_version) == (True, opened[invitation.pk] + 1)
