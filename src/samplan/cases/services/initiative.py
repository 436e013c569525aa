"""Initiativ: a SIP is started, and the person (or the guardians) are informed."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from samplan.access.models import AuditEvent
from samplan.access.services import acting_unit_for, active_unit_ids, audit
from samplan.directory.models import Assignment, Unit
from samplan.errors import DomainError, PermissionRefused
from samplan.people import services as people_services
from samplan.people.models import Person, RelatedParty

from ..models import (
    CaseEvent,
    Participant,
    SipCase,
)
from ..rules import takes_part_in_case
from ._core import (
    Action,
    _changing,
    _raise_all,
    _required,
)


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


def add_related_party(case: SipCase, *, actor, kind: str, name: str, **details) -> RelatedParty:
    """A guardian (vårdnadshavare), god man, förvaltare, relative or other party of the case's
    person, added from the SIP by staff of a unit that takes part, while the SIP is open. The
    party belongs to the person (people.services validates and audits it) and is linked to THIS
    SIP only: another SIP of the same person, perhaps at another authority, does not show it.
    No timeline entry, because the transition table has no such action."""
    if case.is_closed:
        raise DomainError(
            "SIP:en är avslutad. Närstående och företrädare läggs till i en pågående SIP; "
            "det som registrerats finns kvar att läsa.",
            "The SIP is closed. Relatives and representatives are added in an open SIP; "
            "what was recorded stays readable.",
            "",
            code="closed",
        )
    unit = acting_unit_for(actor, case)
    if unit is None or not takes_part_in_case(actor, case):
        audit(
            actor,
            Action.CREATE,
            "related_party",
            case_id=case.pk,
            person_id=case.person_id,
            outcome=AuditEvent.Outcome.REFUSED,
        )
        raise PermissionRefused(
            "Din enhet deltar inte i denna SIP, så du får inte lägga till närstående eller "
            "företrädare.",
            "Your unit does not take part in this SIP, so you may not add relatives or "
            "representatives.",
            "",
        )
    return people_services.add_related_party(
        actor=actor,
        unit=unit,
        person=case.person,
        kind=kind,
        name=name,
        case=case,
        **details,
    )
