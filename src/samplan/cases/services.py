"""Every change to a SIP, one named function each.

Each checks the transition table (transitions.py) and the actor's rights (rules.py), refuses a
stale edit, and writes the change, the timeline event and the audit event in one transaction.
Views, the admin, the demo loader and management commands call these; nothing else saves a case.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from samplan.access.models import AuditEvent
from samplan.access.services import acting_unit_for, active_unit_ids, audit
from samplan.directory.models import Assignment, Organisation, Unit
from samplan.errors import DomainError, DomainErrors, PermissionRefused, StaleEdit
from samplan.people.models import Person, RelatedParty

from .models import (
    Attendee,
    CaseEvent,
    Consent,
    ConsentScope,
    Goal,
    Intervention,
    Invitation,
    Meeting,
    Participant,
    PlanVersion,
    Preparation,
    SipCase,
    State,
    approved_version_error,
)
from .rules import drives_case, takes_part_in_case
from .transitions import DRIVE, TRANSITIONS, check_transition

Action = AuditEvent.Action


@dataclass
class _Change:
    case: SipCase
    unit: Unit | None
    note: str = ""
    case_changed: bool = False
    audit_what: str = "sip_case"


def _refuse(actor, action: str) -> PermissionRefused:
    transition = TRANSITIONS[action]
    if transition.who == DRIVE:
        return PermissionRefused(
            f"Bara SIP-ansvarig eller en samordnare vid den samordnande enheten får "
            f"{transition.sv}.",
            f"Only the SIP coordinator or a coordinator of the coordinating unit may "
            f"{transition.en}.",
            "",
        )
    return PermissionRefused(
        f"Din enhet deltar inte i denna SIP, eller samtycket omfattar den inte, så du får inte "
        f"{transition.sv}.",
        f"Your unit does not take part in this SIP, or the consent does not cover it, so you may "
        f"not {transition.en}.",
        "",
    )


@contextmanager
def _changing(
    case: SipCase, action: str, actor, expected_version: int | None, *, what: str = "sip_case"
) -> Iterator[_Change]:
    """Lock the case, check rights, table and version, let the caller change it, then record."""
    try:
        with transaction.atomic():
            locked = (
                SipCase.objects.select_for_update()
                .select_related("person", "coordinating_unit__organisation")
                .get(pk=case.pk)
            )
            transition = TRANSITIONS[action]
            allowed = (
                drives_case(actor, locked)
                if transition.who == DRIVE
                else takes_part_in_case(actor, locked)
            )
            if not allowed:
                raise _refuse(actor, action)
            check_transition(action, locked.state)
            if expected_version is not None and locked.lock_version != expected_version:
                raise StaleEdit(current=locked)
            change = _Change(locked, acting_unit_for(actor, locked), audit_what=what)
            from_state = locked.state
            yield change
            if transition.target is not None and transition.target != from_state:
                locked.state = transition.target
                change.case_changed = True
            if change.case_changed:
                locked.lock_version += 1
                locked.save()
            CaseEvent.objects.create(
                case=locked,
                action=action,
                from_state=from_state,
                to_state=locked.state,
                actor=actor,
                actor_unit=change.unit,
                note=change.note,
            )
            audit(
                actor,
                Action.CHANGE,
                change.audit_what,
                case_id=locked.pk,
                person_id=locked.person_id,
                unit_id=change.unit.pk if change.unit else None,
            )
    except PermissionRefused:
        audit(
            actor,
            Action.CHANGE,
            what,
            case_id=case.pk,
            person_id=case.person_id,
            outcome=AuditEvent.Outcome.REFUSED,
        )
        raise
    case.state = locked.state
    case.lock_version = locked.lock_version
    case.closed_at = locked.closed_at
    case.closing_reason = locked.closing_reason


def _required(value, field: str, sv: str, en: str) -> DomainError | None:
    if value in (None, "", [], ()):
        return DomainError(f"Ange {sv}.", f"Enter {en}.", field, code="required")
    return None


def _raise_all(problems: Sequence[DomainError | None]) -> None:
    found = [problem for problem in problems if problem is not None]
    if len(found) == 1:
        raise found[0]
    if found:
        raise DomainErrors(found)


def _not_in_past(value: dt.date | None, field: str, sv: str, en: str) -> DomainError | None:
    if value is not None and value < timezone.localdate():
        return DomainError(
            f"{sv} ligger i det förflutna. Välj ett datum från och med i dag.",
            f"{en} lies in the past. Choose a date from today on.",
            field,
            code="past",
        )
    return None


def _acts_for_minor(person: Person, given_by: str, field: str) -> DomainError | None:
    if person.is_minor and given_by != Consent.GivenBy.GUARDIAN:
        return DomainError(
            "Personen är under 18 år; vårdnadshavare ska svara. Barnets egna synpunkter "
            "registreras när information ges.",
            "The person is under 18; a guardian must answer. The child's own views are "
            "recorded when information is given.",
            field,
            code="guardian_required",
        )
    return None


# --- Initiative -----------------------------------------------------------------------------


def initiate_case(
    *,
    actor,
    person: Person,
    initiating_unit: Unit,
    coordinating_unit: Unit | None = None,
    coordinator=None,
    initiated_by: str = SipCase.InitiatedBy.STAFF,
    initiator_name: str = "",
    reason: str = "",
    kind: str = SipCase.Kind.STANDARD,
    discharge_notice_at: dt.datetime | None = None,
) -> SipCase:
    """Start a SIP (initiativ). Staff of the initiating unit record it, also when the person or
    a relative asked for it. The meeting-call deadline comes from the coordinating organisation."""
    if initiating_unit.pk not in active_unit_ids(actor):
        audit(
            actor,
            Action.CREATE,
            "sip_case",
            person_id=person.pk,
            outcome=AuditEvent.Outcome.REFUSED,
        )
        raise PermissionRefused(
            "Du har inget uppdrag vid den initierande enheten.",
            "You hold no assignment at the initiating unit.",
            "initiating_unit",
        )
    coordinating_unit = coordinating_unit or initiating_unit
    now = timezone.now()
    problems: list[DomainError | None] = []
    if (
        coordinator is not None
        and not Assignment.objects.active()
        .filter(user=coordinator, unit=coordinating_unit, role=Assignment.Role.COORDINATOR)
        .exists()
    ):
        problems.append(
            DomainError(
                "Den som blir SIP-ansvarig behöver ett uppdrag som samordnare vid den "
                "samordnande enheten.",
                "The SIP coordinator needs an assignment as coordinator at the coordinating unit.",
                "coordinator",
                code="coordinator_assignment",
            )
        )
    if initiated_by != SipCase.InitiatedBy.STAFF:
        problems.append(
            _required(
                initiator_name,
                "initiator_name",
                "namnet på den som tog initiativet",
                "the name of the one who took the initiative",
            )
        )
    if kind == SipCase.Kind.DISCHARGE:
        problems.append(
            _required(
                discharge_notice_at,
                "discharge_notice_at",
                "när meddelandet om utskrivningsklar kom",
                "when the notice of readiness for discharge came",
            )
        )
        if discharge_notice_at and discharge_notice_at > now:
            problems.append(
                DomainError(
                    "Meddelandet om utskrivningsklar kan inte ligga i framtiden.",
                    "The notice of readiness for discharge cannot lie in the future.",
                    "discharge_notice_at",
                    code="future",
                )
            )
    _raise_all(problems)

    organisation = coordinating_unit.organisation
    if kind == SipCase.Kind.DISCHARGE:
        deadline = discharge_notice_at + dt.timedelta(days=organisation.discharge_deadline_days)
    else:
        deadline = now + dt.timedelta(days=organisation.initiative_deadline_days)

    with transaction.atomic():
        case = SipCase.objects.create(
            person=person,
            kind=kind,
            initiated_by=initiated_by,
            initiator_name=initiator_name,
            initiated_by_user=actor,
            initiated_at=now,
            initiating_unit=initiating_unit,
            coordinating_unit=coordinating_unit,
            coordinator=coordinator,
            reason=reason,
            discharge_notice_at=discharge_notice_at,
            call_deadline=deadline,
        )
        Participant.objects.create(
            case=case,
            unit=coordinating_unit,
            role=Participant.Role.COORDINATING,
            chosen_by_person=False,
        )
        if initiating_unit != coordinating_unit:
            Participant.objects.create(case=case, unit=initiating_unit, chosen_by_person=False)
        CaseEvent.objects.create(
            case=case,
            at=now,
            action="initiate",
            to_state=case.state,
            actor=actor,
            actor_unit=initiating_unit,
        )
        audit(
            actor,
            Action.CREATE,
            "sip_case",
            case_id=case.pk,
            person_id=person.pk,
            unit_id=initiating_unit.pk,
        )
    return case


def record_information(
    case: SipCase,
    *,
    actor,
    expected_version: int | None,
    guardians_contacted: bool = False,
    child_views: str = "",
    note: str = "",
) -> SipCase:
    """The person (and for a child, the guardians) have been told what a SIP is."""
    with _changing(case, "record_information", actor, expected_version) as change:
        if change.case.person.is_minor and not guardians_contacted:
            raise DomainError(
                "Personen är under 18 år: vårdnadshavarna ska kontaktas innan SIP:en går vidare.",
                "The person is under 18: the guardians must be contacted before the SIP goes on.",
                "guardians_contacted",
                code="guardians_required",
            )
        now = timezone.now()
        change.case.information_given_at = now
        if guardians_contacted:
            change.case.guardians_contacted_at = now
        change.case.child_views = child_views
        change.note = note
    return case


# --- Consent --------------------------------------------------------------------------------


def _consent_problems(person, method, given_by, given_by_name, documentation):
    return [
        _required(method, "method", "hur svaret gavs", "how the answer was given"),
        _required(given_by_name, "given_by_name", "vem som svarade", "who answered"),
        _acts_for_minor(person, given_by, "given_by"),
        (
            _required(
                documentation,
                "documentation",
                "hur det muntliga svaret dokumenterades",
                "how the oral answer was documented",
            )
            if method == Consent.Method.ORAL
            else None
        ),
    ]


def give_consent(
    case: SipCase,
    *,
    actor,
    expected_version: int | None,
    method: str,
    given_by: str,
    given_by_name: str,
    organisations: Sequence[Organisation],
    information_scope: str,
    valid_until: dt.date | None = None,
    exclusions: str = "",
    documentation: str = "",
) -> Consent:
    """Samtycke: which information, to which organisations, for how long (no end date: until
    the SIP is closed, and the case page says so); how and by whom."""
    with _changing(case, "give_consent", actor, expected_version, what="consent") as change:
        problems = _consent_problems(
            change.case.person, method, given_by, given_by_name, documentation
        )
        problems += [
            _required(
                list(organisations),
                "organisations",
                "vilka organisationer som får utbyta information",
                "which organisations may exchange information",
            ),
            _required(
                information_scope,
                "information_scope",
                "vilken information som omfattas",
                "which information is covered",
            ),
            _not_in_past(valid_until, "valid_until", "Giltighetstiden", "The end of validity"),
        ]
        _raise_all(problems)
        consent = Consent.objects.create(
            case=change.case,
            decision=Consent.Decision.GIVEN,
            method=method,
            given_by=given_by,
            given_by_name=given_by_name,
            information_scope=information_scope,
            exclusions=exclusions,
            documentation=documentation,
            valid_until=valid_until,
            recorded_by=actor,
        )
        ConsentScope.objects.bulk_create(
            ConsentScope(consent=consent, organisation=organisation)
            for organisation in dict.fromkeys(organisations)
        )
    return consent


def decline_consent(
    case: SipCase,
    *,
    actor,
    expected_version: int | None,
    method: str,
    given_by: str,
    given_by_name: str,
    documentation: str = "",
) -> Consent:
    """The person declines a SIP: the case closes, everything recorded stays, care goes on."""
    with _changing(case, "decline_consent", actor, expected_version, what="consent") as change:
        _raise_all(
            _consent_problems(change.case.person, method, given_by, given_by_name, documentation)
        )
        consent = Consent.objects.create(
            case=change.case,
            decision=Consent.Decision.DECLINED,
            method=method,
            given_by=given_by,
            given_by_name=given_by_name,
            documentation=documentation,
            recorded_by=actor,
        )
        _close(change, SipCase.ClosingReason.DECLINED, "")
    return consent


def revoke_consent(
    case: SipCase,
    *,
    actor,
    expected_version: int | None,
    organisations: Sequence[Organisation] = (),
    note: str = "",
) -> Consent:
    """Återkallelse, at any time. With organisations: only they lose access, at once, and the
    case page shows their interventions as ended by revocation. Without: the whole consent ends
    and the SIP closes; nothing recorded is lost."""
    action = "revoke_consent_in_part" if organisations else "revoke_consent"
    with _changing(case, action, actor, expected_version, what="consent") as change:
        consent = (
            change.case.consents.select_for_update()
            .filter(decision=Consent.Decision.GIVEN, revoked_at__isnull=True)
            .order_by("-recorded_at")
            .first()
        )
        if consent is None:
            raise DomainError(
                "Det finns inget gällande samtycke att återkalla.",
                "There is no active consent to revoke.",
                "organisations",
                code="no_consent",
            )
        now = timezone.now()
        scopes = consent.scopes.filter(revoked_at__isnull=True)
        if organisations:
            chosen = scopes.filter(organisation__in=organisations)
            if not chosen.exists():
                raise DomainError(
                    "Samtycket omfattar inte den valda organisationen.",
                    "The consent does not cover the chosen organisation.",
                    "organisations",
                    code="not_in_scope",
                )
            chosen.update(revoked_at=now)
            change.note = note
            if scopes.exists():
                return consent
        consent.revoked_at = now
        consent.revoked_by = actor
        consent.revocation_note = note
        consent.save()
        _close(change, SipCase.ClosingReason.CONSENT_REVOKED, note)
    return consent


# --- Preparation and participants -----------------------------------------------------------

PREPARATION_FIELDS = (
    "needs_to_discuss",
    "not_to_invite",
    "preferred_place",
    "preferred_time_of_day",
    "max_length_minutes",
    "disturbances",
    "room_needs",
    "picture_support",
    "interpreter_language",
    "sign_language",
    "assistant",
    "other_support",
)


def start_preparation(case: SipCase, *, actor, expected_version: int | None) -> Preparation:
    with _changing(
        case, "start_preparation", actor, expected_version, what="preparation"
    ) as change:
        person = change.case.person
        preparation, _ = Preparation.objects.get_or_create(
            case=change.case,
            defaults={
                "interpreter_language": person.interpreter_language,
                "sign_language": person.sign_language,
            },
        )
    return preparation


def update_preparation(
    case: SipCase,
    *,
    actor,
    expected_version: int,
    values: dict,
    invited_related_parties: Sequence[RelatedParty] | None = None,
) -> Preparation:
    """The person's needs to discuss, invitees and meeting preferences. `expected_version` is
    the preparation's lock_version the form was based on."""
    unknown = set(values) - set(PREPARATION_FIELDS)
    if unknown:
        raise ValueError(f"not preparation fields: {sorted(unknown)}")
    with _changing(case, "update_preparation", actor, None, what="preparation") as change:
        # The table lets the preparation be written from consent on, before start_preparation.
        person = change.case.person
        preparation, _ = Preparation.objects.select_for_update().get_or_create(
            case=change.case,
            defaults={
                "interpreter_language": person.interpreter_language,
                "sign_language": person.sign_language,
            },
        )
        if preparation.lock_version != expected_version:
            raise StaleEdit(current=preparation)
        length = values.get("max_length_minutes")
        if length is not None and not 10 <= int(length) <= 480:
            raise DomainError(
                "Längsta möteslängd ska vara mellan 10 och 480 minuter.",
                "The longest meeting length must be between 10 and 480 minutes.",
                "max_length_minutes",
                code="range",
            )
        for name, value in values.items():
            setattr(preparation, name, value)
        preparation.lock_version += 1
        preparation.save()
        if invited_related_parties is not None:
            _check_own_parties(change.case.person, invited_related_parties)
            preparation.invited_related_parties.set(invited_related_parties)
    return preparation


