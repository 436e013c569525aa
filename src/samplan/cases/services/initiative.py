"""Initiativ: a SIP is started (by staff, or asked for in Min SIP by the person or a relative),
and the person (or the guardians) are informed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from samplan.access.citizen import OWN_VIEW_AGE, own_rights, within_retention
from samplan.access.models import AuditEvent
from samplan.access.services import acting_unit_for, active_unit_ids, audit
from samplan.directory.models import Assignment, Organisation, Unit
from samplan.errors import DomainError, PermissionRefused
from samplan.maintenance.mode import refuse_if_read_only
from samplan.people import services as people_services
from samplan.people.identity import parse_identity
from samplan.people.models import Person, RelatedParty

from ..models import (
    CaseEvent,
    Participant,
    SipCase,
)
from ..rules import drives_case, takes_part_in_case
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
    refuse_if_read_only()

    with transaction.atomic():
        case = _create_case(
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
        )
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


# Min SIP: asking for a SIP oneself, or for someone else. ---------------------------------------

# Where a private individual can ask: the two huvudmän SIP is between (SIP.md), e.g. a
# vårdcentral or the kommun's socialtjänst.
REQUEST_ORGANISATION_KINDS = (Organisation.Kind.KOMMUN, Organisation.Kind.REGION)
REQUESTS_PER_DAY = 5
REQUEST_WINDOW = dt.timedelta(days=1)


class RequestLimitReached(DomainError):
    code = "too_many_requests"


@dataclass(frozen=True)
class SomeoneElse:
    """The person a relative or a guardian asks a SIP for, as they typed them."""

    identity_number: str
    given_name: str
    family_name: str


def request_sip(
    citizen,
    *,
    unit: Unit | None,
    reason: str,
    phone: str = "",
    for_person: SomeoneElse | None = None,
) -> SipCase:
    """Ask for a SIP in Min SIP (SIP.md: "anyone may start it: … the person, or a relative"):
    `citizen` (access/citizen.py: Citizen) for themselves, or with `for_person` for someone
    else. The request is an initiative at the chosen unit, which coordinates it until it names a
    coordinator, with the organisation's "without delay" deadline running, on the unit's start
    page. The person is registered if Samplan does not know them yet (for themselves with the
    name the identity provider gave; for someone else as typed, and the timeline says so, for
    staff to check); a known person's register entry is never changed by what someone typed.
    The answer is the same either way, so no one learns through asking whether someone is
    known. A relative who asks gains no right to see the SIP: only the person can grant that.

    Linking to a known person by their full identity number is what a unit does when a relative
    phones (find_person by full number, logged); here the one who asks is identified by
    e-legitimation, logged under a pseudonym with their capacity, and held to
    REQUESTS_PER_DAY. The day's count and the look-up of the person are made inside the
    transaction, one request per citizen at a time (`_one_at_a_time`), so two requests at once
    cannot both pass the limit, and two citizens registering the same new person at once both
    get their request (get_or_create)."""
    refuse_if_read_only()
    role = "relative" if for_person is not None else "person"
    with transaction.atomic():
        _one_at_a_time(citizen)
        limited = requests_today(citizen) >= REQUESTS_PER_DAY
        if not limited:
            return _request(citizen, unit, reason, phone, for_person, role)
    # Logged outside the transaction above: a refusal is kept.
    audit(
        citizen,
        Action.CREATE,
        "sip_request",
        outcome=AuditEvent.Outcome.REFUSED,
        detail="rate limit",
        citizen_role=role,
    )
    raise RequestLimitReached(
        f"Du har redan bett om SIP {REQUESTS_PER_DAY} gånger det senaste dygnet. Vänta till "
        "i morgon, eller ring enheten.",
        f"You have already asked for a SIP {REQUESTS_PER_DAY} times in the last 24 hours. "
        "Wait until tomorrow, or call the unit.",
        "",
    )


# pg_advisory_xact_lock(key1, key2): the first key says "a citizen's request for a SIP" (the
# two-key locks are apart from the one-key lock of the audit chain), the second whose.
_REQUEST_LOCK = 8_208_001


def _one_at_a_time(citizen) -> None:
    """Serialise one citizen's requests until the caller's transaction ends. PostgreSQL: an
    advisory lock on the citizen's pseudonym (the identity number never leaves Python). SQLite
    lets one writer at a time already (transaction_mode IMMEDIATE in settings)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                [_REQUEST_LOCK, citizen.log_name],
            )


