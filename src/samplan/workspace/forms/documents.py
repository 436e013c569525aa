"""The form asked before a protected person's plan is printed. The reason's rules are
documents.printing's, so the error reads in Swedish and English from the domain error."""

from django import forms
from django.utils.translation import gettext_lazy as _

from samplan.documents.printing import REASON_MAX_LENGTH

LAYOUT_CHOICES = [
    ("participants", _("For those who take part (complete)")),
    ("person", _("For the person (plain language)")),
]


class PrintPlanForm(forms.Form):
    layout = forms.ChoiceField(
        label=_("Layout"), choices=LAYOUT_CHOICES, widget=forms.RadioSelect, initial="participants"
    )
    reason = forms.CharField(
        label=_("Why do you print the plan?"),
        help_text=_(
            "The person has protected personal data. Your reason is saved in the log with your "
            "name. The printed plan has no address."
        ),
        required=False,
        # A backstop only: the limit people meet is documents.printing's, named in both languages.
        max_length=REASON_MAX_LENGTH * 4,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