def _check_own_parties(person: Person, parties: Sequence[RelatedParty]) -> None:
    if any(party.person_id != person.pk for party in parties):
        raise DomainError(
            "Bara personens egna närstående och företrädare kan bjudas in.",
            "Only the person's own relatives and representatives can be invited.",
            "related_parties",
            code="foreign_party",
        )


def add_participant(case: SipCase, *, actor, unit: Unit, chosen_by_person: bool = True):
    with _changing(case, "add_participant", actor, None, what="participant") as change:
        participant, created = Participant.objects.get_or_create(
            case=change.case, unit=unit, defaults={"chosen_by_person": chosen_by_person}
        )
        if not created and participant.removed_at:
            participant.removed_at = None
            participant.save(update_fields=["removed_at"])
    return participant


# --- Meetings -------------------------------------------------------------------------------


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


# --- The plan -------------------------------------------------------------------------------


@dataclass
class InterventionData:
    description: str
    unit: Unit | None = None
    organisation: Organisation | None = None
    responsible_party: RelatedParty | None = None
    contact_name: str = ""
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    ends_note: str = ""


@dataclass
class PlanDraft:
    needs_today: str = ""
    goals: list[str] = field(default_factory=list)
    interventions: list[InterventionData] = field(default_factory=list)
    main_responsible_unit: Unit | None = None
    coordination: str = ""
    follow_up_on: dt.date | None = None
    cooperation_ends: str = ""
    expected_of_person: str = ""
    expected_of_relatives: str = ""
    attendees: list[tuple[str, str]] = field(default_factory=list)  # (name, represents)


