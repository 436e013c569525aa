"""The one way a private individual (not staff) reaches personal data: Min SIP (samplan.mypages).

A *citizen* is someone signed in with e-legitimation (BankID or Freja eID through the region's
identity broker, or the demo sign-in): all Samplan knows of them is the identity number the
provider vouched for and the name it gave. They reach a SIP only through a *capacity*, one per
SIP, derived from the register every time (nothing about rights is kept in the session):

* **the person themselves**: from 18 they see everything in their SIPs and act (approve the plan,
  revoke consent, end the SIP). At 15–17 only when `Person.own_view` is set (decided by them and
  their guardians): they see everything and steer their own meeting preferences and goal ratings,
  while approving, revoking and ending stay with the guardians. Under 15: no own view; the
  guardians see and act for them.
* **a related party known in that SIP** (`SipCase.related_parties`) whose `identity_number`
  matches: a guardian of a person under 18 sees everything and acts; a god man or förvaltare whose
  recorded mandate covers it (`RelatedParty.may_act`) sees everything and acts; everyone else
  (relatives, a guardian of an adult, an ombud, a support person) sees only what the person
  granted (`RelatedParty.may_see`: meetings, the approved plan, or everything) and never acts.

Closed SIPs stay readable for the retention time, as for staff. Every read is audited here, with
the capacity (`AuditEvent.citizen_role`, `citizen_party`) and a pseudonym of the citizen
(`log_name`: a keyed hash of the identity number, never the number itself); a SIP the citizen
may not see is a 404 whose refusal is logged, whether it exists or not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from samplan.access.chain import write_events
from samplan.access.models import AuditEvent
from samplan.access.services import _event, audit
from samplan.cases.models import SipCase
from samplan.people.models import Person, RelatedParty

SESSION_KEY = "samplan_citizen"

PERSON_ROLE = "person"
Sees = RelatedParty.Sees
# What a page of Min SIP shows, and which grants (RelatedParty.may_see) include it.
PARTS = {
    "any": {Sees.MEETINGS, Sees.PLAN, Sees.EVERYTHING},
    "meetings": {Sees.MEETINGS, Sees.EVERYTHING},
    "plan": {Sees.PLAN, Sees.EVERYTHING},
    "everything": {Sees.EVERYTHING},
}
ACTING_KINDS = {RelatedParty.Kind.GOD_MAN, RelatedParty.Kind.FORVALTARE}
OWN_VIEW_AGE = 15
ADULT_AGE = 18


@dataclass
class Citizen:
    """A signed-in private individual (request.citizen). Kept in the session as plain values."""

    identity_number: str
    name: str = ""
    method: str = ""  # "oidc" (BankID/Freja through the broker) or "demo"
    signed_in_at: dt.datetime = field(default_factory=timezone.now)
    _capacities: dict[int, Capacity] | None = field(default=None, repr=False, compare=False)

    is_authenticated = False  # never a staff user: audit rows carry no user

    def to_session(self) -> dict:
        return {
            "identity_number": self.identity_number,
            "name": self.name,
            "method": self.method,
            "signed_in_at": self.signed_in_at.isoformat(),
        }

    @classmethod
    def from_session(cls, data) -> Citizen | None:
        try:
            return cls(
                identity_number=data["identity_number"],
                name=data.get("name", ""),
                method=data.get("method", ""),
                signed_in_at=dt.datetime.fromisoformat(data["signed_in_at"]),
            )
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def log_name(self) -> str:
        """How the log names the citizen: a keyed pseudonym of the identity number. An officer
        who knows the number can compute it (`citizen_log_name`); the log never holds it."""
        return citizen_log_name(self.identity_number)

    def audit_fields(self) -> dict:
        return {"username": self.log_name, "citizen_role": "citizen"}

    def capacities(self) -> dict[int, Capacity]:
        """Case id → capacity, for every SIP this citizen may see. Cached on the object (one
        request)."""
        if self._capacities is None:
            self._capacities = _capacities(self)
        return self._capacities

    def forget(self) -> None:
        self._capacities = None


def role_words(role: str) -> str:
    """Who took a step in Min SIP, by capacity, never by name (CaseEvent.citizen_role,
    GoalRating.rated_by_role, AuditEvent.citizen_role), as staff read it."""
    words = {
        PERSON_ROLE: _("the person (Min SIP)"),
        RelatedParty.Kind.GUARDIAN: _("guardian (Min SIP)"),
        RelatedParty.Kind.GOD_MAN: _("god man (Min SIP)"),
        RelatedParty.Kind.FORVALTARE: _("förvaltare (Min SIP)"),
        RelatedParty.Kind.RELATIVE: _("a relative (Min SIP)"),
    }
    return str(words.get(role, _("someone acting for the person (Min SIP)")))


def role_words_for_person(role: str, reader: Capacity | None = None, party_id=None) -> str:
    """Who took a step in Min SIP, by capacity, never by name, as the person's own pages say it
    to `reader` (the capacity reading; `party_id`: the RelatedParty who took it, if any): "you"
    for the reader's own steps, "your guardian" when the person reads, "a guardian" when someone
    else does. Lower case, for a sentence. Staff read role_words."""
    own = reader is not None and role == reader.role
    if own and (reader.party is None or party_id == reader.party.pk):
        return str(_("you"))
    if role == PERSON_ROLE:
        return str(_("the person"))
    if reader is not None and reader.is_person:
        words = {
            RelatedParty.Kind.GUARDIAN: _("your guardian"),
            RelatedParty.Kind.GOD_MAN: _("your god man"),
            RelatedParty.Kind.FORVALTARE: _("your förvaltare"),
            RelatedParty.Kind.RELATIVE: _("your relative"),
        }
        return str(words.get(role, _("someone acting for you")))
    words = {
        RelatedParty.Kind.GUARDIAN: _("a guardian"),
        RelatedParty.Kind.GOD_MAN: _("a god man"),
        RelatedParty.Kind.FORVALTARE: _("a förvaltare"),
        RelatedParty.Kind.RELATIVE: _("a relative"),
    }
    return str(words.get(role, _("someone acting for the person")))


def citizen_log_name(identity_number: str) -> str:
    digest = hmac.new(
        settings.SAMPLAN_AUDIT_KEY.encode(), identity_number.encode(), hashlib.sha256
    ).hexdigest()
    return f"minsip:{digest[:16]}"


@dataclass
class Capacity:
    """How one citizen stands to one SIP. Passed to services as the actor."""

    citizen: Citizen
    case_id: int
    person_id: int
    role: str  # "person" or a RelatedParty.Kind
    party: RelatedParty | None
    sees: str  # a RelatedParty.Sees
    may_act: bool  # approve, ask for changes, revoke consent, end the SIP
    may_steer: bool  # may_act, or a young person's own preferences and goal ratings

    is_authenticated = False

    @property
    def is_person(self) -> bool:
        return self.role == PERSON_ROLE

    def sees_part(self, part: str) -> bool:
        if part == "steer":
            return self.may_steer
        if part == "act":
            return self.may_act
        return self.sees in PARTS[part]

    @property
    def display_name(self) -> str:
        """The acting citizen's name as the record shows it (e.g. who approved a plan)."""
        if self.party is not None:
            return self.party.name
        return self.citizen.name

    @property
    def approved_by(self) -> str:
        from samplan.cases.models import PlanVersion

        if self.role == PERSON_ROLE:
            return PlanVersion.ApprovedBy.PERSON
        if self.role == RelatedParty.Kind.GUARDIAN:
            return PlanVersion.ApprovedBy.GUARDIAN
        return PlanVersion.ApprovedBy.LEGAL_REPRESENTATIVE

    def audit_fields(self) -> dict:
        return {
            "username": self.citizen.log_name,
            "citizen_role": self.role,
            "citizen_party_id": self.party.pk if self.party is not None else None,
        }

    def allows(self, citizen_right: str, case: SipCase) -> bool:
        """Whether this capacity (re-derived from the register, for a case locked by the
        caller) lets the citizen take an action needing `citizen_right` (transitions.ACT or
        STEER)."""
        self.citizen.forget()
        fresh = self.citizen.capacities().get(case.pk)
        if fresh is None or fresh.role != self.role or fresh.person_id != case.person_id:
            return False
        if citizen_right == "act":
            return fresh.may_act
        if citizen_right == "steer":
            return fresh.may_steer
        return False


