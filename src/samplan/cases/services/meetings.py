"""Kallelse: calling the meeting, answers to each invitation, attendance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from samplan.access.services import active_unit_ids
from samplan.directory.models import Unit
from samplan.errors import DomainError, PermissionRefused
from samplan.people.models import RelatedParty

from ..models import (
    Consent,
    ConsentScope,
    Invitation,
    Meeting,
    Participant,
    SipCase,
)
from ..rules import drives_case
from ._core import (
    _Change,
    _changing,
    _raise_all,
    _required,
)
from .preparation import _check_own_parties


@dataclass
class MeetingCall:
    starts_at: dt.datetime | None
    duration_minutes: int | None
    place: str = ""
    video_link: str = ""
    honoured_preferences: str = ""
    units: Sequence[Unit] = ()
    related_parties: Sequence[RelatedParty] = ()
    invite_person: bool = True


def _covered_organisation_ids(case: SipCase) -> set[int]:
    return set(
        ConsentScope.objects.filter(
            consent__case=case,
            consent__decision=Consent.Decision.GIVEN,
            consent__revoked_at__isnull=True,
            revoked_at__isnull=True,
        )
        .filter(
            Q(consent__valid_until__isnull=True) | Q(consent__valid_until__gte=timezone.localdate())
        )
        .values_list("organisation_id", flat=True)
    )


def _create_meeting(change: _Change, actor, call: MeetingCall, kind: str) -> Meeting:
    case = change.case
    problems: list[DomainError | None] = [
        _required(call.starts_at, "starts_at", "när mötet börjar", "when the meeting starts"),
        _required(
            call.duration_minutes, "duration_minutes", "mötets längd", "the length of the meeting"
        ),
        _required(list(call.units), "units", "vilka enheter som kallas", "which units are called"),
    ]
    if not (call.place or call.video_link):
        problems.append(
            DomainError(
                "Ange plats eller videolänk.",
                "Enter a place or a video link.",
                "place",
                code="required",
            )
        )
    if call.starts_at and call.starts_at <= timezone.now():
        problems.append(
            DomainError(
                "Mötestiden har redan passerat. Välj en tid framåt, så att alla hinner "
                "förbereda sig.",
                "The meeting time has already passed. Choose a time ahead, so that everyone has "
                "time to prepare.",
                "starts_at",
                code="past",
            )
        )
    preference = getattr(getattr(case, "preparation", None), "max_length_minutes", None)
    if call.duration_minutes and preference and call.duration_minutes > preference:
        problems.append(
            DomainError(
                f"Personen orkar högst {preference} minuter. Korta mötet eller planera en paus "
                "och dela upp det.",
                f"The person can manage at most {preference} minutes. Shorten the meeting or split "
                "it with a break.",
                "duration_minutes",
                code="longer_than_preferred",
            )
        )
    covered = _covered_organisation_ids(case)
    outside = [unit.name for unit in call.units if unit.organisation_id not in covered]
    if outside:
        names = ", ".join(outside)
        problems.append(
            DomainError(
                f"Samtycket omfattar inte: {names}. Personen behöver samtycka innan de kallas.",
                f"The consent does not cover: {names}. The person must consent before they are "
                "called.",
                "units",
                code="not_in_consent",
            )
        )
    _raise_all(problems)
    _check_own_parties(case.person, call.related_parties)
    preparation = getattr(case, "preparation", None)
    if preparation is not None:
        chosen = set(preparation.invited_related_parties.values_list("pk", flat=True))
        not_chosen = [party.name for party in call.related_parties if party.pk not in chosen]
        if not_chosen:
            names = ", ".join(not_chosen)
            raise DomainError(
                f"Personen har inte valt att bjuda in: {names}. Den enskilde bestämmer vilka "
                "närstående som kallas.",
                f"The person has not chosen to invite: {names}. The person decides which "
                "relatives are called.",
                "related_parties",
                code="not_chosen_by_person",
            )

    meeting = Meeting.objects.create(
        case=case,
        kind=kind,
        starts_at=call.starts_at,
        duration_minutes=call.duration_minutes,
        place=call.place,
        video_link=call.video_link,
        honoured_preferences=call.honoured_preferences,
        called_by=actor,
    )
    invitations = [Invitation(meeting=meeting, unit=unit) for unit in dict.fromkeys(call.units)]
    invitations += [
        Invitation(meeting=meeting, related_party=party)
        for party in dict.fromkeys(call.related_parties)
    ]
    if call.invite_person:
        invitations.append(Invitation(meeting=meeting, is_person=True))
    Invitation.objects.bulk_create(invitations)
    existing = set(case.participants.values_list("unit_id", flat=True))
    Participant.objects.bulk_create(
        Participant(case=case, unit=unit)
        for unit in dict.fromkeys(call.units)
        if unit.pk not in existing
    )
    return meeting


def call_meeting(
    case: SipCase, *, actor, expected_version: int | None, call: MeetingCall
) -> Meeting:
    """Kallelse: every invited unit must be covered by the consent; a called party must come."""
    with _changing(case, "call_meeting", actor, expected_version, what="meeting") as change:
        meeting = _create_meeting(change, actor, call, Meeting.Kind.SIP)
    return meeting


def record_answer(invitation: Invitation, *, actor, answer: str, decline_reason: str = ""):
    """A unit answers its own call; the coordinator records the answers of everyone else (the
    person, relatives, units that answered by phone)."""
    case = invitation.meeting.case
    with _changing(case, "record_answer", actor, None, what="invitation") as change:
        own_unit = invitation.unit_id in active_unit_ids(actor)
        if not own_unit and not drives_case(actor, change.case):
            raise PermissionRefused(
                "Du kan bara svara på kallelsen till din egen enhet. SIP-ansvarig registrerar "
                "övriga svar.",
                "You can only answer the call to your own unit. The SIP coordinator records "
                "the other answers.",
                "answer",
            )
        if answer not in Invitation.Answer.values:
            raise DomainError(
                "Välj ett svar: accepterar eller avböjer.",
                "Choose an answer: accepts or declines.",
                "answer",
                code="invalid_choice",
            )
        if answer == Invitation.Answer.DECLINED and not decline_reason.strip():
            raise DomainError(
                "Ange skälet till att kallelsen avböjs. Den som kallas är skyldig att delta.",
                "Give the reason for declining. A called party is obliged to attend.",
                "decline_reason",
                code="reason_required",
            )
        invitation.answer = answer
        invitation.decline_reason = decline_reason if answer == Invitation.Answer.DECLINED else ""
        invitation.answered_at = timezone.now()
        invitation.save(update_fields=["answer", "decline_reason", "answered_at"])
    return invitation


def record_attendance(meeting: Meeting, *, actor, attended: dict[int, bool]) -> None:
    """After the meeting: who came. Keys are invitation ids."""
    with _changing(meeting.case, "record_answer", actor, None, what="attendance"):
        if meeting.starts_at > timezone.now():
            raise DomainError(
                "Närvaro kan registreras först när mötet har börjat.",
                "Attendance can be recorded only once the meeting has started.",
                "attended",
                code="future_meeting",
            )
        for invitation in meeting.invitations.filter(pk__in=attended):
            invitation.attended = attended[invitation.pk]
            invitation.save(update_fields=["attended"])