def _copy_plan(source: PlanVersion, number: int) -> PlanVersion:
    draft = PlanVersion.objects.create(
        case=source.case,
        number=number,
        based_on=source,
        needs_today=source.needs_today,
        coordination=source.coordination,
        main_responsible_unit=source.main_responsible_unit,
        follow_up_on=None,  # a new version needs its own follow-up date
        cooperation_ends=source.cooperation_ends,
        expected_of_person=source.expected_of_person,
        expected_of_relatives=source.expected_of_relatives,
    )
    Goal.objects.bulk_create(
        Goal(plan_version=draft, text=goal.text, position=goal.position)
        for goal in source.goals.all()
    )
    Intervention.objects.bulk_create(
        Intervention(
            plan_version=draft,
            description=item.description,
            organisation_id=item.organisation_id,
            unit_id=item.unit_id,
            responsible_party_id=item.responsible_party_id,
            contact_name=item.contact_name,
            starts_on=item.starts_on,
            ends_on=item.ends_on,
            ends_note=item.ends_note,
            position=item.position,
        )
        for item in source.interventions.all()
    )
    return draft


def _ensure_draft(case: SipCase) -> PlanVersion:
    draft = case.plan_versions.select_for_update().filter(status=PlanVersion.Status.DRAFT).first()
    if draft:
        return draft
    latest = case.plan_versions.order_by("-number").first()
    number = (latest.number + 1) if latest else 1
    # A new draft's lock_version starts above every earlier version's, so a form based on an
    # earlier draft can never match the new one and overwrite it.
    highest = case.plan_versions.aggregate(highest=Max("lock_version"))["highest"] or 0
    valid = case.plan_versions.filter(status=PlanVersion.Status.VALID).first()
    draft = (
        _copy_plan(valid, number) if valid else PlanVersion.objects.create(case=case, number=number)
    )
    draft.lock_version = highest + 1
    draft.save(update_fields=["lock_version"])
    return draft