def own_rights(person: Person) -> tuple[str, bool, bool] | None:
    """(sees, may_act, may_steer) of a person in their own SIPs, or None below their own view."""
    age = person.age
    if age is None or age >= ADULT_AGE:
        return Sees.EVERYTHING, True, True
    if age >= OWN_VIEW_AGE and person.own_view:
        return Sees.EVERYTHING, False, True
    return None


def party_rights(party: RelatedParty, person: Person) -> tuple[str, bool, bool] | None:
    age = person.age
    minor = age is not None and age < ADULT_AGE
    if party.kind == RelatedParty.Kind.GUARDIAN:
        # Custody ends at 18: what a guardian saw for the child is not the adult's grant.
        return (Sees.EVERYTHING, True, True) if minor else None
    if party.kind in ACTING_KINDS and party.may_act:
        return Sees.EVERYTHING, True, True
    if party.may_see == Sees.NOTHING:
        return None
    return party.may_see, False, False


_RANK = {Sees.MEETINGS: 1, Sees.PLAN: 1, Sees.EVERYTHING: 2}


def within_retention() -> Q:
    cutoff = timezone.now() - dt.timedelta(days=settings.SAMPLAN_RETENTION_DAYS)
    return Q(closed_at__isnull=True) | Q(closed_at__gte=cutoff)


