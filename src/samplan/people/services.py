"""Registering people: the identity number validated, protected addresses never stored, and an
audit entry for every write. Staff register people through their unit."""

from __future__ import annotations

from django.db import transaction

from samplan.access.models import AuditEvent
from samplan.access.services import active_unit_ids, audit
from samplan.directory.models import Unit
from samplan.errors import DomainError, DomainErrors, PermissionRefused
from samplan.maintenance.mode import refuse_if_read_only

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
    refuse_if_read_only()
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
    number, grant_problems = party_grant_problems(
        person,
        kind,
        may_see=details.get("may_see", RelatedParty.Sees.NOTHING),
        may_act=bool(details.get("may_act")),
        identity_number=details.get("identity_number") or "",
    )
    problems.extend(grant_problems)
    if "identity_number" in details:
        details["identity_number"] = number
    if problems:
        raise problems[0] if len(problems) == 1 else DomainErrors(problems)
    if kind == RelatedParty.Kind.GUARDIAN and person.is_minor:
        details["may_see"] = RelatedParty.Sees.EVERYTHING  # a child's guardians see all by law
    refuse_if_read_only()
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


ACTING_KINDS = frozenset({RelatedParty.Kind.GOD_MAN, RelatedParty.Kind.FORVALTARE})


def party_grant_problems(
    person: Person, kind: str, *, may_see: str, may_act: bool, identity_number: str
) -> tuple[str, list[DomainError]]:
    """What a related party is granted, checked alike when they are added and when it is changed:
    what the person lets them see, whether the mandate covers acting (a god man or förvaltare
    only), and the number they sign in to Min SIP with (valid, never the person's own). Gives the
    number in its stored form ("" for none) and the problems found."""
    problems = []
    if may_see not in RelatedParty.Sees.values:
        problems.append(
            DomainError(
                "Välj vad personen låter dem se.",
                "Choose what the person lets them see.",
                "may_see",
            )
        )
    # Min SIP: the party signs in with e-legitimation; the provider's number is matched to this.
    number = (identity_number or "").strip()
    if number:
        try:
            number = parse_identity(number).number
        except DomainError as error:
            problems.append(error)
        else:
            if number == person.identity_number:
                problems.append(
                    DomainError(
                        "Det är personens eget nummer. Ange den närståendes eget nummer.",
                        "That is the person's own number. Enter the relative's own number.",
                        "identity_number",
                        code="own_number",
                    )
                )
    if may_act and kind not in ACTING_KINDS:
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
    return number, problems


def change_related_party(
    *,
    actor,
    unit: Unit,
    party: RelatedParty,
    case,
    may_see: str,
    may_act: bool,
    identity_number: str,
) -> RelatedParty:
    """Change what a related party known in `case` (cases.SipCase) is granted: what they see, acting
    (god man, förvaltare), the number they sign in to Min SIP with. A party has no version to
    compare, so the last change wins; each is audited with the names of the fields it changed
    (never their values). cases.services.initiative.change_related_party checks the SIP first."""
    _acting_unit(
        actor,
        unit,
        "related_party",
        party.person_id,
        action=AuditEvent.Action.CHANGE,
        case_id=case.pk,
    )
    refuse_if_read_only()
    with transaction.atomic():
        locked = RelatedParty.objects.select_for_update().get(pk=party.pk)
        number, problems = party_grant_problems(
            case.person,
            locked.kind,
            may_see=may_see,
            may_act=may_act,
            identity_number=identity_number,
        )
        if problems:
            raise problems[0] if len(problems) == 1 else DomainErrors(problems)
        wanted = {"may_see": may_see, "may_act": bool(may_act), "identity_number": number}
        changed = [name for name, value in wanted.items() if getattr(locked, name) != value]
        for name in changed:
            setattr(locked, name, wanted[name])
        if changed:
            locked.save(update_fields=changed)
        audit(
            actor,
            AuditEvent.Action.CHANGE,
            "related_party",
            case_id=case.pk,
            person_id=locked.person_id,
            unit_id=unit.pk,
            detail=f"party={locked.pk} changed={','.join(changed) or '-'}",
        )
    return locked


def end_related_party_link(*, actor, unit: Unit, party: RelatedParty, case) -> None:
    """`party` is no longer known in `case`: not shown or invited there, and it no longer opens
    that SIP in Min SIP. The party stays the person's (another SIP may know them), and what was
    recorded with them (invitations, the preparation) stays as it was."""
    _acting_unit(
        actor,
        unit,
        "related_party",
        party.person_id,
        action=AuditEvent.Action.CHANGE,
        case_id=case.pk,
    )
    refuse_if_read_only()
    with transaction.atomic():
        case.related_parties.remove(party)
        audit(
            actor,
            AuditEvent.Action.CHANGE,
            "related_party",
            case_id=case.pk,
            person_id=party.person_id,
            unit_id=unit.pk,
            detail=f"party={party.pk} link ended",
        )


def set_own_view(*, actor, unit: Unit, person: Person, own_view: bool, case=None) -> Person:
    """Whether a young person of 15–17 sees their own SIP in Min SIP (access/citizen.py), as
    they and their guardians decided; changeable at any time, not only when informed. Under 15
    the guardians see it for them, from 18 the person always does: no choice to record."""
    from samplan.access.citizen import OWN_VIEW_AGE

    case_id = case.pk if case is not None else None
    _acting_unit(actor, unit, "person", person.pk, action=AuditEvent.Action.CHANGE, case_id=case_id)
    refuse_if_read_only()
    with transaction.atomic():
        locked = Person.objects.select_for_update().get(pk=person.pk)
        if not (locked.is_minor and (locked.age or 0) >= OWN_VIEW_AGE):
            raise DomainError(
                f"En egen vy i Min SIP väljs för unga från {OWN_VIEW_AGE} till 17 år; "
                "yngre barn ser sin plan genom vårdnadshavarna och vuxna har den alltid.",
                f"An own view in Min SIP is chosen for young people aged {OWN_VIEW_AGE} to "
                "17; younger children see their plan through their guardians and adults "
                "always have it.",
                "own_view",
                code="own_view_age",
            )
        changed = locked.own_view != bool(own_view)
        if changed:
            locked.own_view = bool(own_view)
            locked.save(update_fields=["own_view"])
        audit(
            actor,
            AuditEvent.Action.CHANGE,
            "person",
            case_id=case_id,
            person_id=locked.pk,
            unit_id=unit.pk,
            detail=f"own_view={'yes' if locked.own_view else 'no'}"
            + ("" if changed else " unchanged"),
        )
    return locked
