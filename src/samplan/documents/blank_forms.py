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


@dataclass(frozen=True)
class Section:
    """One part of a blank form: a heading, then its fields, or a table of rows ("interventions",
    "attendees", "guardians"), with a hint under the heading where the words need one."""

    heading: str
    fields: tuple[Field, ...] = ()
    table: str = ""
    hint: str = ""


def _field(name: str, label, lines: int = 1) -> Field:
    return Field(name, label, lines)


def _about(name_label) -> tuple[Field, ...]:
    return (
        _field("person_name", name_label),
        _field("person_identity", gettext_lazy("Personal identity number")),
        _field("sip_number", gettext_lazy("SIP number, if there is one")),
        _field("meeting_date", gettext_lazy("Date of the meeting")),
        _field("coordinator", gettext_lazy("SIP coordinator: name, unit and phone")),
    )


def _approval(label) -> Section:
    return Section(
        gettext_lazy("Approval"),
        (
            _field("approved_by", label),
            _field("approved_on", gettext_lazy("Date of approval")),
        ),
    )


# Every part of the plan (SIP.md, "The plan must state"), in the order of the plan, worded for
# the reader: staff and the adult person, or the child or young person and their guardians.
SECTIONS = {
    "adult": (
        Section(gettext_lazy("The person and the SIP"), _about(gettext_lazy("The person's name"))),
        Section(
            gettext_lazy("Needs today"), (_field("needs_today", gettext_lazy("Needs today"), 5),)
        ),
        Section(
            gettext_lazy("The person's own goals"),
            (_field("goals", gettext_lazy("The person's own goals, in their own words"), 5),),
        ),
        Section(gettext_lazy("Interventions"), table="interventions"),
        Section(
            gettext_lazy("Overall responsibility (huvudansvar)"),
            (
                _field(
                    "main_responsible",
                    gettext_lazy("Unit with overall responsibility, and phone"),
                ),
            ),
        ),
        Section(
            gettext_lazy("How the interventions are coordinated"),
            (_field("coordination", gettext_lazy("How the interventions are coordinated"), 4),),
        ),
        Section(
            gettext_lazy("Follow-up"), (_field("follow_up_on", gettext_lazy("Follow-up date")),)
        ),
        Section(
            gettext_lazy("When the cooperation ends"),
            (_field("cooperation_ends", gettext_lazy("When the cooperation ends"), 3),),
        ),
        Section(
            gettext_lazy("Expected of the person"),
            (_field("expected_of_person", gettext_lazy("Expected of the person"), 3),),
        ),
        Section(
            gettext_lazy("Expected of relatives"),
            (_field("expected_of_relatives", gettext_lazy("Expected of relatives"), 3),),
        ),
        Section(gettext_lazy("Who took part"), table="attendees"),
        _approval(
            gettext_lazy("Approved by (the person, a guardian or a legal representative) and name")
        ),
    ),
    "child": (
        Section(gettext_lazy("About me"), _about(gettext_lazy("My name"))),
        Section(
            gettext_lazy("My guardians"),
            table="guardians",
            hint=gettext_lazy(
                "Guardians (vårdnadshavare) take part in the SIP and give consent for a child."
            ),
        ),
        Section(
            gettext_lazy("What I think"),
            (_field("child_views", gettext_lazy("What I think and want, in my own words"), 4),),
        ),
        Section(
            gettext_lazy("What I need help with now"),
            (_field("needs_today", gettext_lazy("What I need help with now"), 4),),
        ),
        Section(
            gettext_lazy("My goals"),
            (_field("goals", gettext_lazy("My goals: what I want to be able to do"), 4),),
        ),
        Section(
            gettext_lazy("Help and support (insatser)"),
            table="interventions",
            hint=gettext_lazy(
                "What help I get, who gives it, who to call, and when it starts and ends."
            ),
        ),
        Section(
            gettext_lazy("Who has the overall responsibility"),
            (
                _field(
                    "main_responsible",
                    gettext_lazy("Who keeps it all together (huvudansvar), and phone"),
                ),
            ),
        ),
        Section(
            gettext_lazy("How the help is coordinated"),
            (_field("coordination", gettext_lazy("How the helpers work together"), 3),),
        ),
        Section(
            gettext_lazy("Follow-up"),
            (_field("follow_up_on", gettext_lazy("When we meet again to see how it is going")),),
        ),
        Section(
            gettext_lazy("When the cooperation ends"),
            (_field("cooperation_ends", gettext_lazy("When the SIP can end"), 2),),
        ),
        Section(
            gettext_lazy("What I will do"),
            (_field("expected_of_person", gettext_lazy("What I will do"), 3),),
        ),
        Section(
            gettext_lazy("What my family will do"),
            (
                _field(
                    "expected_of_relatives",
                    gettext_lazy("What my guardians and family will do"),
                    3,
                ),
            ),
        ),
        Section(gettext_lazy("Who took part"), table="attendees"),
        _approval(gettext_lazy("Approved by (the young person, the guardians) and names")),
    ),
}

HEADINGS = {
    "adult": gettext_lazy("Blank SIP form for adults"),
    "child": gettext_lazy("My SIP: blank form for children and young people"),
}
NOTICES = {
    "adult": gettext_lazy(
        "For when Samplan cannot be used. Fill in every part at the meeting, on paper or in the "
        "form fields. Afterwards the SIP coordinator enters the plan in Samplan with the date of "
        "the meeting and files the paper as the region and municipality agree."
    ),
    "child": gettext_lazy(
        "For when Samplan cannot be used. Write the plan together with the child or young "
        "person and the guardians. Afterwards the SIP coordinator enters the plan in Samplan "
        "with the date of the meeting."
    ),
}
SIGNATURES = {
    "adult": (
        gettext_lazy("Signature of the person (or their representative)"),
        gettext_lazy("Signature of the SIP coordinator"),
    ),
    "child": (
        gettext_lazy("Signature of guardian 1"),
        gettext_lazy("Signature of guardian 2"),
        gettext_lazy("Signature of the child or young person (if they want to)"),
        gettext_lazy("Signature of the SIP coordinator"),
    ),
}

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
    tables = {
        "interventions": (
            intervention_rows(),
            [
                _("Intervention"),
                _("Responsible organisation and unit"),
                _("Named contact and phone"),
                _("Starts"),
                _("Ends"),
            ],
        ),
        "attendees": (attendee_rows(), [_("Name"), _("Represents")]),
        "guardians": (guardian_rows(), [_("Name"), _("Phone")]),
    }
    return render_pdf(
        "documents/blank.html",
        {
            "title": TITLES[kind],
            "kind": kind,
            "heading": HEADINGS[kind],
            "notice": NOTICES[kind],
            "parts": [(section, tables.get(section.table)) for section in SECTIONS[kind]],
            "signatures": SIGNATURES[kind],
            "footer": _("Samplan · blank SIP form · printed %(date)s")
            % {"date": printed_on.isoformat()},
        },
        forms=True,
    )