def _capacities(citizen: Citizen) -> dict[int, Capacity]:
    found: dict[int, Capacity] = {}
    number = citizen.identity_number
    if not number:
        return found
    person = Person.objects.filter(identity_number=number).first()
    own = own_rights(person) if person is not None else None
    if own is not None:
        for case_id in SipCase.objects.filter(within_retention(), person=person).values_list(
            "pk", flat=True
        ):
            found[case_id] = Capacity(citizen, case_id, person.pk, PERSON_ROLE, None, *own)
    parties = {
        party.pk: party
        for party in RelatedParty.objects.filter(identity_number=number).select_related("person")
    }
    if not parties:
        return found
    Known = SipCase.related_parties.through
    rows = Known.objects.filter(
        relatedparty_id__in=list(parties),
        sipcase__in=SipCase.objects.filter(within_retention()).values("pk"),
    ).values_list("sipcase_id", "relatedparty_id", "sipcase__person_id")
    for case_id, party_id, person_id in rows:
        party = parties[party_id]
        if party.person_id != person_id:
            continue  # a party is known only in the SIPs of their own person
        rights = party_rights(party, party.person)
        if rights is None:
            continue
        candidate = Capacity(citizen, case_id, person_id, party.kind, party, *rights)
        held = found.get(case_id)
        if held is None or _stronger(candidate, held):
            found[case_id] = candidate
    return found


def _stronger(candidate: Capacity, held: Capacity) -> bool:
    return (candidate.may_act, candidate.may_steer, _RANK[candidate.sees]) > (
        held.may_act,
        held.may_steer,
        _RANK[held.sees],
    )


def cases_for_citizen(
    citizen: Citizen, *, what: str = "sip_case_list"
) -> list[tuple[SipCase, Capacity]]:
    """Every SIP the citizen may see, newest first, each with the capacity; every row shown is a
    logged read (the person's log extract shows their own reads too)."""
    capacities = citizen.capacities()
    if not capacities:
        return []
    cases = list(
        SipCase.objects.filter(pk__in=list(capacities))
        .select_related("person", "coordinating_unit__organisation", "coordinator")
        .order_by("-initiated_at", "-pk")
    )
    write_events(
        [
            _event(capacities[case.pk], AuditEvent.Action.READ, what, case.pk, case.person_id)
            for case in cases
        ]
    )
    return [(case, capacities[case.pk]) for case in cases]


def get_case_for_citizen(
    citizen: Citizen, case_id: int, *, part: str = "any", what: str = "sip_case"
) -> tuple[SipCase, Capacity]:
    """The SIP and the citizen's capacity in it, if they may see `part` of it ("any",
    "meetings", "plan", "everything", or "steer"/"act" for what only those acting may open);
    the read is logged. Otherwise 404, logged as refused: a foreign, missing or not granted SIP
    looks the same from outside."""
    capacity = citizen.capacities().get(case_id)
    if capacity is None or not capacity.sees_part(part):
        refused_person = (
            capacity.person_id
            if capacity is not None
            else SipCase.objects.filter(pk=case_id).values_list("person_id", flat=True).first()
        )
        audit(
            capacity or citizen,
            AuditEvent.Action.READ,
            what,
            case_id=case_id if refused_person is not None else None,
            person_id=refused_person,
            outcome=AuditEvent.Outcome.REFUSED,
        )
        raise Http404
    case = (
        SipCase.objects.select_related("person", "coordinating_unit__organisation", "coordinator")
        .filter(pk=case_id)
        .first()
    )
    if case is None:  # deleted between the two queries
        raise Http404
    audit(capacity, AuditEvent.Action.READ, what, case_id=case.pk, person_id=case.person_id)
    return case, capacity


def audit_citizen(actor, action: str, what: str, **kwargs) -> AuditEvent:
    """A row of the log for something a citizen did outside one SIP's pages (signing in, asking
    for a SIP): `actor` is the Citizen or a Capacity."""
    return audit(actor, action, what, **kwargs)