NAMES_AS_GIVEN = (
    "Namnen är skrivna av den som bad om SIP:en; kontrollera dem. "
    "(Names as given by the one who asked; check them.)"
)


def _request(citizen, unit, reason, phone, for_person, role) -> SipCase:
    """request_sip under its lock, within the limit."""
    logged_as = {"citizen_role": role}
    reason = reason.strip()
    problems: list[DomainError | None] = [
        _requestable_unit_problem(unit),
        _required(reason, "reason", "varför du vill ha en SIP", "why you want a SIP"),
    ]
    if for_person is None:
        identity = parse_identity(citizen.identity_number)
        given_name, family_name = _split_name(citizen.name)
    else:
        identity, given_name, family_name = None, "", ""
        try:
            identity = parse_identity(for_person.identity_number)
        except DomainError as error:
            problems.append(error)
        given_name = for_person.given_name.strip()
        family_name = for_person.family_name.strip()
        problems += [
            _required(given_name, "given_name", "förnamn", "the given name"),
            _required(family_name, "family_name", "efternamn", "the family name"),
        ]
        own = parse_identity(citizen.identity_number).number
        if identity is not None and identity.number == own:
            problems.append(
                DomainError(
                    "Det är ditt eget personnummer. Välj att be om en SIP för dig själv.",
                    "That is your own identity number. Choose to ask for a SIP for yourself.",
                    "identity_number",
                    code="own_number",
                )
            )
    _raise_all(problems)

    now = timezone.now()
    # Who asked and how to reach them, for whoever takes the initiative on.
    note = [", ".join(part for part in (citizen.name, phone.strip()) if part)]
    person, created = Person.objects.get_or_create(
        identity_number=identity.number,
        defaults={
            "identity_kind": identity.kind,
            "birth_date": identity.birth_date,
            "given_name": given_name,
            "family_name": family_name,
        },
    )
    if created:
        audit(citizen, Action.CREATE, "person", person_id=person.pk, **logged_as)
        if for_person is not None:
            note.append(NAMES_AS_GIVEN)
    else:
        _refuse_asking_twice(citizen, person, unit, for_someone_else=for_person is not None)
        if for_person is not None and _name_key(given_name, family_name) != _name_key(
            person.given_name, person.family_name
        ):
            typed = f"{given_name} {family_name}"
            note.append(
                f"Den som bad skrev namnet {typed}, som skiljer sig från registret; "
                "kontrollera att det gäller rätt person. (The one who asked typed the name "
                f"{typed}, which differs from the register; check that it is the right person.)"
            )
    case = _create_case(
        person=person,
        initiated_by=(SipCase.InitiatedBy.RELATIVE if for_person else SipCase.InitiatedBy.PERSON),
        initiator_name=citizen.name,
        initiated_at=now,
        initiating_unit=unit,
        coordinating_unit=unit,
        reason=reason,
    )
    CaseEvent.objects.create(
        case=case,
        at=now,
        action="request_sip",
        to_state=case.state,
        citizen_role=role,
        note=". ".join(part for part in note if part),
    )
    audit(citizen, Action.CREATE, "sip_request", case_id=case.pk, person_id=person.pk, **logged_as)
    return case


def _name_key(given_name: str, family_name: str) -> str:
    return " ".join(f"{given_name} {family_name}".split()).casefold()


def requests_today(citizen) -> int:
    """The citizen's own requests for a SIP in the last 24 hours, counted up to the limit from
    the audit log, where each one writes its row (as the search limit counts searches)."""
    since = timezone.now() - REQUEST_WINDOW
    rows = AuditEvent.objects.filter(
        action=Action.CREATE,
        what="sip_request",
        outcome=AuditEvent.Outcome.ALLOWED,
        username=citizen.log_name,
        at__gte=since,
    )
    return len(rows.order_by().values_list("pk", flat=True)[:REQUESTS_PER_DAY])


def requestable_units():
    """The units a private individual can ask for a SIP at, in the order a list shows them."""
    return (
        Unit.objects.filter(active=True, organisation__kind__in=REQUEST_ORGANISATION_KINDS)
        .select_related("organisation")
        .order_by("organisation__name", "name", "pk")
    )


