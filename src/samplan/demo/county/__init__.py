"""The demo county: Region Sjöland, three kommuner and the authorities a SIP meets, its staff,
and some twenty fictitious persons whose SIPs stand in every state (drawn from EXAMPLES.md).

The content is data, in `demo/county.toml`: organisations, units, staff and their assignments,
and for each SIP the person, their related parties and the steps of the story. This package
reads it, builds the directory (directory.py) and tells each story (stories.py): every step is a
call of samplan.cases.services by a real member of staff with an assignment, so the demo
exercises the same rules as real work. Only history._backdate reaches past the services, to give
the demo its history; see its docstring.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from samplan.access.citizen import PERSON_ROLE, own_rights, party_rights
from samplan.cases.models import SipCase, State
from samplan.directory.models import Assignment, Organisation, Unit, User
from samplan.mail.models import OutgoingMail
from samplan.people.identity import display_number
from samplan.people.models import Person, RelatedParty

from .clock import Clock
from .directory import Directory
from .stories import Stories

PASSWORD = "samplan-demo"
DATA_FILE = Path(__file__).resolve().parent.parent / "county.toml"

__all__ = [
    "DATA_FILE",
    "PASSWORD",
    "DemoCitizen",
    "DemoCounty",
    "demo_citizens",
    "demo_logins",
    "demo_usernames",
    "is_loaded",
    "read_data",
    "summary",
]


def read_data(path: Path = DATA_FILE) -> dict:
    with path.open("rb") as file:
        return tomllib.load(file)


class DemoCounty:
    """Builds the demo county from the data file. Use `load()`; it runs in one transaction."""

    def __init__(self, data: dict | None = None) -> None:
        self.data = data if data is not None else read_data()

    def load(self) -> dict[str, int]:
        with transaction.atomic():
            directory = Directory(PASSWORD).build(self.data)
            stories = Stories(self.data, directory, Clock())
            for name, table in self.data["cases"].items():
                stories.tell(name, table)
            # The history is told now and moved back in time (history.py), so its calls would
            # go out late and with times since changed: only what is done after loading is mailed.
            OutgoingMail.objects.all().delete()
        return summary()


def is_loaded() -> bool:
    return Organisation.objects.exists()


def summary() -> dict[str, int]:
    counts = {
        "organisations": Organisation.objects.count(),
        "units": Unit.objects.count(),
        "staff": User.objects.filter(assignments__isnull=False, api_client__isnull=True)
        .distinct()
        .count(),
        "persons": Person.objects.count(),
        "cases": SipCase.objects.count(),
    }
    for state in State:
        counts[state.value] = SipCase.objects.filter(state=state).count()
    return counts


def demo_usernames(data: dict | None = None) -> list[str]:
    """In the order demo_logins lists them: the staff as the data file lists them, then the
    administrator."""
    data = data if data is not None else read_data()
    return [*data["staff"], data["admin"]["username"]]


def demo_logins() -> list[dict[str, str]]:
    """One row per active assignment of each demo login, and the administrator."""
    now = timezone.now()
    order = demo_usernames()
    users = User.objects.filter(username__in=order, is_active=True)
    rows = []
    for user in sorted(users, key=lambda user: order.index(user.username)):
        assignments = (
            Assignment.objects.active(now).filter(user=user).select_related("unit__organisation")
        )
        for assignment in sorted(assignments, key=lambda assignment: assignment.unit.name):
            rows.append(
                {
                    "username": user.username,
                    "name": user.get_full_name(),
                    "where": f"{assignment.unit.name}, {assignment.unit.organisation.name}",
                    "role": assignment.role,
                }
            )
        if user.is_superuser:
            rows.append(
                {
                    "username": user.username,
                    "name": user.get_full_name(),
                    "where": "Django admin, /admin/",
                    "role": "superuser",
                }
            )
    return rows


@dataclass(frozen=True)
class DemoCitizen:
    """Someone who can sign in to Min SIP in the demo county, and in which capacity."""

    identity_number: str  # 12 digits, as the register and the sign-in have it
    shown_number: str  # with the hyphen
    name: str
    role: str  # "person" or a RelatedParty.Kind
    sip_of: str  # whose SIP: the person's name
    sees: str  # a RelatedParty.Sees
    may_act: bool

    @property
    def is_person(self) -> bool:
        return self.role == PERSON_ROLE

    def describe(self) -> str:
        """In which capacity, in English (demo_logins)."""
        if self.is_person:
            return "the person (acts)" if self.may_act else "the person (own view, 15-17)"
        kind = {"forvaltare": "förvaltare"}.get(self.role, self.role.replace("_", " "))
        if self.may_act:
            return f"{kind} (acts for them)"
        seen = {"meetings": "meeting times", "plan": "the approved plan"}.get(self.sees, self.sees)
        return f"{kind} (sees {seen})"


def demo_citizens() -> list[DemoCitizen]:
    """Who the demo sign-in offers, and demo_logins prints: each fictitious person who has a
    view of their own SIP (adults; 15-17 with their own view), then each related party of a
    fictitious person who has an identity number and a capacity in a SIP they are known in.
    Nobody else: the demo sign-in never signs in a number from outside this list. Two queries;
    the capacities follow the same rules as access/citizen.py."""
    rows = []
    persons = (
        Person.objects.filter(is_fictitious=True, cases__isnull=False).distinct().order_by("pk")
    )
    for person in persons:
        own = own_rights(person)
        if own is not None:
            sees, may_act = own[:2]
            rows.append(
                DemoCitizen(
                    person.identity_number,
                    person.display_identity,
                    person.full_name,
                    PERSON_ROLE,
                    person.full_name,
                    sees,
                    may_act,
                )
            )
    parties = (
        RelatedParty.objects.filter(person__is_fictitious=True, cases__isnull=False)
        .exclude(identity_number="")
        .select_related("person")
        .distinct()
        .order_by("pk")
    )
    for party in parties:
        rights = party_rights(party, party.person)
        if rights is not None:
            sees, may_act = rights[:2]
            rows.append(
                DemoCitizen(
                    party.identity_number,
                    display_number(party.identity_number, "personnummer"),
                    party.name,
                    party.kind,
                    party.person.full_name,
                    sees,
                    may_act,
                )
            )
    return rows
