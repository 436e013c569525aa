"""Forms for starting a SIP (initiativ): find the person by identity number, register them when
they are new, then the initiative itself; and adding a guardian, relative or representative.

Identity numbers, names and the rules of the initiative are checked by the services, so their
errors read in Swedish and English from the domain error itself; these forms only shape input."""

from __future__ import annotations

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from samplan.access.services import active_unit_ids
from samplan.cases.models import SipCase
from samplan.directory.models import Assignment, Unit, User
from samplan.people.models import Person, RelatedParty


class DateTimeLocalInput(forms.DateTimeInput):
    """The browser's own date and time picker; the value is ISO 8601, which DateTimeField reads."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class _ActingUnitMixin:
    """The unit the staff member acts from: a choice only when they hold more than one."""

    def _set_units(self, field: str, units: list[Unit]) -> None:
        self.fields[field].queryset = Unit.objects.filter(
            pk__in=[unit.pk for unit in units]
        ).select_related("organisation")
        if len(units) == 1:
            self.fields[field].widget = forms.HiddenInput()
            self.fields[field].initial = units[0].pk


def _identity_number_field() -> forms.CharField:
    return forms.CharField(
        label=_("Identity number"),
        required=False,
        max_length=40,
        help_text=_(
            "Personnummer or samordningsnummer in any common form, for example 19121212-1212 "
            "or 121212-1212."
        ),
    )


def _reserve_number_field() -> forms.BooleanField:
    return forms.BooleanField(
        label=_("Reserve number"),
        required=False,
        help_text=_("Tick when the person only has a reserve number (reservnummer)."),
    )


class FindPersonForm(_ActingUnitMixin, forms.Form):
    """Step 1: the identity number. Only the full number finds anyone (never a name)."""

    identity_number = _identity_number_field()
    reserve_number = _reserve_number_field()
    unit = forms.ModelChoiceField(
        queryset=Unit.objects.none(),
        label=_("Your unit that takes the initiative"),
        empty_label=None,
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self._set_units("unit", units)
        # Checked as it is typed (htmx); the answer goes to the live region after the field.
        self.fields["identity_number"].widget.attrs.update(
            {
                "autocomplete": "off",
                "spellcheck": "false",
                "hx-post": reverse("workspace:check_identity"),
                "hx-trigger": "keyup changed delay:400ms",
                "hx-target": f"#{self['identity_number'].auto_id}-check",
                "hx-swap": "innerHTML",
            }
        )


class RegisterPersonForm(_ActingUnitMixin, forms.Form):
    """Step 2, for a person not yet registered (people.services.register_person)."""

    identity_number = _identity_number_field()
    reserve_number = _reserve_number_field()
    unit = forms.ModelChoiceField(
        queryset=Unit.objects.none(),
        label=_("Your unit that registers the person"),
        empty_label=None,
    )
    given_name = forms.CharField(label=_("Given name"), required=False, max_length=100)
    family_name = forms.CharField(label=_("Family name"), required=False, max_length=100)
    phone = forms.CharField(label=_("Phone (optional)"), required=False, max_length=40)
    email = forms.EmailField(label=_("E-mail (optional)"), required=False)
    address = forms.CharField(
        label=_("Address (optional)"),
        required=False,
        max_length=300,
        help_text=_("Leave empty for skyddad folkbokföring: that address is never stored."),
    )
    protection = forms.ChoiceField(
        label=_("Protected personal data"),
        choices=Person.Protection.choices,
        initial=Person.Protection.NONE,
        widget=forms.RadioSelect,
    )
    preferred_language = forms.CharField(
        label=_("Preferred language"), initial="svenska", required=False, max_length=40
    )
    interpreter_language = forms.CharField(
        label=_("Interpreter needed in (optional)"),
        required=False,
        max_length=40,
        help_text=_("Empty: no interpreter."),
    )
    sign_language = forms.BooleanField(label=_("Needs sign language"), required=False)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self._set_units("unit", units)

    def person_details(self) -> dict:
        data = self.cleaned_data
        return {
            "phone": data["phone"].strip(),
            "email": data["email"],
            "address": data["address"].strip(),
            "protection": data["protection"],
            "preferred_language": data["preferred_language"].strip() or "svenska",
            "interpreter_language": data["interpreter_language"].strip(),
            "sign_language": data["sign_language"],
        }


class _CoordinatorChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.username


class InitiativeForm(_ActingUnitMixin, forms.Form):
    """Step 3: who took the initiative and why, the kind of SIP, who coordinates it."""

    initiating_unit = forms.ModelChoiceField(
        queryset=Unit.objects.none(), label=_("Initiating unit"), empty_label=None
    )
    initiated_by = forms.ChoiceField(
        label=_("Who took the initiative?"),
        choices=SipCase.InitiatedBy.choices,
        initial=SipCase.InitiatedBy.STAFF,
        widget=forms.RadioSelect,
    )
    initiator_name = forms.CharField(
        label=_("Name of the one who took the initiative"),
        required=False,
        max_length=200,
        help_text=_("When the person or a relative asked for the SIP."),
    )
    reason = forms.CharField(
        label=_("Why is a SIP needed?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Which needs call for kommun and region to coordinate. No details needed."),
        error_messages={"required": _("Say why a SIP is needed.")},
        max_length=4000,
    )
    kind = forms.ChoiceField(
        label=_("Kind of SIP"),
        choices=SipCase.Kind.choices,
        initial=SipCase.Kind.STANDARD,
        widget=forms.RadioSelect,
    )
    discharge_notice_at = forms.DateTimeField(
        label=_("Notice of readiness for discharge came"),
        required=False,
        widget=DateTimeLocalInput(),
    )
    coordinating_unit = forms.ModelChoiceField(
        queryset=Unit.objects.none(), label=_("Coordinating unit"), empty_label=None
    )
    coordinator = _CoordinatorChoice(
        queryset=User.objects.none(),
        label=_("SIP coordinator"),
        required=False,
        empty_label=_("No one named yet"),
    )

    def __init__(self, *args, user, units, **kwargs):
        super().__init__(*args, **kwargs)
        self._set_units("initiating_unit", units)
        mine = set(active_unit_ids(user, (Assignment.Role.COORDINATOR,)))
        # Staff who coordinate nowhere may still record an initiative for their own unit; a
        # coordinator there takes it over.
        coordinating = [unit for unit in units if unit.pk in mine] or list(units)
        self._set_units("coordinating_unit", coordinating)
        if mine:
            self.fields["coordinator"].initial = user.pk
        self.fields["coordinator"].queryset = (
            User.objects.filter(
                assignments__in=Assignment.objects.active().filter(
                    role=Assignment.Role.COORDINATOR, unit__in=[unit.pk for unit in coordinating]
                )
            )
            .distinct()
            .order_by("first_name", "last_name")
        )
        organisations = {unit.organisation for unit in coordinating}
        discharge_days = sorted({o.discharge_deadline_days for o in organisations})
        initiative_days = sorted({o.initiative_deadline_days for o in organisations})
        self.discharge_days = discharge_days[0] if len(discharge_days) == 1 else 3
        self.initiative_days = initiative_days[0] if len(initiative_days) == 1 else None
        if self.initiative_days is not None:
            self.fields["kind"].help_text = _(
                "A SIP meeting is called without delay: within %(days)s days at the coordinating "
                "organisation."
            ) % {"days": self.initiative_days}
        self.fields["discharge_notice_at"].help_text = _(
            "After a hospital stay the SIP meeting must be called within %(days)s days of the "
            "notice (lag 2017:612)."
        ) % {"days": self.discharge_days}


class RelatedPartyForm(forms.Form):
    """A guardian, god man, förvaltare, relative, personligt ombud or stödperson."""

    kind = forms.ChoiceField(
        label=_("Who are they to the person?"),
        choices=RelatedParty.Kind.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    name = forms.CharField(label=_("Name"), required=False, max_length=200)
    relation = forms.CharField(
        label=_("Relation (optional)"),
        required=False,
        max_length=100,
        help_text=_("For example mother, son, neighbour."),
    )
    phone = forms.CharField(label=_("Phone (optional)"), required=False, max_length=40)
    email = forms.EmailField(label=_("E-mail (optional)"), required=False)
    mandate = forms.CharField(
        label=_("Mandate"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For god man and förvaltare: what they act on for the person."),
        max_length=4000,
    )
    may_act = forms.BooleanField(
        label=_("The mandate covers acting in the SIP"),
        required=False,
        help_text=_(
            "For god man and förvaltare: they may approve the plan, revoke consent and end the "
            "SIP for the person, also in Min SIP."
        ),
    )
    identity_number = forms.CharField(
        label=_("Their identity number (optional)"),
        required=False,
        max_length=20,
        help_text=_(
            "Lets them sign in to Min SIP with BankID or Freja and see what the person allows."
        ),
    )
    may_see = forms.ChoiceField(
        label=_("What the person lets them see"),
        choices=RelatedParty.Sees.choices,
        initial=RelatedParty.Sees.NOTHING,
        required=False,
        widget=forms.RadioSelect,
        help_text=_("The guardians of a child under 18 see everything by law."),
    )

    def details(self) -> dict:
        data = self.cleaned_data
        return {
            "relation": data["relation"].strip(),
            "phone": data["phone"].strip(),
            "email": data["email"],
            "mandate": data["mandate"].strip(),
            "may_act": data["may_act"],
            "identity_number": data["identity_number"].strip(),
            "may_see": data["may_see"],
        }


class ChangeRelatedPartyForm(forms.Form):
    """What a party known in the SIP is granted, changed later: the same fields, labels and
    checks (people.services.party_grant_problems) as when they were added."""

    may_see = RelatedPartyForm.base_fields["may_see"]
    may_act = RelatedPartyForm.base_fields["may_act"]
    identity_number = RelatedPartyForm.base_fields["identity_number"]

    def grant(self) -> dict:
        data = self.cleaned_data
        return {
            "may_see": data["may_see"],
            "may_act": data["may_act"],
            "identity_number": data["identity_number"].strip(),
        }


class OwnViewForm(forms.Form):
    """Whether a young person of 15–17 sees their own SIP in Min SIP."""

    own_view = forms.TypedChoiceField(
        label=_("Does the young person see their own SIP in Min SIP?"),
        choices=[
            ("yes", _("Yes, they sign in and see their own SIP")),
            ("no", _("No, their guardians see it for them")),
        ],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose yes or no.")},
        help_text=_("The young person and their guardians decide this together."),
    )
