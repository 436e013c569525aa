"""Kallelse: calling the meeting, answers to each invitation, moving or cancelling it, and
attendance (närvaro). A called party is obliged to attend, so every answer is kept and who has
not answered shows."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db.models import F, Q
from django.utils import timezone

from samplan.access.services import active_unit_ids
from samplan.directory.models import Unit
from samplan.errors import DomainError, PermissionRefused, StaleEdit
from samplan.mail import calls as mail_calls
from samplan.people.models import RelatedParty

from ..models import (
    Consent,
    ConsentScope,
    Invitation,
    Meeting,
    Participant,
    Preparation,
    SipCase,
    State,
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


def covered_organisation_ids(case: SipCase) -> set[int]:
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


def _time_and_place_problems(
    case: SipCase,
    starts_at: dt.datetime | None,
    duration_minutes: int | None,
    place: str,
    video_link: str,
) -> list[DomainError | None]:
    """What calling and moving a meeting both check: a time ahead, a length the person can
    manage, and somewhere to meet."""
    problems: list[DomainError | None] = [
        _required(starts_at, "starts_at", "när mötet börjar", "when the meeting starts"),
        _required(
            duration_minutes, "duration_minutes", "mötets längd", "the length of the meeting"
        ),
    ]
    if not (place or video_link):
        problems.append(
            DomainError(
                "Ange plats eller videolänk.",
                "Enter a place or a video link.",
                "place",
                code="required",
            )
        )
    if starts_at and starts_at <= timezone.now():
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
    if duration_minutes and preference and duration_minutes > preference:
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
    return problems


def _create_meeting(change: _Change, actor, call: MeetingCall, kind: str) -> Meeting:
    case = change.case
    problems = _time_and_place_problems(
        case, call.starts_at, call.duration_minutes, call.place, call.video_link
    )
    problems.append(
        _required(list(call.units), "units", "vilka enheter som kallas", "which units are called")
    )
    covered = covered_organisation_ids(case)
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
    _check_own_parties(case, call.related_parties)
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
    change.note = _when(meeting.starts_at)
    mail_calls.meeting_changed(meeting)
    return meeting


def _when(moment: dt.datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def call_meeting(
    case: SipCase, *, actor, expected_version: int | None, call: MeetingCall
) -> Meeting:
    """Kallelse: every invited unit must be covered by the consent; a called party must come."""
    with _changing(case, "call_meeting", actor, expected_version, what="meeting") as change:
        meeting = _create_meeting(change, actor, call, Meeting.Kind.SIP)
    return meeting


# --- Preferences a call goes against ------------------------------------------------------------

# The time of day the person prefers is free text ("förmiddagar", "inte före 10"). These
# keywords, matched case-insensitively, name a part of the day (local time, start inclusive,
# end exclusive); a meeting starting outside every part the text names gets a warning. Text
# naming none of them gives no warning: the coordinator reads it.
TIME_OF_DAY_WORDS: tuple[tuple[str, int, int, str, str], ...] = (
    (r"förmiddag|morgon|morning|\bfm\b", 6, 12, "förmiddag", "morning"),
    (r"eftermiddag|afternoon|\bem\b", 12, 17, "eftermiddag", "afternoon"),
    (r"kväll|evening", 17, 22, "kväll", "evening"),
)


def _parts_of_day(preferred: str) -> list[tuple[int, int]]:
    text = preferred.casefold()
    return [(start, end) for words, start, end, *_ in TIME_OF_DAY_WORDS if re.search(words, text)]


def _part_of_day_name(hour: int) -> tuple[str, str]:
    for _words, start, end, sv, en in TIME_OF_DAY_WORDS:
        if start <= hour < end:
            return sv, en
    return "natt", "night"


def preference_warnings(
    preparation: Preparation | None,
    *,
    starts_at: dt.datetime | None = None,
    duration_minutes: int | None = None,
    place: str = "",
    video_link: str = "",
) -> list[DomainError]:
    """Where a meeting goes against the person's meeting preferences, each tied to its field
    (starts_time, duration_minutes, place, honoured_preferences). Warnings do not stop a call,
    except a length above the longest, which the call refuses as an error as well."""
    if preparation is None:
        return []
    warnings = []
    preferred_place = preparation.preferred_place.strip()
    if preferred_place and (place or video_link) and not _same_place(place, preferred_place):
        warnings.append(
            DomainError(
                f"Personen vill helst ses här: {preferred_place}.",
                f"The person would rather meet here: {preferred_place}.",
                "place",
                code="place_not_preferred",
            )
        )
    longest = preparation.max_length_minutes
    if duration_minutes and longest and duration_minutes > longest:
        warnings.append(
            DomainError(
                f"Personen orkar högst {longest} minuter.",
                f"The person can manage at most {longest} minutes.",
                "duration_minutes",
                code="longer_than_preferred",
            )
        )
    preferred_time = preparation.preferred_time_of_day.strip()
    parts = _parts_of_day(preferred_time)
    if starts_at and parts:
        local = timezone.localtime(starts_at)
        if not any(start <= local.hour < end for start, end in parts):
            sv, en = _part_of_day_name(local.hour)
            warnings.append(
                DomainError(
                    f"Personens bästa tid på dagen: {preferred_time}. {local:%H:%M} är {sv}.",
                    f"The person's best time of day: {preferred_time}. {local:%H:%M} is {en}.",
                    "starts_time",
                    code="time_not_preferred",
                )
            )
    support_sv, support_en = support_needs(preparation)
    if support_sv:
        warnings.append(
            DomainError(
                f"Kom ihåg att ordna: {', '.join(support_sv)}.",
                f"Remember to arrange: {', '.join(support_en)}.",
                "honoured_preferences",
                code="support_needed",
            )
        )
    return warnings


def _same_place(place: str, preferred: str) -> bool:
    """ "Biblioteket" and "Stadsbiblioteket, rum 2" are the same place; a video meeting is not."""
    place, preferred = place.strip().casefold(), preferred.casefold()
    return bool(place) and (preferred in place or place in preferred)


def support_needs(preparation: Preparation) -> tuple[list[str], list[str]]:
    """The support the person needs at the meeting, in Swedish and in English."""
    sv, en = [], []
    if preparation.interpreter_language:
        sv.append(f"tolk ({preparation.interpreter_language})")
        en.append(f"an interpreter ({preparation.interpreter_language})")
    if preparation.sign_language:
        sv.append("teckenspråkstolk")
        en.append("a sign language interpreter")
    if preparation.picture_support:
        sv.append("bildstöd")
        en.append("picture support (bildstöd)")
    if preparation.assistant:
        sv.append("assistent")
        en.append("an assistant")
    return sv, en


# --- Answers, moving, cancelling, attendance ----------------------------------------------------


def _check_sequence(meeting: Meeting, expected_sequence: int | None) -> None:
    if expected_sequence is not None and meeting.sequence != expected_sequence:
        raise StaleEdit(current=meeting)


def _locked_meeting(meeting: Meeting, case: SipCase) -> Meeting:
    locked = Meeting.objects.select_for_update().get(pk=meeting.pk, case=case)
    locked.case = case
    return locked


def _not_cancelled(meeting: Meeting) -> None:
    if meeting.cancelled_at is not None:
        raise DomainError(
            "Mötet är inställt.",
            "The meeting is cancelled.",
            "",
            code="cancelled",
        )


def meeting_now_called(case: SipCase, meetings: Iterable[Meeting]) -> Meeting | None:
    """The meeting the case waits for, among meetings already loaded: the SIP meeting last
    called while a meeting is called, the follow-up meeting last called during follow-up, none
    in any other state. Only this meeting is moved, cancelled or answered."""
    kinds = {State.MEETING_CALLED: Meeting.Kind.SIP, State.FOLLOW_UP: Meeting.Kind.FOLLOW_UP}
    kind = kinds.get(case.state)
    called = [m for m in meetings if m.kind == kind and m.cancelled_at is None]
    return max(called, key=lambda meeting: meeting.pk, default=None)


def why_answering_is_closed(
    case: SipCase,
    meeting: Meeting,
    *,
    now_called: Meeting | None,
    invitations: Iterable[Invitation],
) -> DomainError | None:
    """Why the call to `meeting` takes no more answers, or None while it does. An answer is
    given to the meeting the case waits for, before it starts: afterwards attendance tells who
    came, and an answer changed then would contradict it. `invitations` are the meeting's."""
    if meeting.cancelled_at is not None:
        return DomainError(
            "Mötet är inställt och tar inte emot fler svar.",
            "The meeting is cancelled and takes no more answers.",
            "answer",
            code="cancelled",
        )
    if now_called is None or now_called.pk != meeting.pk:
        return DomainError(
            "Det här mötet är inte det som nu är kallat. Svar registreras bara för det möte "
            "SIP:en väntar på.",
            "This is not the meeting now called. Answers are recorded only for the meeting "
            "the SIP is waiting for.",
            "answer",
            code="not_current_meeting",
        )
    if any(invitation.attended is not None for invitation in invitations):
        return DomainError(
            "Närvaro är registrerad för mötet. Svaren kan inte längre ändras.",
            "Attendance is recorded for the meeting. The answers can no longer change.",
            "answer",
            code="meeting_held",
        )
    if meeting.starts_at <= timezone.now():
        return DomainError(
            "Mötet har redan börjat. Svaren kan inte längre ändras; registrera i stället vilka "
            "som kom.",
            "The meeting has already started. The answers can no longer change; record who "
            "came instead.",
            "answer",
            code="meeting_started",
        )
    return None


