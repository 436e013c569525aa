"""The plan editor (planutkast) and establishing the plan (fastställa).

The editor is one Django form for the plan's single parts and three formsets for the parts that
have rows: the person's own goals, the interventions (insatser) and who took part. `PlanEditor`
holds the four, so that `actions.attempt` can run a service for them and put every domain error
at its input (`interventions-0-starts_on` is the start date of the first intervention row).

Rows are added and removed on the server: the "add"/"remove" buttons are submit buttons (no
JavaScript needed) that htmx also posts, to swap just the part in place. Either way the form is
re-rendered from what was posted, one row more or less; nothing is saved and nothing is lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from samplan.cases.models import PlanVersion
from samplan.cases.services import InterventionData, PlanDraft
from samplan.directory.models import Organisation, Unit
from samplan.people.models import RelatedParty

from . import DateInput, TimeInput, VersionedForm, local_datetime

MAX_ROWS = 50  # per part; a plan with more goals or interventions than this is not one plan

# Each part with rows: its formset prefix, the name of its buttons ("add_goal", "remove_goal"),
# its fields, and the field that a problem of the whole part ("no goals") is shown at.
PART_FIELDS = {
    "goals": ("goal", ("text",)),
    "interventions": (
        "intervention",
        ("description", "responsible", "contact_name", "starts_on", "ends_on", "ends_note"),
    ),
    "attendees": ("attendee", ("name", "represents")),
}


def field_anchor(name: str) -> str:
    """The id of the editor's input for a field a plan problem names ("goals" → the first
    goal's input)."""
    if name in PART_FIELDS:
        return f"id_{name}-0-{PART_FIELDS[name][1][0]}"
    return f"id_{name}"


def _text(label, *, rows: int = 3, help_text="") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
        max_length=4000,
    )


def _line(label, *, help_text="", max_length: int = 200) -> forms.CharField:
    return forms.CharField(label=label, required=False, help_text=help_text, max_length=max_length)


def _date(label, *, help_text="") -> forms.DateField:
    return forms.DateField(label=label, required=False, help_text=help_text, widget=DateInput)


@dataclass
class PlanChoices:
    """Who can be named in the plan: the units taking part (and any unit the plan already
    names), the organisations the person's consent covers, and the person's related parties.
    Loaded once per page, shared by every row."""

    units: list[Unit] = field(default_factory=list)
    organisations: list[Organisation] = field(default_factory=list)
    parties: list[RelatedParty] = field(default_factory=list)

    def unit_choices(self) -> list[tuple[str, str]]:
        return [("", _("Choose a unit"))] + [
            (str(unit.pk), f"{unit.name}, {unit.organisation.name}") for unit in self.units
        ]

    def responsible_choices(self) -> list[tuple[str, str]]:
        return (
            [("", _("Choose who is responsible"))]
            + [(f"unit:{unit.pk}", f"{unit.name}, {unit.organisation.name}") for unit in self.units]
            + [
                (
                    f"organisation:{organisation.pk}",
                    _("%(name)s (the organisation)") % {"name": organisation.name},
                )
                for organisation in self.organisations
            ]
            + [
                (f"party:{party.pk}", f"{party.name}, {party.get_kind_display()}")
                for party in self.parties
            ]
        )

    def unit(self, value: str) -> Unit | None:
        return next((unit for unit in self.units if str(unit.pk) == value), None)

    def responsible(self, value: str) -> dict:
        kind, _sep, pk = value.partition(":")
        found = {
            "unit": (self.units, "unit"),
            "organisation": (self.organisations, "organisation"),
            "party": (self.parties, "responsible_party"),
        }.get(kind)
        if not found:
            return {}
        items, name = found
        return {name: next((item for item in items if str(item.pk) == pk), None)}


def responsible_value(unit_id, organisation_id, party_id) -> str:
    if unit_id:
        return f"unit:{unit_id}"
    if organisation_id:
        return f"organisation:{organisation_id}"
    if party_id:
        return f"party:{party_id}"
    return ""