def save_plan_draft(
    case: SipCase,
    *,
    actor,
    expected_version: int | None,
    data: PlanDraft,
    plan_version: PlanVersion | None = None,
) -> PlanVersion:
    """Write the draft of the next plan version. `expected_version` is the draft's lock_version
    the form was based on (None when the form started a new draft). Editing a version that has
    been approved is refused: a change is always a new version."""
    if plan_version is not None and plan_version.is_locked:
        raise approved_version_error()
    with _changing(case, "save_plan_draft", actor, None, what="plan") as change:
        existing = (
            change.case.plan_versions.select_for_update()
            .filter(status=PlanVersion.Status.DRAFT)
            .first()
        )
        if existing is None and expected_version is not None:
            # The draft the form was based on has been established meanwhile.
            raise StaleEdit(current=change.case.valid_plan())
        if existing is not None and existing.lock_version != expected_version:
            raise StaleEdit(current=existing)
        draft = existing or _ensure_draft(change.case)
        problems: list[DomainError | None] = []
        for index, item in enumerate(data.interventions, start=1):
            if item.starts_on and item.ends_on and item.ends_on < item.starts_on:
                problems.append(
                    DomainError(
                        f"Insats {index}: slutdatum ligger före startdatum.",
                        f"Intervention {index}: the end date is before the start date.",
                        "interventions",
                        code="end_before_start",
                    )
                )
        _raise_all(problems)
        for name in (
            "needs_today",
            "coordination",
            "main_responsible_unit",
            "follow_up_on",
            "cooperation_ends",
            "expected_of_person",
            "expected_of_relatives",
        ):
            setattr(draft, name, getattr(data, name))
        draft.lock_version += 1
        draft.save()
        draft.goals.all().delete()
        draft.interventions.all().delete()
        draft.attendees.all().delete()
        Goal.objects.bulk_create(
            Goal(plan_version=draft, text=text.strip(), position=position)
            for position, text in enumerate(data.goals)
            if text.strip()
        )
        Intervention.objects.bulk_create(
            Intervention(
                plan_version=draft,
                description=item.description,
                unit=item.unit,
                organisation=item.organisation or (item.unit.organisation if item.unit else None),
                responsible_party=item.responsible_party,
                contact_name=item.contact_name,
                starts_on=item.starts_on,
                ends_on=item.ends_on,
                ends_note=item.ends_note,
                position=position,
            )
            for position, item in enumerate(data.interventions)
        )
        Attendee.objects.bulk_create(
            Attendee(plan_version=draft, name=name, represents=represents)
            for name, represents in data.attendees
            if name.strip()
        )
    return draft