def _the_meeting_now_called(meeting: Meeting, case: SipCase) -> None:
    """Moving or cancelling concerns the meeting the case waits for: the SIP meeting while a
    meeting is called, the follow-up meeting during follow-up; never an earlier one."""
    _not_cancelled(meeting)
    now_called = meeting_now_called(case, case.meetings.filter(cancelled_at__isnull=True))
    if now_called is None or now_called.pk != meeting.pk:
        raise DomainError(
            "Bara det möte som nu är kallat kan flyttas eller ställas in.",
            "Only the meeting now called can be moved or cancelled.",
            "",
            code="not_current_meeting",
        )
    if meeting.invitations.filter(attended=True).exists():
        raise DomainError(
            "Närvaro är registrerad: mötet har hållits och kan inte flyttas eller ställas in.",
            "Attendance is recorded: the meeting was held and cannot be moved or cancelled.",
            "",
            code="meeting_held",
        )


def record_answer(
    invitation: Invitation,
    *,
    actor,
    answer: str,
    decline_reason: str = "",
    expected_version: int | None = None,
    expected_sequence: int | None = None,
):
    """A unit answers its own call; the coordinator records the answers of everyone else (the
    person, relatives, units that answered by phone). Only the meeting the case waits for takes
    answers, and only before it starts (`why_answering_is_closed`). `expected_version` is the
    invitation's lock_version the form showed: an answer recorded meanwhile, by the unit or the
    coordinator, is not overwritten unseen. `expected_sequence` is the meeting's sequence: an
    answer to a time that has since moved is refused."""
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
        meeting = _locked_meeting(invitation.meeting, change.case)
        _check_sequence(meeting, expected_sequence)
        invitations = list(meeting.invitations.all())
        stored = next(i for i in invitations if i.pk == invitation.pk)
        if expected_version is not None and stored.lock_version != expected_version:
            raise StaleEdit(current=stored)
        closed = why_answering_is_closed(
            change.case,
            meeting,
            now_called=meeting_now_called(change.case, change.case.meetings.all()),
            invitations=invitations,
        )
        if closed is not None:
            raise closed
        if answer not in (Invitation.Answer.ACCEPTED, Invitation.Answer.DECLINED):
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
        invitation.decline_reason = (
            decline_reason.strip() if answer == Invitation.Answer.DECLINED else ""
        )
        invitation.answered_at = timezone.now()
        invitation.answered_by = actor
        invitation.lock_version = stored.lock_version + 1
        invitation.save(
            update_fields=[
                "answer",
                "decline_reason",
                "answered_at",
                "answered_by",
                "lock_version",
            ]
        )
        change.note = _invitee(invitation, change.case)
    return invitation


