"""Sök: one box for a personnummer (any common form), a SIP number or a name, and filters."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django import forms
from django.utils.translation import gettext_lazy as _

from samplan.cases.models import State
from samplan.errors import DomainError
from samplan.people.identity import PERSONAL_NUMBER, parse_identity

# "SIP-2026-000123", "2026-000123", "SIP-123" or just "123". The year is part of the reference
# but not of the key, so the number alone finds the SIP.
SIP_NUMBER = re.compile(r"(?:SIP-?)?(?:[0-9]{4}-)?([0-9]{1,9})", re.IGNORECASE)
NAME_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")


@dataclass(frozen=True)
class Query:
    """What the box was understood as: "identity" (a normalised identity number), "sip" (a
    case key), "name" (words, each a prefix of a given or family name) or "" (nothing typed)."""

    kind: str = ""
    identity_number: str = ""
    case_id: int | None = None
    words: tuple[str, ...] = ()

    @property
    def names_a_person(self) -> bool:
        """A search for a person is itself audited."""
        return self.kind in {"identity", "name"}


def understand(raw: str) -> Query:
    """Read the search box; a malformed identity number is a DomainError naming the field."""
    text = " ".join((raw or "").split())
    if not text:
        return Query()
    compact = text.replace(" ", "")
    if PERSONAL_NUMBER.fullmatch(compact):
        return Query("identity", identity_number=parse_identity(compact, field="q").number)
    if match := SIP_NUMBER.fullmatch(compact):
        return Query("sip", case_id=int(match.group(1)))
    if any(char.isdigit() for char in text):
        # Neither a personnummer nor a SIP number: a reserve number is matched whole.
        reserve = parse_identity(compact, reserve=True, field="q")
        return Query("identity", identity_number=reserve.number)
    words = tuple(text.split())
    if not all(NAME_WORD.fullmatch(word) for word in words):
        raise DomainError(
            "Skriv ett personnummer, ett SIP-nummer eller ett namn (bokstäver).",
            "Enter a personal identity number, a SIP number or a name (letters).",
            "q",
            code="search_format",
        )
    return Query("name", words=words)


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Personal identity number, SIP number or name"),
        required=False,
        max_length=100,
        help_text=_(
            "For example 19121212-1212, 121212-1212, SIP-2026-000123 or the start of a given "
            "and family name. A person with protected personal data is found by the full "
            "identity number only, unless your unit takes part in their SIP."
        ),
    )
    state = forms.ChoiceField(label=_("State"), required=False)
    unit = forms.ChoiceField(label=_("Coordinating unit"), required=False)
    coordinator = forms.ChoiceField(
        label=_("SIP coordinator"),
        required=False,
        choices=[("", _("Anyone")), ("me", _("Me"))],
        widget=forms.RadioSelect,
    )
    overdue = forms.BooleanField(label=_("Only SIPs with a passed deadline"), required=False)
    after = forms.CharField(required=False, widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("All states")), *State.choices]
        choices = [("", _("Any unit")), ("mine", _("One of my units"))]
        if len(units) > 1:
            choices += [(str(unit.pk), unit.name) for unit in units]
        self.fields["unit"].choices = choices

    def clean_q(self) -> Query:
        try:
            return understand(self.cleaned_data["q"])
        except DomainError as error:
            raise forms.ValidationError(error.message, code=error.code) from error

    def clean_after(self) -> tuple[dt.datetime, int] | None:
        """The keyset cursor: the last row of the page before, as "microseconds:pk"."""
        value = self.cleaned_data["after"]
        if not value:
            return None
        try:
            micros, pk = (int(part) for part in value.split(":"))
            return EPOCH + dt.timedelta(microseconds=micros), pk
        except (ValueError, OverflowError):
            return None  # a mangled cursor starts from the first page


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def cursor_after(moment: dt.datetime, pk: int) -> str:
    """The cursor `SearchForm.clean_after` reads back; exact to the microsecond."""
    return f"{(moment - EPOCH) // dt.timedelta(microseconds=1)}:{pk}"