def plan_problems(plan: PlanVersion) -> list[DomainError]:
    """Every mandatory part the plan lacks (SIP.md, "The plan must state")."""
    problems: list[DomainError | None] = [
        _required(
            plan.needs_today.strip(),
            "needs_today",
            "personens behov i dag",
            "the person's needs today",
        ),
        _required(
            list(plan.goals.all()),
            "goals",
            "minst ett av personens egna mål",
            "at least one of the person's own goals",
        ),
        _required(
            plan.main_responsible_unit_id,
            "main_responsible_unit",
            "vem som har huvudansvaret",
            "who has overall responsibility",
        ),
        _required(
            plan.coordination.strip(),
            "coordination",
            "hur insatserna samordnas",
            "how the interventions are coordinated",
        ),
        _required(
            plan.follow_up_on,
            "follow_up_on",
            "när planen följs upp",
            "when the plan is followed up",
        ),
        _not_in_past(
            plan.follow_up_on, "follow_up_on", "Uppföljningsdatumet", "The follow-up date"
        ),
        _required(
            plan.cooperation_ends.strip(),
            "cooperation_ends",
            "när samverkan avslutas",
            "when the cooperation ends",
        ),
        _required(
            plan.expected_of_person.strip(),
            "expected_of_person",
            "vad som förväntas av personen",
            "what is expected of the person",
        ),
        _required(list(plan.attendees.all()), "attendees", "vilka som deltog", "who took part"),
    ]
    interventions = list(plan.interventions.all())
    if not interventions:
        problems.append(
            _required(None, "interventions", "minst en insats", "at least one intervention")
        )
    for index, item in enumerate(interventions, start=1):
        label_sv = f"Insats {index} ({item.description[:40]})"
        label_en = f"Intervention {index} ({item.description[:40]})"
        if not (item.unit_id or item.organisation_id or item.responsible_party_id):
            problems.append(
                DomainError(
                    f"{label_sv} saknar ansvarig aktör.",
                    f"{label_en} has no responsible actor.",
                    "interventions",
                    code="responsible_missing",
                )
            )
        if not item.starts_on:
            problems.append(
                DomainError(
                    f"{label_sv} saknar startdatum.",
                    f"{label_en} has no start date.",
                    "interventions",
                    code="start_missing",
                )
            )
        if not (item.ends_on or item.ends_note.strip()):
            problems.append(
                DomainError(
                    f"{label_sv} saknar när den slutar.",
                    f"{label_en} does not say when it ends.",
                    "interventions",
                    code="end_missing",
                )
            )
    return [problem for problem in problems if problem is not None]