def _invitee(invitation: Invitation, case: SipCase) -> str:
    if invitation.unit_id:
        return invitation.unit.name
    if invitation.related_party_id:
        return invitation.related_party.name
    return case.person.full_name


def move_meeting(
    meeting: Meeting,
    *,
    actor,
    expected_sequence: int,
    starts_at: dt.datetime | None,
    duration_minutes: int | None,
    place: str = "",
    video_link: str = "",
) -> Meeting:
    """Flytta mötet: the same meeting at a new time or place, with a higher sequence (as an
    iCalendar update). Everyone stays invited, but every answer is reset to "no answer": an
    answer was given to the old time, so each party confirms the new one (RFC 5546 resets a
    participant's status when the organiser changes the time in the same way). An attendance
    where nobody came is cleared too: it was the old time's."""
    with _changing(meeting.case, "move_meeting", actor, None, what="meeting") as change:
        locked = _locked_meeting(meeting, change.case)
        _check_sequence(locked, expected_sequence)
        _the_meeting_now_called(locked, change.case)
        _raise_all(
            _time_and_place_problems(change.case, starts_at, duration_minutes, place, video_link)
        )
        was = _when(locked.starts_at)
        locked.starts_at = starts_at
        locked.duration_minutes = duration_minutes
        locked.place = place
        locked.video_link = video_link
        locked.sequence += 1
        locked.save(
            update_fields=["starts_at", "duration_minutes", "place", "video_link", "sequence"]
        )
        locked.invitations.update(
            answer=Invitation.Answer.NO_ANSWER,
            decline_reason="",
            answered_at=None,
            answered_by=None,
            attended=None,
            lock_version=F("lock_version") + 1,
        )
        change.note = f"{was} → {_when(locked.starts_at)}"
        mail_calls.meeting_changed(locked)
    return locked


