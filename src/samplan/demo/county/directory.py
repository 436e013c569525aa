"""The demo county's directory (katalog): organisations, their units, staff and assignments, and
the systems that call the API, as the data file names them, each referred to by its key there."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from base64 import b32encode

from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from samplan.api.models import TOKEN_PREFIX
from samplan.api.services import create_client
from samplan.directory.models import Assignment, Organisation, Unit, User
from samplan.directory.validators import luhn_ok


def organisation_number(first_nine: str) -> str:
    """NNNNNN-NNNN with the Luhn check digit the directory validator asks for."""
    digit = next(d for d in "0123456789" if luhn_ok(first_nine + d))
    return f"{first_nine[:6]}-{first_nine[6:]}{digit}"


def hsa_id(organisation: Organisation, suffix: str) -> str:
    return f"SE{organisation.organisation_number.replace('-', '')}-{suffix}"


# The demo's second factor: each demo login's authenticator secret follows from its user name, so
# a newcomer can add it to an app (demo_logins) or ask for the current code (demo_code). Anyone
# who reads this file knows these secrets, as they know the demo password: demo only.
DEMO_AUTHENTICATOR_NAME = "Demo authenticator"


def demo_totp_key(username: str) -> str:
    """The hex key of the demo login's authenticator (20 bytes, as django-otp makes them)."""
    return hmac.new(b"samplan demo county", username.encode(), hashlib.sha1).hexdigest()


def demo_totp_secret(username: str) -> str:
    """The same key in base32, as authenticator apps take it."""
    return b32encode(bytes.fromhex(demo_totp_key(username))).decode()


def add_demo_authenticator(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(
        user=user,
        name=DEMO_AUTHENTICATOR_NAME,
        key=demo_totp_key(user.username),
        confirmed=True,
    )


def demo_api_token(name: str) -> str:
    """The demo API client's token: it follows from the client's name, like the demo's second
    factor (demo only)."""
    digest = hmac.new(b"samplan demo county api", name.encode(), hashlib.sha256).hexdigest()
    return f"{TOKEN_PREFIX}demo_{digest[:32]}"


def _lookup(table: dict, key: str, what: str):
    try:
        return table[key]
    except KeyError:
        raise ValueError(f"no {what} {key!r} in the data file") from None


class Directory:
    """Builds the directory from the data file and finds its parts by key."""

    def __init__(self, password: str) -> None:
        self.password = password
        self._organisations: dict[str, Organisation] = {}
        self._units: dict[str, Unit] = {}
        self._users: dict[str, User] = {}

    # Finding by key ------------------------------------------------------------------------

    def organisation(self, key: str) -> Organisation:
        return _lookup(self._organisations, key, "organisation")

    def organisations(self, keys: list[str]) -> list[Organisation]:
        return [self.organisation(key) for key in keys]

    def unit(self, key: str) -> Unit:
        return _lookup(self._units, key, "unit")

    def units(self, keys: list[str]) -> list[Unit]:
        return [self.unit(key) for key in keys]

    def user(self, username: str) -> User:
        return _lookup(self._users, username, "member of staff")

    # Building ------------------------------------------------------------------------------

    def build(self, data: dict) -> Directory:
        for key, table in data["organisations"].items():
            self._add_organisation(key, dict(table))
        since = timezone.now() - dt.timedelta(days=2 * 365)
        for username, table in data["staff"].items():
            self._add_staff(username, dict(table), since)
        self._add_admin(dict(data["admin"]))
        for table in data.get("api_clients", {}).values():
            create_client(
                name=table["name"],
                unit=self.unit(table["unit"]),
                created_by="load_demo",
                days=None,
                token=demo_api_token(table["name"]),
            )
        return self

    def _add_organisation(self, key: str, table: dict) -> None:
        units = table.pop("units")
        has_hsa = table.pop("hsa", True)
        organisation = Organisation(
            name=table.pop("name"),
            kind=table.pop("kind"),
            organisation_number=organisation_number(table.pop("number")),
            **table,  # e.g. the organisation's own initiative_deadline_days
        )
        if has_hsa:
            organisation.hsa_id = hsa_id(organisation, "1000")
        organisation.full_clean()
        organisation.save()
        self._organisations[key] = organisation
        for unit_key, unit_table in units.items():
            if unit_key in self._units:
                raise ValueError(f"unit key {unit_key!r} used twice")
            unit = Unit(organisation=organisation, **unit_table)
            if organisation.hsa_id:
                unit.hsa_id = hsa_id(organisation, f"E{len(self._units) + 1:04d}")
            unit.full_clean()
            unit.save()
            self._units[unit_key] = unit

    def _add_staff(self, username: str, table: dict, since: dt.datetime) -> None:
        assignments = [(self.unit(row["unit"]), row["role"]) for row in table.pop("assignments")]
        user = User(username=username, email=f"{username}@exempel.invalid", **table)
        home = assignments[0][0].organisation
        if home.hsa_id:
            user.hsa_id = hsa_id(home, f"P{len(self._users) + 1:04d}")
        user.set_password(self.password)
        user.save()
        for unit, role in assignments:
            if role not in Assignment.Role.values:
                raise ValueError(f"{username}: no role {role!r}")
            Assignment.objects.create(user=user, unit=unit, role=role, valid_from=since)
        add_demo_authenticator(user)
        self._users[username] = user

    def _add_admin(self, table: dict) -> None:
        username = table.pop("username")
        admin = User(username=username, email=f"{username}@exempel.invalid", **table)
        admin.is_staff = admin.is_superuser = True
        admin.set_password(self.password)
        admin.save()
        add_demo_authenticator(admin)
