"""Blank SIP forms for downtime (reservrutin): when Samplan cannot be reached, the meeting
writes the plan on paper or in the PDF's own form fields, and a coordinator enters it
afterwards with its real meeting date.

Two forms: for adults, and for children and young people (plainer words, the child's own view,
a place for the guardians). Every part of the plan has a real PDF form field; the field names
are stable, so a filled-in form can be read back field by field. No personal data: no audit.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .render import render_pdf

KINDS = ("adult", "child")
INTERVENTION_ROWS = 6
ATTENDEE_ROWS = 8
GUARDIAN_ROWS = 2


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    lines: int = 1  # 1: a line of text; more: a box of that many lines


def intervention_rows() -> list[list[Field]]:
    return [
        [
            Field(f"intervention_{n}_what", _("Intervention %(n)s: what") % {"n": n}),
            Field(
                f"intervention_{n}_responsible",
                _("Intervention %(n)s: responsible organisation and unit") % {"n": n},
            ),
            Field(
                f"intervention_{n}_contact",
                _("Intervention %(n)s: named contact and phone") % {"n": n},
            ),
            Field(f"intervention_{n}_starts", _("Intervention %(n)s: starts") % {"n": n}),
            Field(f"intervention_{n}_ends", _("Intervention %(n)s: ends") % {"n": n}),
        ]
        for n in range(1, INTERVENTION_ROWS + 1)
    ]


def attendee_rows() -> list[list[Field]]:
    return [
        [
            Field(f"attendee_{n}_name", _("Took part %(n)s: name") % {"n": n}),
            Field(f"attendee_{n}_represents", _("Took part %(n)s: represents") % {"n": n}),
        ]
        for n in range(1, ATTENDEE_ROWS + 1)
    ]


def guardian_rows() -> list[list[Field]]:
    return [
        [
            Field(f"guardian_{n}_name", _("Guardian %(n)s: name") % {"n": n}),
            Field(f"guardian_{n}_phone", _("Guardian %(n)s: phone") % {"n": n}),
        ]
        for n in range(1, GUARDIAN_ROWS + 1)
    ]


TITLES = {
    "adult": gettext_lazy("Coordinated individual plan (SIP): blank form for adults"),
    "child": gettext_lazy(
        "Coordinated individual plan (SIP): blank form for children and young people"
    ),
}


def blank_form_pdf(kind: str) -> bytes:
    """The blank form as PDF bytes: "adult" or "child"."""
    if kind not in KINDS:
        raise ValueError(f"Unknown blank form {kind!r}; expected one of {KINDS}.")
    printed_on = timezone.localdate()
    return render_pdf(
        f"documents/blank_{kind}.html",
        {
            "title": TITLES[kind],
            "interventions": intervention_rows(),
            "attendees": attendee_rows(),
            "guardians": guardian_rows(),
            "intervention_headers": [
                _("Intervention"),
                _("Responsible organisation and unit"),
                _("Named contact and phone"),
                _("Starts"),
                _("Ends"),
            ],
            "attendee_headers": [_("Name"), _("Represents")],
            "guardian_headers": [_("Name"), _("Phone")],
            "footer": _("Samplan · blank SIP form · printed %(date)s")
            % {"date": printed_on.isoformat()},
        },
        forms=True,
    )
