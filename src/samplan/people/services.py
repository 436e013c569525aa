"""Registering people: the identity number validated, protected addresses never stored, and an
audit entry for every write. Staff register people through their unit."""

from __future__ import annotations

from django.db import transaction

from samplan.access.models import AuditEvent
from samplan.access.services import active_unit_ids, audit
from samplan.directory.models import Unit
from samplan.errors import DomainError, DomainErrors, PermissionRefused

from .identity import parse_identity
from .models import Person, RelatedParty

PERSON_DETAILS = {
    "phone",
    "email",
    "address",
    "preferred_language",
    "interpreter_language",
    "sign_language",
    "protection",
    "is_fictitious",
}


def _acting_unit(actor, unit: Unit, what: str, person_id: int | None = None) -> None:
    if unit.pk not in active_unit_ids(actor):
        audit(
            actor,
            AuditEvent.Action.CREATE,
            what,
            person_id=person_id,
            outcome=AuditEvent.Outcome.REFUSED,
        )
        raise PermissionRefused(
            "Du har inget uppdrag vid enheten du registrerar från.",
            "You hold no assignment at the unit you register from.",
            "unit",
        )


def register_person(
    *,
    actor,
    unit: Unit,
    identity_number: str,
    given_name: str,
    family_name: str,
    reserve_number: bool = False,
    **details,
) -> Person:
    unknown = set(details) - PERSON_DETAILS
    if unknown:
        raise ValueError(f"not person details: {sorted(unknown)}")
    _acting_unit(actor, unit, "person")
    identity = parse_identity(identity_number, reserve=reserve_number)
    problems = []
    if not given_name.strip():
        problems.append(DomainError("Ange förnamn.", "Enter the given name.", "given_name"))
    if not family_name.strip():
        problems.append(DomainError("Ange efternamn.", "Enter the family name.", "family_name"))
    if details.get("protection") == Person.Protection.SKYDDAD_FOLKBOKFORING and details.get(
        "address"
    ):
        problems.append(
            DomainError(
                "Adressen för en person med skyddad folkbokföring lagras aldrig; post går via "
                "Skatteverket.",
                "The address of a person with protected registration is never stored; mail "
                "goes via Skatteverket.",
                "address",
                code="protected_address",
            )
        )
    if Person.objects.filter(identity_number=identity.number).exists():
        problems.append(
            DomainError(
                "Det finns redan en person med det numret.",
                "A person with that number is already registered.",
                "identity_number",
                code="duplicate",
            )
        )
    if problems:
        raise problems[0] if len(problems) == 1 else DomainErrors(problems)
    with transaction.atomic():
        person = Person.objects.create(
            identity_kind=identity.kind,
            identity_number=identity.number,
            birth_date=identity.birth_date,
            given_name=given_name.strip(),
            family_name=family_name.strip(),
            **details,
        )
        audit(actor, AuditEvent.Action.CREATE, "person", person_id=person.pk, unit_id=unit.pk)
    return person


def add_related_party(
    *, actor, unit: Unit, person: Person, kind: str, name: str, **details
) -> RelatedParty:
    """A guardian, trustee, relative, personligt ombud or support person, with what the person
    lets them see."""
    _acting_unit(actor, unit, "related_party", person.pk)
    if kind not in RelatedParty.Kind.values:
        raise DomainError(
            "Välj vilken sorts företrädare eller närstående.",
            "Choose the kind of representative or relative.",
            "kind",
        )
    if not name.strip():
        raise DomainError("Ange namn.", "Enter the name.", "name")
    with transaction.atomic():
        party = RelatedParty.objects.create(person=person, kind=kind, name=name.strip(), **details)
        audit(
            actor, AuditEvent.Action.CREATE, "related_party", person_id=person.pk, unit_id=unit.pk
        )
    return party