def cancel_meeting(meeting: Meeting, *, actor, expected_version: int | None, reason: str):
    """Ställ in mötet, with a reason. A cancelled SIP meeting takes the case back to preparation,
    a cancelled follow-up meeting back to the established plan; the meeting stays on record."""
    action = "cancel_follow_up" if meeting.kind == Meeting.Kind.FOLLOW_UP else "cancel_meeting"
    with _changing(meeting.case, action, actor, expected_version, what="meeting") as change:
        locked = _locked_meeting(meeting, change.case)
        _the_meeting_now_called(locked, change.case)
        _raise_all(
            [_required(reason.strip(), "reason", "varför mötet ställs in", "why it is cancelled")]
        )
        locked.cancelled_at = timezone.now()
        locked.cancellation_reason = reason.strip()
        # A cancellation is a change of the calendar event (RFC 5546): a higher sequence.
        locked.sequence += 1
        locked.save(update_fields=["cancelled_at", "cancellation_reason", "sequence"])
        change.note = _when(locked.starts_at)
        mail_calls.meeting_changed(locked)
    return locked


def record_attendance(
    meeting: Meeting,
    *,
    actor,
    attended: dict[int, bool],
    came_without_answer: Collection[int] = (),
    expected_sequence: int | None = None,
    expected_versions: Mapping[int, int] | None = None,
) -> None:
    """Närvaro, once the meeting has started. Keys are invitation ids. A party is marked present
    if it accepted the call, or, when it never answered, if the coordinator confirms it came
    without answering (`came_without_answer`). A party that declined is not marked present: if
    it came after all, its answer is changed to accepted first, so the record stays true.
    `expected_versions` holds the lock_version the form showed for each invitation: attendance
    or an answer recorded meanwhile is not overwritten unseen."""
    with _changing(meeting.case, "record_attendance", actor, None, what="attendance") as change:
        locked = _locked_meeting(meeting, change.case)
        _check_sequence(locked, expected_sequence)
        _not_cancelled(locked)
        if locked.starts_at > timezone.now():
            raise DomainError(
                "Närvaro kan registreras först när mötet har börjat.",
                "Attendance can be recorded only once the meeting has started.",
                "attended",
                code="future_meeting",
            )
        invitations = list(
            locked.invitations.filter(pk__in=attended).select_related("unit", "related_party")
        )
        if expected_versions is not None and any(
            expected_versions.get(invitation.pk) != invitation.lock_version
            for invitation in invitations
        ):
            raise StaleEdit(current=locked)
        problems = []
        for invitation in invitations:
            if not attended[invitation.pk]:
                continue
            name = _invitee(invitation, change.case)
            if invitation.answer == Invitation.Answer.DECLINED:
                problems.append(
                    DomainError(
                        f"{name} har avböjt kallelsen och kan inte markeras som närvarande. "
                        "Kom de ändå? Ändra först svaret till att de accepterar.",
                        f"{name} declined the call and cannot be marked present. Did they come "
                        "after all? First change their answer to accepted.",
                        f"attended_{invitation.pk}",
                        code="declined_not_present",
                    )
                )
            elif (
                invitation.answer == Invitation.Answer.NO_ANSWER
                and invitation.pk not in came_without_answer
            ):
                problems.append(
                    DomainError(
                        f"{name} har inte svarat på kallelsen. Kryssa i ”kom utan att svara” "
                        "för att markera dem som närvarande.",
                        f"{name} has not answered the call. Tick “came without answering” to "
                        "mark them present.",
                        f"attended_{invitation.pk}",
                        code="unanswered_not_present",
                    )
                )
        _raise_all(problems)
        for invitation in invitations:
            invitation.attended = attended[invitation.pk]
            invitation.lock_version += 1
        Invitation.objects.bulk_update(invitations, ["attended", "lock_version"])
        change.note = _when(locked.starts_at)
