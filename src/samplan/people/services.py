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


def _acting_unit(
    actor,
    unit: Unit,
    what: str,
    person_id: int | None = None,
    *,
    action: str = AuditEvent.Action.CREATE,
    case_id: int | None = None,
) -> None:
    if unit.pk not in active_unit_ids(actor):
        audit(
            actor,
            action,
            what,
            case_id=case_id,
            person_id=person_id,
            outcome=AuditEvent.Outcome.REFUSED,
        )
        raise PermissionRefused(
            "Du har inget uppdrag vid enheten du arbetar från.",
            "You hold no assignment at the unit you act from.",
            "unit",
        )


def find_person(
    *, actor, unit: Unit, identity_number: str, reserve_number: bool = False
) -> Person | None:
    """The person with exactly this identity number, or None. Only the full number finds
    anyone here (never a name), so a person with protected personal data cannot be fished
    for. Every lookup is logged, also one that finds no one, so a search for numbers shows."""
    _acting_unit(actor, unit, "person_lookup", action=AuditEvent.Action.READ)
    identity = parse_identity(identity_number, reserve=reserve_number)
    person = Person.objects.filter(identity_number=identity.number).first()
    audit(
        actor,
        AuditEvent.Action.READ,
        "person_lookup",
        person_id=person.pk if person else None,
        unit_id=unit.pk,
    )
    return person


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
    *,
    actor,
    unit: Unit,
    person: Person,
    kind: str,
    name: str,
    case=None,
    **details,
) -> RelatedParty:
    """A guardian, trustee, relative, personligt ombud or support person, with what the person
    lets them see. `case`: the SIP (cases.SipCase) it is added in. The party belongs to the
    person, but it is shown and can be invited only in the SIPs it is linked to: what one unit
    records about the person's circle does not reach another authority's SIP. Without `case`
    no SIP shows it until one links it (SipCase.related_parties)."""
    case_id = case.pk if case is not None else None
    _acting_unit(actor, unit, "related_party", person.pk, case_id=case_id)
    problems = []
    if kind not in RelatedParty.Kind.values:
        problems.append(
            DomainError(
                "Välj vilken sorts företrädare eller närstående.",
                "Choose the kind of representative or relative.",
                "kind",
            )
        )
    if not name.strip():
        problems.append(DomainError("Ange namn.", "Enter the name.", "name"))
    # A god man or förvaltare acts only within the mandate the court gave (SIP.md).
    if (
        kind in {RelatedParty.Kind.GOD_MAN, RelatedParty.Kind.FORVALTARE}
        and not (details.get("mandate") or "").strip()
    ):
        problems.append(
            DomainError(
                "Ange uppdraget: vad gode mannen eller förvaltaren företräder personen i.",
                "Enter the mandate: what the trustee or administrator acts on for the person.",
                "mandate",
                code="mandate_required",
            )
        )
    may_see = details.get("may_see", RelatedParty.Sees.NOTHING)
    if may_see not in RelatedParty.Sees.values:
        problems.append(
            DomainError(
                "Välj vad personen låter dem se.",
                "Choose what the person lets them see.",
                "may_see",
            )
        )
    # Min SIP: the party signs in with e-legitimation; the provider's number is matched to this.
    number = (details.get("identity_number") or "").strip()
    if number:
        try:
            identity = parse_identity(number)
        except DomainError as error:
            problems.append(error)
        else:
            if identity.number == person.identity_number:
                problems.append(
                    DomainError(
                        "Det är personens eget nummer. Ange den närståendes eget nummer.",
                        "That is the person's own number. Enter the relative's own number.",
                        "identity_number",
                        code="own_number",
                    )
                )
            details["identity_number"] = identity.number
    if details.get("may_act") and kind not in {
        RelatedParty.Kind.GOD_MAN,
        RelatedParty.Kind.FORVALTARE,
    }:
        problems.append(
            DomainError(
                "Bara en god man eller förvaltare kan ha ett uppdrag som omfattar att agera i "
                "SIP:en; vårdnadshavare för ett barn gör det enligt lag.",
                "Only a god man or förvaltare can have a mandate that covers acting in the SIP; "
                "the guardians of a child do so by law.",
                "may_act",
                code="may_act_kind",
            )
        )
    if problems:
        raise problems[0] if len(problems) == 1 else DomainErrors(problems)
    if kind == RelatedParty.Kind.GUARDIAN and person.is_minor:
        details["may_see"] = RelatedParty.Sees.EVERYTHING  # a child's guardians see all by law
    with transaction.atomic():
        party = RelatedParty.objects.create(person=person, kind=kind, name=name.strip(), **details)
        if case is not None:
            party.cases.add(case)
        audit(
            actor,
            AuditEvent.Action.CREATE,
            "related_party",
            case_id=case_id,
            person_id=person.pk,
            unit_id=unit.pk,
        )
    return party