def _requestable_unit_problem(unit: Unit | None) -> DomainError | None:
    if unit is None:
        return DomainError(
            "Välj vart du vill skicka din begäran.",
            "Choose where to send your request.",
            "unit",
            code="required",
        )
    if not unit.active or unit.organisation.kind not in REQUEST_ORGANISATION_KINDS:
        return DomainError(
            "Välj en enhet i kommunen eller regionen ur listan.",
            "Choose a unit of the kommun or the region from the list.",
            "unit",
            code="not_requestable",
        )
    return None


def _refuse_asking_twice(citizen, person: Person, unit: Unit, *, for_someone_else: bool) -> None:
    """One open request per person and unit. For themselves: any SIP of theirs the unit holds
    and that is not closed (it is their own). For someone else: only the citizen's own earlier
    request, found in the log; whether the unit holds another SIP for them is not said."""
    if not for_someone_else and guardians_see_for(person):
        # Whether this unit holds their SIP is not said either: the same words as Min SIP's
        # start page, at every unit.
        raise DomainError(
            "Dina vårdnadshavare ser din SIP åt dig. Prata med dem eller med din SIP-samordnare.",
            "Your guardians see your SIP for you. Talk to them or to your SIP coordinator.",
            "",
            code="guardians_see",
        )
    open_here = SipCase.objects.open().filter(person=person, coordinating_unit=unit)
    if not for_someone_else:
        if open_here.exists():
            raise DomainError(
                f"Du har redan en SIP hos {unit.name} som inte är avslutad. Enheten hör av sig "
                "till dig; du kan också ringa dem.",
                f"You already have a SIP at {unit.name} that is not closed. The unit will "
                "contact you; you can also call them.",
                "unit",
                code="already_asked",
            )
        return
    asked_before = AuditEvent.objects.filter(
        action=Action.CREATE,
        what="sip_request",
        outcome=AuditEvent.Outcome.ALLOWED,
        username=citizen.log_name,
        case_id__in=list(open_here.values_list("pk", flat=True)),
    )
    if asked_before.exists():
        raise DomainError(
            f"Du har redan bett {unit.name} om en SIP för den här personen, och den är inte "
            "avslutad. Enheten hör av sig.",
            f"You have already asked {unit.name} for a SIP for this person, and it is not "
            "closed. The unit will be in touch.",
            "unit",
            code="already_asked",
        )


def guardians_see_for(person: Person | None) -> bool:
    """Whether `person` is a young person without their own view in Min SIP (under 15, or 15-17
    without `Person.own_view`) who has a SIP their guardians see for them. They are told only
    that, on the start page and when they ask for a SIP: nothing of the SIP itself."""
    if person is None or own_rights(person) is not None:
        return False
    return SipCase.objects.filter(within_retention(), person=person).exists()


def _split_name(name: str) -> tuple[str, str]:
    """Given and family name from the one name the identity provider gave: the family name is
    the last word (a coordinator corrects it in the register if need be)."""
    words = name.split()
    if len(words) < 2:
        return name.strip(), ""
    return " ".join(words[:-1]), words[-1]


def call_deadline(
    organisation, *, initiated_at: dt.datetime, kind: str, discharge_notice_at=None
) -> dt.datetime:
    """When the meeting must be called by: the coordinating organisation's own "without delay"
    (SIP.md), or after a discharge notice the days of lag 2017:612."""
    if kind == SipCase.Kind.DISCHARGE:
        return discharge_notice_at + dt.timedelta(days=organisation.discharge_deadline_days)
    return initiated_at + dt.timedelta(days=organisation.initiative_deadline_days)


def _create_case(*, coordinating_unit: Unit, initiating_unit: Unit, **values) -> SipCase:
    """The case with its deadline and the units that hold it from the start (the coordinating
    one, and the initiating one if it is another). Inside the caller's transaction."""
    case = SipCase.objects.create(
        coordinating_unit=coordinating_unit,
        initiating_unit=initiating_unit,
        call_deadline=call_deadline(
            coordinating_unit.organisation,
            initiated_at=values["initiated_at"],
            kind=values.get("kind", SipCase.Kind.STANDARD),
            discharge_notice_at=values.get("discharge_notice_at"),
        ),
        **values,
    )
    Participant.objects.create(
        case=case,
        unit=coordinating_unit,
        role=Participant.Role.COORDINATING,
        chosen_by_person=False,
    )
    if initiating_unit != coordinating_unit:
        Participant.objects.create(case=case, unit=initiating_unit, chosen_by_person=False)
    return case