def establish_plan(
    case: SipCase,
    *,
    actor,
    expected_version: int,
    approved_by: str,
    approved_by_name: str,
) -> PlanVersion:
    """The person (or guardian) approves the draft: it becomes the valid version and is never
    changed again; the version it replaces stays readable as superseded."""
    with _changing(case, "establish_plan", actor, None, what="plan") as change:
        draft = (
            change.case.plan_versions.select_for_update()
            .filter(status=PlanVersion.Status.DRAFT)
            .first()
        )
        if draft is None:
            raise DomainError(
                "Det finns inget planutkast att fastställa.",
                "There is no plan draft to establish.",
                "plan",
                code="no_draft",
            )
        if draft.lock_version != expected_version:
            raise StaleEdit(current=draft)
        problems: list[DomainError | None] = list(plan_problems(draft))
        problems.append(
            _required(
                approved_by_name.strip(),
                "approved_by_name",
                "vem som godkände planen",
                "who approved the plan",
            )
        )
        if approved_by not in PlanVersion.ApprovedBy.values:
            problems.append(
                DomainError(
                    "Ange vem som godkände planen: personen, vårdnadshavare eller god man/"
                    "förvaltare.",
                    "Say who approved the plan: the person, a guardian or a legal representative.",
                    "approved_by",
                    code="required",
                )
            )
        else:
            problems.append(_acts_for_minor(change.case.person, approved_by, "approved_by"))
        _raise_all(problems)
        now = timezone.now()
        change.case.plan_versions.filter(status=PlanVersion.Status.VALID).update(
            status=PlanVersion.Status.SUPERSEDED
        )
        draft.status = PlanVersion.Status.VALID
        draft.approved_at = now
        draft.approved_by = approved_by
        draft.approved_by_name = approved_by_name
        draft.established_by = actor
        draft.save(
            update_fields=[
                "status",
                "approved_at",
                "approved_by",
                "approved_by_name",
                "established_by",
            ]
        )
        change.note = f"v{draft.number}"
        change.case_changed = True
    return draft


