"""Forms for förberedelse: what the meeting should discuss, whom the person invites and their
meeting preferences. Ranges and who may be invited are checked by the services, so those errors
read in Swedish and English from the domain error itself."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from samplan.directory.models import Unit
from samplan.people.models import RelatedParty

from . import VersionedForm

_TEXT = {"rows": 3}


class _RelatedPartyChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, party: RelatedParty) -> str:
        relation = f", {party.relation}" if party.relation else ""
        return f"{party.name} – {party.get_kind_display()}{relation}"


class PreparationForm(VersionedForm):
    """The preparation as the person wants it. `version` is the preparation's lock_version."""

    needs_to_discuss = forms.CharField(
        label=_("What should the meeting discuss?"),
        help_text=_("The person's needs and questions, in their own words."),
        required=False,
        widget=forms.Textarea(attrs=_TEXT),
        max_length=4000,
    )
    related_parties = _RelatedPartyChoice(
        label=_("People the person invites"),
        help_text=_("Guardians, relatives, god man, personligt ombud or a stödperson."),
        queryset=RelatedParty.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    not_to_invite = forms.CharField(
        label=_("Who the person does not want invited"),
        required=False,
        widget=forms.Textarea(attrs=_TEXT),
        max_length=4000,
    )
    preferred_place = forms.CharField(label=_("Best place"), required=False, max_length=200)
    preferred_time_of_day = forms.CharField(
        label=_("Best time of day"),
        help_text=_(
            "For example “förmiddag” or “afternoon”. Morning, afternoon and evening are "
            "compared with the time of the meeting when it is called."
        ),
        required=False,
        max_length=100,
    )
    max_length_minutes = forms.IntegerField(
        label=_("Longest meeting, in minutes"),
        help_text=_("Between 10 and 480 minutes. Leave empty if it does not matter."),
        required=False,
    )
    disturbances = forms.CharField(
        label=_("What may disturb the person"),
        required=False,
        widget=forms.Textarea(attrs=_TEXT),
        max_length=4000,
    )
    room_needs = forms.CharField(
        label=_("What the person needs to know about the room and its surroundings"),
        required=False,
        widget=forms.Textarea(attrs=_TEXT),
        max_length=4000,
    )
    picture_support = forms.BooleanField(label=_("Picture support (bildstöd)"), required=False)
    interpreter_language = forms.CharField(
        label=_("Interpreter, language"),
        help_text=_("Leave empty if no interpreter is needed."),
        required=False,
        max_length=40,
    )
    sign_language = forms.BooleanField(label=_("Sign language interpreter"), required=False)
    assistant = forms.BooleanField(label=_("Assistant"), required=False)
    other_support = forms.CharField(
        label=_("Other support"),
        required=False,
        widget=forms.Textarea(attrs=_TEXT),
        max_length=4000,
    )

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        # The parties known in this SIP only; the person's parties in other SIPs stay there.
        self.fields["related_parties"].queryset = case.related_parties.order_by("kind", "name")

    def preparation_values(self) -> dict:
        """The cleaned values for services.update_preparation (PREPARATION_FIELDS)."""
        values = {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in {"version", "related_parties"}
        }
        for name, value in values.items():
            if isinstance(value, str):
                values[name] = value.strip()
        return values


class AddUnitForm(forms.Form):
    """A unit from the directory the person wants invited (services.add_participant). The
    template shows the units grouped by organisation, so this is a plain choice of an id."""

    prefix = "add"

    unit = forms.ModelChoiceField(
        label=_("Add a unit the person wants invited"),
        help_text=_("Units are grouped by organisation."),
        queryset=Unit.objects.none(),
        error_messages={
            "required": _("Choose a unit."),
            "invalid_choice": _("Choose a unit from the list."),
        },
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
