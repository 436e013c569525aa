"""The one path of every change to a case: lock, right, table, version, change, timeline, audit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from samplan.access.citizen import Capacity
from samplan.access.models import AuditEvent
from samplan.access.services import acting_unit_for, audit
from samplan.directory.models import Unit
from samplan.errors import DomainError, DomainErrors, PermissionRefused, StaleEdit
from samplan.maintenance.mode import refuse_if_read_only
from samplan.people.models import Person

from ..models import (
    CaseEvent,
    Consent,
    SipCase,
    State,
)
from ..rules import drives_case, takes_part_in_case
from ..transitions import DRIVE, PERSON, TRANSITIONS, check_transition

Action = AuditEvent.Action


@dataclass
class _Change:
    case: SipCase
    unit: Unit | None
    note: str = ""
    case_changed: bool = False
    audit_what: str = "sip_case"
    # Set when the change is entered afterwards from paper: when it really happened.
    happened_at: dt.datetime | None = None


def _refuse(actor, action: str) -> PermissionRefused:
    transition = TRANSITIONS[action]
    if isinstance(actor, Capacity):
        return PermissionRefused(
            f"Du kan inte {transition.sv} här. Kontakta din SIP-samordnare.",
            f"You cannot {transition.en} here. Contact your SIP coordinator.",
            "",
        )
    if transition.who == PERSON:
        return PermissionRefused(
            f"Bara personen, eller den som företräder personen, kan {transition.sv}, i Min SIP.",
            f"Only the person, or whoever acts for them, can {transition.en}, in Min SIP.",
            "",
        )
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
    case: SipCase,
    action: str,
    actor,
    expected_version: int | None,
    *,
    what: str = "sip_case",
    timeline: bool = True,
) -> Iterator[_Change]:
    """Lock the case, check rights, table and version, let the caller change it, then record.
    `timeline=False` for working notes (case messages) that are audited but are not process
    history."""
    refuse_if_read_only()
    try:
        with transaction.atomic():
            locked = (
                SipCase.objects.select_for_update()
                .select_related("person", "coordinating_unit__organisation")
                .get(pk=case.pk)
            )
            transition = TRANSITIONS[action]
            citizen = isinstance(actor, Capacity)
            if citizen:  # Min SIP: the person or one acting for them (access/citizen.py)
                allowed = bool(transition.citizen) and actor.allows(transition.citizen, locked)
            elif transition.who == PERSON:
                allowed = False
            elif transition.who == DRIVE:
                allowed = drives_case(actor, locked)
            else:
                allowed = takes_part_in_case(actor, locked)
            if not allowed:
                raise _refuse(actor, action)
            # A form based on an older version is stale before it is anything else: the user
            # sees what changed (also when the state moved on) instead of a rule they can't place.
            if expected_version is not None and locked.lock_version != expected_version:
                raise StaleEdit(current=locked)
            check_transition(action, locked.state)
            unit = None if citizen else acting_unit_for(actor, locked)
            change = _Change(locked, unit, audit_what=what)
            from_state = locked.state
            yield change
            if transition.target is not None and transition.target != from_state:
                locked.state = transition.target
                change.case_changed = True
            if change.case_changed:
                locked.lock_version += 1
                locked.save()
            if timeline:
                CaseEvent.objects.create(
                    case=locked,
                    action=action,
                    from_state=from_state,
                    to_state=locked.state,
                    actor=None if citizen else actor,
                    actor_unit=change.unit,
                    citizen_role=actor.role if citizen else "",
                    note=change.note,
                    happened_at=change.happened_at,
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


def _close(change: _Change, reason: str, note: str) -> None:
    change.case.state = State.CLOSED
    change.case.closed_at = timezone.now()
    change.case.closing_reason = reason
    change.case.closing_note = note
    change.case_changed = True
