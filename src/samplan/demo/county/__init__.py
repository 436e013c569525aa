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
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from samplan.cases.models import SipCase, State
from samplan.directory.models import Assignment, Organisation, Unit, User
from samplan.people.models import Person

from .clock import Clock
from .directory import Directory
from .stories import Stories

PASSWORD = "samplan-demo"
DATA_FILE = Path(__file__).resolve().parent.parent / "county.toml"

__all__ = [
    "DATA_FILE",
    "PASSWORD",
    "DemoCounty",
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
        return summary()


def is_loaded() -> bool:
    return Organisation.objects.exists()


def summary() -> dict[str, int]:
    counts = {
        "organisations": Organisation.objects.count(),
        "units": Unit.objects.count(),
        "staff": User.objects.filter(assignments__isnull=False).distinct().count(),
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
