from django import forms
from django.utils.translation import gettext_lazy as _

from samplan.cases.models import SipCase


class VersionedForm(forms.Form):
    """Carries the version the user saw, so a save based on old content is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class CloseCaseForm(VersionedForm):
    reason = forms.ChoiceField(
        label=_("Why is the SIP closed?"),
        choices=[
            (value, label)
            for value, label in SipCase.ClosingReason.choices
            if value not in {SipCase.ClosingReason.DECLINED, SipCase.ClosingReason.CONSENT_REVOKED}
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a reason for closing.")},
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Required when the reason is “Other”. No health details needed."),
    )
