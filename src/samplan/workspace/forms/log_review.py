"""Loggkontroll: the search of the audit log, the reason asked before exporting rows about
protected persons, and the record of a review."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from samplan.access.models import AuditEvent, LogReview
from samplan.access.review import MANY_PERSONS_PER_DAY, Filters, Flag, Officer, is_their_person
from samplan.directory.models import Organisation
from samplan.errors import DomainError
from samplan.people.identity import PERSONAL_NUMBER, parse_identity
from samplan.people.models import Person

from . import DateInput
from .search import SearchForm

# What the identity field gives for a well-formed number no one is registered with.
NOT_REGISTERED = object()


FLAG_CHOICES = [
    ("", _("No flag")),
    (Flag.EMERGENCY, _("Emergency access")),
    (Flag.PROTECTED, _("Persons with protected personal data")),
    (Flag.MANY_PERSONS, _("Users who read many persons in a day")),
    (Flag.OFF_HOURS, _("Reads outside working hours (before 07, after 18, weekends)")),
    (Flag.REFUSAL_BURSTS, _("Users refused 5 times or more within 10 minutes")),
]


class LogSearchForm(forms.Form):
    """The identity number is posted, never put in the address (like the SIP search); the
    other filters work with GET as well."""

    identity = forms.CharField(
        label=_("Person's identity number"),
        required=False,
        max_length=30,
        help_text=_("Personnummer, samordningsnummer or reservnummer, in any common form."),
    )
    username = forms.CharField(label=_("User name"), required=False, max_length=150)
    unit = forms.ChoiceField(label=_("Unit"), required=False)
    date_from = forms.DateField(label=_("From (date)"), required=False, widget=DateInput)
    date_to = forms.DateField(label=_("To (date)"), required=False, widget=DateInput)
    action = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", _("Any")), *AuditEvent.Action.choices]
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), required=False, choices=[("", _("Any")), *AuditEvent.Outcome.choices]
    )
    flag = forms.ChoiceField(label=_("Flag"), required=False, choices=FLAG_CHOICES)
    threshold = forms.IntegerField(
        label=_("Many persons means more than (per day)"),
        help_text=_("For the flag “users who read many persons”. Empty: 20."),
        required=False,
        min_value=1,
        max_value=100000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    after = forms.CharField(required=False, widget=forms.HiddenInput, max_length=100)
    # Set by the "Show the flags" button: the summary reads a whole period, so it is asked for.
    summary = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.units = {str(unit.pk): unit for unit in units}
        self.fields["unit"].choices = [
            ("", _("Any unit")),
            *((str(unit.pk), unit.name) for unit in units),
        ]

    def clean_identity(self) -> Person | object | None:
        raw = "".join(self.cleaned_data["identity"].split())
        if not raw:
            return None
        try:
            reserve = not PERSONAL_NUMBER.fullmatch(raw)
            number = parse_identity(raw, reserve=reserve, field="identity").number
        except DomainError as error:
            raise forms.ValidationError(error.message, code=error.code) from error
        # A number no one has is no error: it answers as a person of another organisation does
        # (no rows), so the review tells no one whether a number is registered.
        return Person.objects.filter(identity_number=number).first() or NOT_REGISTERED

    def clean_username(self) -> tuple[int | None, str]:
        username = self.cleaned_data["username"].strip()
        if not username:
            return None, ""
        # A user name no one has answers as one outside their scope does: no rows.
        user_id = (
            get_user_model().objects.filter(username=username).values_list("pk", flat=True).first()
        )
        return user_id, username

    def clean_after(self):
        return SearchForm.clean_after(self)

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end of the period is before its start."))
        return data

    def looked_up(self) -> Person | None:
        """The registered person the identity number names, theirs or not: the lookup's audit
        row names them, so that the organisation holding them sees it."""
        person = getattr(self, "cleaned_data", {}).get("identity")
        return person if isinstance(person, Person) else None

    def filters(self, officer: Officer) -> Filters:
        data = self.cleaned_data
        user_id, username = data["username"]
        person = self.looked_up()
        return Filters(
            person=person if person is not None and is_their_person(officer, person) else None,
            person_searched=data["identity"] is not None,
            user_id=user_id,
            username=username,
            unit=self.units.get(data["unit"]),
            date_from=data["date_from"],
            date_to=data["date_to"],
            action=data["action"],
            outcome=data["outcome"],
            flag=data["flag"],
            threshold=data["threshold"] or MANY_PERSONS_PER_DAY,
        )


EXPORT_REASON_MIN = 10
# The reason goes into the audit row's detail (300 characters) beside the search itself.
EXPORT_REASON_MAX = 150


class ExportForm(LogSearchForm):
    reason = forms.CharField(
        label=_("Why do you export rows about persons with protected personal data?"),
        help_text=_("Saved in the log with your export. No health details."),
        required=False,
        max_length=EXPORT_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_reason(self) -> str:
        reason = " ".join(self.cleaned_data["reason"].split())
        if reason and len(reason) < EXPORT_REASON_MIN:
            raise forms.ValidationError(
                _("Write the reason in at least %(count)d characters."),
                params={"count": EXPORT_REASON_MIN},
                code="short",
            )
        return reason


class LogReviewForm(forms.ModelForm):
    """The organisation is asked only of an officer of several; otherwise it is theirs."""

    class Meta:
        model = LogReview
        fields = ["organisation", "period_start", "period_end", "scope", "conclusion"]
        widgets = {
            "period_start": DateInput,
            "period_end": DateInput,
            "scope": forms.Textarea(attrs={"rows": 2}),
            "conclusion": forms.Textarea(attrs={"rows": 6}),
        }
        labels = {
            "organisation": _("Whose log you reviewed"),
            "period_start": _("Period from"),
            "period_end": _("Period to"),
            "scope": _("What the review covered"),
            "conclusion": _("Conclusion"),
        }
        help_texts = {
            "scope": _("The searches and flags you looked at. Filled in from your search."),
            "conclusion": _(
                "What you found and what you will do about it, for example “nothing to remark” "
                "or “asked the unit head about user X's reads on 3 March”."
            ),
        }
        error_messages = {
            "conclusion": {"required": _("Write the conclusion of the review.")},
            "organisation": {
                "required": _("Choose whose log you reviewed."),
                "invalid_choice": _("Choose whose log you reviewed."),
            },
        }

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["organisation"]
        field.queryset = Organisation.objects.filter(pk__in=[o.pk for o in organisations])
        field.required = True
        field.empty_label = _("Choose an organisation")
        self.single = len(organisations) == 1
        if self.single:
            # Nothing to choose: the field is not shown and whatever is posted is ignored.
            field.widget = forms.HiddenInput()
            field.disabled = True
            field.initial = organisations[0].pk

    def clean(self):
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and start > end:
            self.add_error("period_end", _("The end of the period is before its start."))
        return data
