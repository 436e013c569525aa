"""Swedish identity numbers: personnummer, samordningsnummer (day + 60) and reserve numbers."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils import timezone
from personnummer import personnummer

from samplan.errors import DomainError

RESERVE_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,19}$")
# (YY)YYMMDD, an optional - or + where it belongs, NNNC; ASCII digits only.
PERSONAL_NUMBER = re.compile(r"(?:[0-9]{2})?[0-9]{6}[-+]?[0-9]{4}")


@dataclass(frozen=True)
class Identity:
    kind: str  # "personnummer", "samordningsnummer" or "reserve"
    number: str  # normalised: YYYYMMDDNNNN for the first two, upper case for reserve numbers
    birth_date: dt.date | None


def _today() -> dt.date:
    return timezone.localdate()


def parse_identity(raw: str, *, reserve: bool = False, field: str = "identity_number") -> Identity:
    """Validate and normalise; raise a DomainError naming the field with what is wrong."""
    value = (raw or "").strip().replace(" ", "")
    if not value:
        raise DomainError(
            "Ange personnummer, samordningsnummer eller reservnummer.",
            "Enter a personal identity number, coordination number or reserve number.",
            field,
            code="required",
        )
    if reserve:
        value = value.upper()
        if not RESERVE_NUMBER.match(value):
            raise DomainError(
                "Reservnumret ska vara 4–20 tecken: bokstäver A–Z, siffror och bindestreck.",
                "The reserve number must be 4–20 characters: letters A–Z, digits and hyphens.",
                field,
                code="reserve_format",
            )
        return Identity("reserve", value, None)

    digits = value.replace("-", "").replace("+", "")
    if not PERSONAL_NUMBER.fullmatch(value):
        raise DomainError(
            "Numret ska ha 10 eller 12 siffror, till exempel 19121212-1212.",
            "The number must have 10 or 12 digits, for example 19121212-1212.",
            field,
            code="format",
        )
    try:
        parsed = personnummer.parse(value)
    except personnummer.PersonnummerException:
        month = int(digits[-8:-6])
        day = int(digits[-6:-4])
        if not 1 <= month <= 12 or not (1 <= day <= 31 or 61 <= day <= 91):
            raise DomainError(
                "Datumet i numret finns inte. Kontrollera månad och dag "
                "(samordningsnummer har dag + 60).",
                "The date in the number does not exist. Check month and day "
                "(a coordination number has day + 60).",
                field,
                code="date",
            ) from None
        if len(digits) == 12:
            year = int(digits[:4])
        else:  # YYMMDD: the century as the package reads it ('+' = 100 years or older)
            base = _today().year - (100 if "+" in value else 0)
            year = base - (base - int(digits[:2])) % 100
        try:
            dt.date(year, month, day - 60 if day > 60 else day)
        except ValueError:
            raise DomainError(
                "Datumet i numret finns inte.",
                "The date in the number does not exist.",
                field,
                code="date",
            ) from None
        raise DomainError(
            "Kontrollsiffran stämmer inte. Kontrollera numret.",
            "The check digit does not match. Check the number.",
            field,
            code="checksum",
        ) from None
    birth_date = parsed.get_date()
    if birth_date > _today():
        raise DomainError(
            "Födelsedatumet i numret ligger i framtiden.",
            "The birth date in the number lies in the future.",
            field,
            code="date",
        )
    kind = "samordningsnummer" if parsed.is_coordination_number() else "personnummer"
    return Identity(kind, parsed.format(long_format=True), birth_date)


def age_on(birth_date: dt.date, on: dt.date | None = None) -> int:
    on = on or _today()
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def display_number(number: str, kind: str) -> str:
    if kind in ("personnummer", "samordningsnummer") and len(number) == 12:
        return f"{number[:8]}-{number[8:]}"
    return number


def check_digit(nine_digits: str) -> int:
    """The Luhn check digit of YYMMDDNNN."""
    total = 0
    for index, char in enumerate(nine_digits):
        value = int(char) * (2 - index % 2)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def make_identity_number(birth_date: dt.date, serial: int, *, coordination: bool = False) -> str:
    """A well-formed 12-digit number for tests and demo data (serial 0–999, not 000)."""
    day = birth_date.day + (60 if coordination else 0)
    body = f"{birth_date:%y%m}{day:02d}{serial:03d}"
    return f"{birth_date:%Y%m}{day:02d}{serial:03d}{check_digit(body)}"