def record_information(
    case: SipCase,
    *,
    actor,
    expected_version: int | None,
    guardians_contacted: bool = False,
    child_views: str = "",
    note: str = "",
    own_view: bool | None = None,
) -> SipCase:
    """The person (and for a child, the guardians) have been told what a SIP is. `own_view`: a
    young person of 15–17 and their guardians decided that they see their own SIP in Min SIP
    (access/citizen.py); under 15 the guardians see it for them."""
    with _changing(case, "record_information", actor, expected_version) as change:
        person = change.case.person
        if own_view is not None and own_view != person.own_view:
            if own_view and not (person.is_minor and (person.age or 0) >= OWN_VIEW_AGE):
                raise DomainError(
                    f"En egen vy i Min SIP väljs för unga från {OWN_VIEW_AGE} till 17 år; "
                    "yngre barn ser sin plan genom vårdnadshavarna och vuxna har den alltid.",
                    f"An own view in Min SIP is chosen for young people aged {OWN_VIEW_AGE} to "
                    "17; younger children see their plan through their guardians and adults "
                    "always have it.",
                    "own_view",
                    code="own_view_age",
                )
            person.own_view = own_view
            person.save(update_fields=["own_view"])
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


def _closed_refusal(case: SipCase) -> None:
    if case.is_closed:
        raise DomainError(
            "SIP:en är avslutad. Det som registrerats finns kvar att läsa men ändras inte.",
            "The SIP is closed. What was recorded stays readable but is not changed.",
            "",
            code="closed",
        )


def _party_of_case(case: SipCase, *, actor, party: RelatedParty) -> Unit:
    """The unit that changes a party known in this open SIP: staff of a unit that takes part,
    as for adding one. A party of another SIP (the same person's or not) is refused."""
    _closed_refusal(case)
    unit = acting_unit_for(actor, case)
    known = case.related_parties.filter(pk=party.pk).exists()
    if unit is None or not known or not takes_part_in_case(actor, case):
        audit(
            actor,
            Action.CHANGE,
            "related_party",
            case_id=case.pk,
            person_id=case.person_id,
            outcome=AuditEvent.Outcome.REFUSED,
        )
        raise PermissionRefused(
            "Din enhet deltar inte i denna SIP, eller så är den närstående inte känd i den, så "
            "du får inte ändra den.",
            "Your unit does not take part in this SIP, or the party is not known in it, so you "
            "may not change it.",
            "",
        )
    return unit


def change_related_party(
    case: SipCase,
    *,
    actor,
    party: RelatedParty,
    may_see: str,
    may_act: bool,
    identity_number: str,
) -> RelatedParty:
    """Change what a party known in this SIP is granted (people.services.change_related_party
    validates and audits it), by staff of a unit that takes part, while the SIP is open."""
    unit = _party_of_case(case, actor=actor, party=party)
    return people_services.change_related_party(
        actor=actor,
        unit=unit,
        party=party,
        case=case,
        may_see=may_see,
        may_act=may_act,
        identity_number=identity_number,
    )


def end_related_party_link(case: SipCase, *, actor, party: RelatedParty) -> None:
    """The party is no longer known in this SIP (people.services.end_related_party_link)."""
    unit = _party_of_case(case, actor=actor, party=party)
    people_services.end_related_party_link(actor=actor, unit=unit, party=party, case=case)


def set_own_view(case: SipCase, *, actor, own_view: bool) -> Person:
    """A young person's own view in Min SIP, changed after the information step too: by whoever
    drives the SIP (as record_information, where it is first chosen), while it is open. No
    timeline entry (no transition): people.services.set_own_view audits it."""
    _closed_refusal(case)
    unit = acting_unit_for(actor, case)
    if unit is None or not drives_case(actor, case):
        audit(
            actor,
            Action.CHANGE,
            "person",
            case_id=case.pk,
            person_id=case.person_id,
            outcome=AuditEvent.Outcome.REFUSED,
        )
        raise PermissionRefused(
            "Bara den som samordnar SIP:en kan ändra den unga personens egen vy i Min SIP.",
            "Only whoever coordinates the SIP can change the young person's own view in Min SIP.",
            "",
        )
    return people_services.set_own_view(
        actor=actor, unit=unit, person=case.person, own_view=own_view, case=case
    )