def call_follow_up(
    case: SipCase, *, actor, expected_version: int | None, call: MeetingCall
) -> Meeting:
    """Uppföljning: a follow-up meeting, and a new draft version copied from the valid plan."""
    with _changing(case, "call_follow_up", actor, expected_version, what="meeting") as change:
        meeting = _create_meeting(change, actor, call, Meeting.Kind.FOLLOW_UP)
        _ensure_draft(change.case)
    return meeting


# --- Closing --------------------------------------------------------------------------------


def _close(change: _Change, reason: str, note: str) -> None:
    change.case.state = State.CLOSED
    change.case.closed_at = timezone.now()
    change.case.closing_reason = reason
    change.case.closing_note = note
    change.case_changed = True


def close_case(
    case: SipCase, *, actor, expected_version: int | None, reason: str, note: str = ""
) -> SipCase:
    """Avslut, with a reason. Everything recorded stays readable for the retention time."""
    with _changing(case, "close", actor, expected_version) as change:
        if reason in {SipCase.ClosingReason.DECLINED, SipCase.ClosingReason.CONSENT_REVOKED}:
            raise DomainError(
                "Att personen avböjer eller återkallar samtycket registreras som sådant, inte som "
                "skäl för avslut.",
                "That the person declines or revokes consent is recorded as such, not as a "
                "reason for closing.",
                "reason",
                code="use_consent_action",
            )
        if reason not in SipCase.ClosingReason.values:
            raise DomainError(
                "Välj ett skäl till avslutet.",
                "Choose a reason for closing.",
                "reason",
                code="required",
            )
        if reason == SipCase.ClosingReason.OTHER and not note.strip():
            raise DomainError(
                "Beskriv skälet till avslutet.",
                "Describe the reason for closing.",
                "note",
                code="required",
            )
        _close(change, reason, note)
    return case