class PlanForm(forms.Form):
    """The parts of the plan that are said once."""

    # Empty when the form starts a new draft; otherwise the draft's lock_version.
    version = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    needs_today = _text(
        gettext_lazy("The person's needs today"),
        rows=4,
        help_text=gettext_lazy("As the person and those taking part describe them."),
    )
    main_responsible_unit = forms.ChoiceField(
        label=gettext_lazy("Overall responsibility (huvudansvar)"),
        required=False,
        help_text=gettext_lazy("The unit that holds overall responsibility for the plan."),
    )
    coordination = _text(gettext_lazy("How the interventions are coordinated"))
    follow_up_on = _date(gettext_lazy("Follow-up date"))
    cooperation_ends = _text(
        gettext_lazy("When the cooperation ends"),
        rows=2,
        help_text=gettext_lazy("A date or what has to be true, for example a goal reached."),
    )
    expected_of_person = _text(gettext_lazy("What is expected of the person"))
    expected_of_relatives = _text(gettext_lazy("What is expected of relatives"))

    def __init__(self, *args, choices: PlanChoices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["main_responsible_unit"].choices = choices.unit_choices()


class GoalForm(forms.Form):
    text = _text(gettext_lazy("In the person's own words"), rows=2)


class InterventionForm(forms.Form):
    description = _text(
        gettext_lazy("Intervention"),
        rows=2,
        help_text=gettext_lazy("Support, care or treatment."),
    )
    responsible = forms.ChoiceField(label=gettext_lazy("Responsible"), required=False)
    contact_name = _line(gettext_lazy("Named contact"))
    starts_on = _date(gettext_lazy("Starts"))
    ends_on = _date(gettext_lazy("Ends"))
    ends_note = _line(
        gettext_lazy("Or when it ends, in words"),
        help_text=gettext_lazy("For example “at the follow-up”."),
    )

    def __init__(self, *args, responsible_choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["responsible"].choices = responsible_choices


class AttendeeForm(forms.Form):
    name = _line(gettext_lazy("Name"))
    represents = _line(
        gettext_lazy("Represents"),
        help_text=gettext_lazy("The person, a relative, or a unit."),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("represents", "").strip() and not cleaned.get("name", "").strip():
            self.add_error("name", _("Enter the name of the one who took part."))
        return cleaned


def _formset(form_class):
    return forms.formset_factory(
        form_class, extra=0, max_num=MAX_ROWS, absolute_max=MAX_ROWS, validate_max=True
    )


FORMSETS = {
    "goals": _formset(GoalForm),
    "interventions": _formset(InterventionForm),
    "attendees": _formset(AttendeeForm),
}


# --- Posted data, as rows -----------------------------------------------------------------------


def _total(data: Mapping, part: str) -> int:
    try:
        return max(0, min(int(data.get(f"{part}-TOTAL_FORMS", 0)), MAX_ROWS))
    except (TypeError, ValueError):
        return 0


def rows_from_data(data: Mapping, part: str) -> list[dict]:
    fields = PART_FIELDS[part][1]
    return [
        {name: data.get(f"{part}-{index}-{name}", "") for name in fields}
        for index in range(_total(data, part))
    ]


def data_from_rows(part: str, rows: list[dict]) -> dict:
    data = {
        f"{part}-TOTAL_FORMS": str(len(rows)),
        f"{part}-INITIAL_FORMS": str(len(rows)),
        f"{part}-MIN_NUM_FORMS": "0",
        f"{part}-MAX_NUM_FORMS": str(MAX_ROWS),
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"{part}-{index}-{name}"] = value
    return data


def _blank(part: str) -> dict:
    return dict.fromkeys(PART_FIELDS[part][1], "")


def _iso(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def plan_data(plan: PlanVersion | None, *, attendees: Iterable[tuple[str, str]] = ()) -> dict:
    """A plan version as the editor posts it. With no draft, the valid plan is the start of the
    next version: its follow-up date is left for the new version to set (as the service does).
    `attendees` are the ones to suggest when the plan names none."""
    data: dict = {"version": ""}
    rows: dict[str, list[dict]] = {"goals": [], "interventions": [], "attendees": []}
    if plan is not None:
        is_draft = plan.status == PlanVersion.Status.DRAFT
        data.update(
            version=str(plan.lock_version) if is_draft else "",
            needs_today=plan.needs_today,
            main_responsible_unit=str(plan.main_responsible_unit_id or ""),
            coordination=plan.coordination,
            follow_up_on=_iso(plan.follow_up_on) if is_draft else "",
            cooperation_ends=plan.cooperation_ends,
            expected_of_person=plan.expected_of_person,
            expected_of_relatives=plan.expected_of_relatives,
        )
        rows["goals"] = [{"text": goal.text} for goal in plan.goals.all()]
        rows["interventions"] = [
            {
                "description": item.description,
                "responsible": responsible_value(
                    item.unit_id, item.organisation_id, item.responsible_party_id
                ),
                "contact_name": item.contact_name,
                "starts_on": _iso(item.starts_on),
                "ends_on": _iso(item.ends_on),
                "ends_note": item.ends_note,
            }
            for item in plan.interventions.all()
        ]
        if is_draft:
            rows["attendees"] = [
                {"name": a.name, "represents": a.represents} for a in plan.attendees.all()
            ]
    if not rows["attendees"]:
        rows["attendees"] = [{"name": name, "represents": what} for name, what in attendees]
    for part, part_rows in rows.items():
        # Always a row to write in, and for a problem of the whole part to be shown at.
        data.update(data_from_rows(part, part_rows or [_blank(part)]))
    return data


@dataclass(frozen=True)
class RowChange:
    """A press of "add another goal" or "remove intervention 2"."""

    part: str
    remove: int | None = None  # the row to remove; None adds a row


def row_change(data: Mapping) -> RowChange | None:
    for part, (singular, _fields) in PART_FIELDS.items():
        if f"add_{singular}" in data:
            return RowChange(part)
        if f"remove_{singular}" in data:
            try:
                return RowChange(part, remove=int(data[f"remove_{singular}"]))
            except (TypeError, ValueError):
                return None
    return None


def rearranged(data: Mapping, change: RowChange) -> dict:
    """The posted data with one row more or less in one part; every typed value kept."""
    arranged = {key: data.get(key) for key in data}
    rows = rows_from_data(data, change.part)
    for key in [key for key in arranged if key.startswith(f"{change.part}-")]:
        del arranged[key]
    if change.remove is None:
        if len(rows) < MAX_ROWS:
            rows.append(_blank(change.part))
    elif 0 <= change.remove < len(rows):
        del rows[change.remove]
    arranged.update(data_from_rows(change.part, rows))
    return arranged


# --- The editor -------------------------------------------------------------------------------


class _FieldNames:
    """Every name a domain error may carry that the editor can show at an input."""

    def __init__(self, editor: PlanEditor):
        self.editor = editor

    def __contains__(self, name: str) -> bool:
        return self.editor._locate(name) is not None


class PlanEditor:
    """The plan form and its three row parts. `bound=False` shows `data` as initial values, for
    a first view and after adding or removing a row: no error is shown for a form not yet sent."""

    def __init__(self, data: Mapping, *, choices: PlanChoices, bound: bool = True):
        self.choices = choices
        self.bound = bound
        self._intervention_rows: list[int] | None = None
        self._domain_messages: set[str] = set()
        self._refusals: list[str] = []
        if bound:
            self.plan = PlanForm(data, choices=choices)
        else:
            self.plan = PlanForm(
                initial={name: data.get(name, "") for name in PlanForm.base_fields},
                choices=choices,
            )
        self.parts = {}
        for part, formset_class in FORMSETS.items():
            kwargs = {"prefix": part}
            if part == "interventions":
                kwargs["form_kwargs"] = {"responsible_choices": choices.responsible_choices()}
            if bound:
                self.parts[part] = formset_class(data, **kwargs)
            else:
                rows = rows_from_data(data, part) or [_blank(part)]
                self.parts[part] = formset_class(initial=rows, **kwargs)

    @property
    def goals(self):
        return self.parts["goals"]

    @property
    def interventions(self):
        return self.parts["interventions"]

    @property
    def attendees(self):
        return self.parts["attendees"]

    # -- what actions.attempt needs --

    def is_valid(self) -> bool:
        valid = self.plan.is_valid()
        for formset in self.parts.values():
            valid = formset.is_valid() and valid
        return valid

    @property
    def fields(self) -> _FieldNames:
        return _FieldNames(self)

    def add_error(self, name: str | None, message: str) -> None:
        self._domain_messages.add(str(message))
        located = self._locate(name) if name else None
        if located is None:
            self.plan.add_error(None, message)
        else:
            form, field_name = located
            form.add_error(field_name, message)

    def _locate(self, name: str) -> tuple[forms.Form, str] | None:
        if name in self.plan.fields and name != "version":
            return self.plan, name
        if name in PART_FIELDS:
            name = f"{name}-0-{PART_FIELDS[name][1][0]}"
        part, _sep, rest = name.partition("-")
        index, _sep, field_name = rest.partition("-")
        if part not in self.parts or not index.isdigit():
            return None
        row = int(index)
        if part == "interventions" and self._intervention_rows is not None:
            # The service counts the rows it was given; blank rows were left out.
            if row >= len(self._intervention_rows):
                return None
            row = self._intervention_rows[row]
        forms_ = self.parts[part].forms
        if row >= len(forms_) or field_name not in forms_[row].fields:
            return None
        return forms_[row], field_name

    # -- showing errors --

    def refuse(self, message: str) -> None:
        """Say why the change asked for was not made (the plan can no longer be edited). Shown
        also on a form that is not bound, which keeps what was typed without judging it."""
        self._refusals.append(str(message))

    @property
    def refusals(self) -> list[str]:
        return self._refusals

    @property
    def errors(self) -> bool:
        if self._refusals:
            return True
        if not self.bound:
            return False
        return bool(
            self.plan.errors or any(formset.total_error_count() for formset in self.parts.values())
        )

    def non_field_errors(self) -> list[str]:
        errors = list(self._refusals)
        if self.bound:
            errors.extend(self.plan.non_field_errors())
            for formset in self.parts.values():
                errors.extend(formset.non_form_errors())
        return errors

    def error_summary(self) -> list[tuple[str, str]]:
        """(input id, message) for each error at a field, in the order of the page. A message
        of a row that does not say which row it is gets the row's name in front."""
        if not self.bound:
            return []
        found = []
        order = [
            "needs_today",
            "goals",
            "interventions",
            "main_responsible_unit",
            "coordination",
            "follow_up_on",
            "cooperation_ends",
            "expected_of_person",
            "expected_of_relatives",
            "attendees",
        ]
        for name in order:
            if name in self.parts:
                singular = {
                    "goals": _("Goal %(number)s"),
                    "interventions": _("Intervention %(number)s"),
                    "attendees": _("Attendee %(number)s"),
                }[name]
                for index, form in enumerate(self.parts[name].forms):
                    for field_name, messages in form.errors.items():
                        for message in messages:
                            if message not in self._domain_messages:
                                message = f"{singular % {'number': index + 1}}: {message}"
                            found.append((form[field_name].auto_id, message))
            else:
                for message in self.plan.errors.get(name, []):
                    found.append((self.plan[name].auto_id, message))
        return found

    # -- what the service gets --

    @property
    def version(self) -> int | None:
        return self.plan.cleaned_data.get("version")

    def plan_draft(self) -> PlanDraft:
        """The cleaned rows as the service's PlanDraft; blank intervention rows are left out."""
        cleaned = self.plan.cleaned_data
        interventions = []
        self._intervention_rows = []
        for index, form in enumerate(self.interventions.forms):
            row = form.cleaned_data
            if not any(row.get(name) for name in PART_FIELDS["interventions"][1]):
                continue
            self._intervention_rows.append(index)
            interventions.append(
                InterventionData(
                    description=row["description"].strip(),
                    contact_name=row["contact_name"].strip(),
                    starts_on=row["starts_on"],
                    ends_on=row["ends_on"],
                    ends_note=row["ends_note"].strip(),
                    **self.choices.responsible(row["responsible"]),
                )
            )
        return PlanDraft(
            needs_today=cleaned["needs_today"].strip(),
            goals=[form.cleaned_data.get("text", "") for form in self.goals.forms],
            interventions=interventions,
            main_responsible_unit=self.choices.unit(cleaned["main_responsible_unit"]),
            coordination=cleaned["coordination"].strip(),
            follow_up_on=cleaned["follow_up_on"],
            cooperation_ends=cleaned["cooperation_ends"].strip(),
            expected_of_person=cleaned["expected_of_person"].strip(),
            expected_of_relatives=cleaned["expected_of_relatives"].strip(),
            attendees=[
                (
                    form.cleaned_data.get("name", "").strip(),
                    form.cleaned_data.get("represents", "").strip(),
                )
                for form in self.attendees.forms
            ],
        )


# --- Establishing -------------------------------------------------------------------------------


class ProposalForm(VersionedForm):
    """Put the draft, as shown, before the person for approval."""


class ApprovalForm(VersionedForm):
    """The person's approval of the draft (or a guardian's for a child). The service checks
    what is missing, in both languages, next to the field."""

    approved_by = forms.ChoiceField(
        label=gettext_lazy("Who approved the plan?"),
        choices=PlanVersion.ApprovedBy.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    approved_by_name = _line(gettext_lazy("Name of the one who approved"))
    # Only for a plan agreed on the paper SIP form while Samplan was down (docs/operations.md).
    agreed_on = forms.DateField(
        label=gettext_lazy("Date on the paper form"),
        required=False,
        widget=DateInput,
        error_messages={"invalid": gettext_lazy("Enter a real date, for example 2025-05-12.")},
    )
    agreed_time = forms.TimeField(
        label=gettext_lazy("Time on the paper form"),
        help_text=gettext_lazy("Swedish time, for example 09:30."),
        required=False,
        widget=TimeInput,
        error_messages={"invalid": gettext_lazy("Enter a time, for example 09:30.")},
    )

    def clean(self):
        cleaned = super().clean()
        date, time = cleaned.get("agreed_on"), cleaned.get("agreed_time")
        if date is not None and time is None and "agreed_time" not in self.errors:
            self.add_error(
                "agreed_time", _("Enter the time the plan was approved on the paper form.")
            )
        if time is not None and date is None and "agreed_on" not in self.errors:
            self.add_error(
                "agreed_on", _("Enter the date the plan was approved on the paper form.")
            )
        return cleaned

    def agreed_at(self) -> dt.datetime | None:
        """When the plan was approved on the paper form, in Swedish local time; None when the
        approval is given now."""
        return local_datetime(
            self.cleaned_data.get("agreed_on"), self.cleaned_data.get("agreed_time")
        )
