"""Forms for information and consent (samtycke): information given, consent given or declined,
and revocation (återkallelse). The rules (oral consent documented, a minor's answer by a
guardian, organisations and information named) live in the services, so their errors read in
Swedish and English from the domain error itself."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from samplan.cases.models import Consent
from samplan.directory.models import Organisation

from . import DateInput, VersionedForm


class InformationForm(VersionedForm):
    """The person (and for a child, the guardians) have been told what a SIP is."""

    guardians_contacted = forms.BooleanField(
        label=_("The guardians have been contacted"),
        required=False,
        help_text=_("Required for a child under 18 before the SIP goes on."),
    )
    child_views = forms.CharField(
        label=_("The child's own views"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("In the child's own words where possible; they weigh more with age."),
        max_length=4000,
    )
    own_view = forms.BooleanField(
        label=_("The young person sees their own SIP in Min SIP"),
        required=False,
        help_text=_(
            "For 15–17 years, as they and their guardians decide. They then read their plan and "
            "give their own meeting wishes and ratings; approving, revoking and ending stay with "
            "the guardians."
        ),
    )
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("How and when the information was given. No health details needed."),
        max_length=4000,
    )

    def __init__(self, *args, minor: bool, own_view_age: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not minor:
            del self.fields["guardians_contacted"]
            del self.fields["child_views"]
        if not own_view_age:
            del self.fields["own_view"]


class ConsentForm(VersionedForm):
    """The person's answer: consent given (to whom, what, how long) or declined."""

    decision = forms.ChoiceField(
        label=_("The person's answer"),
        choices=Consent.Decision.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose whether consent was given or declined.")},
    )
    organisations = forms.ModelMultipleChoiceField(
        label=_("Organisations that may exchange information"),
        queryset=Organisation.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Those whose units take part are listed; add others from the directory."),
    )
    add_organisation = forms.ModelChoiceField(
        label=_("Another organisation from the directory"),
        queryset=Organisation.objects.all(),
        required=False,
        empty_label=_("Choose an organisation"),
    )
    information_scope = forms.CharField(
        label=_("Which information may be shared"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example needs, interventions and the plan."),
        max_length=4000,
    )
    exclusions = forms.CharField(
        label=_("Information not to be shared (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )
    valid_until = forms.DateField(
        label=_("Valid until (optional)"),
        required=False,
        widget=DateInput(),
        help_text=_("Empty: until the SIP is closed."),
    )
    method = forms.ChoiceField(
        label=_("How the answer was given"),
        choices=Consent.Method.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    documentation = forms.CharField(
        label=_("Documentation of an oral answer"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required for an oral answer: when, where and who was present."),
        max_length=4000,
    )
    given_by = forms.ChoiceField(
        label=_("Who answered"),
        choices=Consent.GivenBy.choices,
        initial=Consent.GivenBy.PERSON,
        widget=forms.RadioSelect,
    )
    given_by_name = forms.CharField(
        label=_("Name of the one who answered"), required=False, max_length=200
    )
    decline_reason = forms.CharField(
        label=_("Why the person declines (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only if they want it noted. Declining a SIP never reduces their care."),
        max_length=4000,
    )

    def __init__(self, *args, organisations, minor: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisations"].queryset = Organisation.objects.filter(
            pk__in=[organisation.pk for organisation in organisations]
        )
        self.fields["add_organisation"].queryset = Organisation.objects.exclude(
            pk__in=[organisation.pk for organisation in organisations]
        )
        if minor:
            self.fields["given_by"].initial = Consent.GivenBy.GUARDIAN

    def chosen_organisations(self) -> list[Organisation]:
        chosen = list(self.cleaned_data["organisations"])
        extra = self.cleaned_data.get("add_organisation")
        if extra is not None and extra not in chosen:
            chosen.append(extra)
        return chosen


class RevokeConsentForm(VersionedForm):
    """Revocation for one or more organisations, or for all (the SIP closes)."""

    organisations = forms.ModelMultipleChoiceField(
        label=_("Revoke the consent for"),
        queryset=Organisation.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Their units lose access to the SIP at once."),
    )
    everything = forms.BooleanField(
        label=_("All organisations: end the whole consent"),
        required=False,
        help_text=_("The SIP closes. Nothing recorded is lost."),
    )
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example how the person said it."),
        max_length=4000,
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, organisations, coordinating: Organisation | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisations"].queryset = organisations
        if coordinating is not None and organisations.filter(pk=coordinating.pk).exists():
            # Said before the choice, so no one picks what will be refused.
            self.fields["organisations"].help_text = _(
                "Their units lose access to the SIP at once. %(organisation)s holds the "
                "coordinating unit: its consent is revoked only together with all organisations."
            ) % {"organisation": coordinating.name}

    def clean(self):
        data = super().clean()
        if not data.get("everything") and not data.get("organisations"):
            self.add_error(
                "organisations", _("Choose one or more organisations, or all organisations.")
            )
        return data
