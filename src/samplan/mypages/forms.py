"""Forms of Min SIP's plan pages. Each carries the version of the proposal the person read, so
an answer to a proposal the coordinator changed meanwhile is refused as stale (they see the new
one first). Others keep their forms in their own view modules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from samplan.cases.services.plan import CHANGE_REQUEST_MAX_LENGTH
from samplan.workspace.forms import VersionedForm


class ApprovePlanForm(VersionedForm):
    """Approve the proposed version: nothing to fill in but the version read."""


class ChangeRequestForm(VersionedForm):
    text = forms.CharField(
        label=_("What do you want changed in the plan?"),
        help_text=_(
            "Write in your own words. For example a goal you want to add, or help you do not "
            "want. Your SIP coordinator reads it."
        ),
        max_length=CHANGE_REQUEST_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={
            "required": _("Write what you want changed."),
            "max_length": _("Write at most %(limit_value)d characters."),
        },
    )
