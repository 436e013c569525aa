import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from samplan.cases.models import SipCase


class DateInput(forms.DateInput):
    """The browser's own date picker; the value is always ISO 8601, which DateField reads,
    whatever the language."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    """The browser's own time picker, 24-hour HH:MM."""

    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


def local_datetime(date: dt.date | None, time: dt.time | None) -> dt.datetime | None:
    """A date and a time typed in Swedish local time (Europe/Stockholm) as an aware datetime;
    None while either is missing."""
    if date is None or time is None:
        return None
    return timezone.make_aware(dt.datetime.combine(date, time), timezone.get_default_timezone())


class VersionedForm(forms.Form):
    """Carries the version the user saw, so a save based on old content is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class _ClosingReasonField(forms.ChoiceField):
    """Shows the reasons that fit the case; any known reason posted anyway reaches the service,
    which says in both languages why it does not fit (rather than a bare "invalid choice")."""

    def valid_value(self, value) -> bool:
        return value in SipCase.ClosingReason.values


class CloseCaseForm(VersionedForm):
    """Avslut. Offers only the reasons that fit the case (`services.closing_reasons`): no "goals
    reached" for a SIP that never had an established plan."""

    reason = _ClosingReasonField(
        label=_("Why is the SIP closed?"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a reason for closing.")},
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Required when the reason is “Other”. No health details needed."),
        max_length=4000,
    )

    def __init__(self, *args, reasons: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(SipCase.ClosingReason.choices)
        self.fields["reason"].choices = [(value, labels[value]) for value in reasons]
