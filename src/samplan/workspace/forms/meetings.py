"""Forms for kallelse: calling a meeting, answering a call, moving or cancelling a meeting, and
attendance. Times are typed as a date and a time in Swedish local time (Europe/Stockholm).

Where a choice goes against the person's meeting preferences, the page shows a warning next to
the field (services.preference_warnings); it does not stop the save. With JavaScript, htmx asks
the server again when the place, time or length changes (a POST with `check`, so that a place,
which may be the person's home, never lands in a URL); without it, the "Check against the
person's preferences" button does the same."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from samplan.cases.models import Invitation
from samplan.directory.models import Unit
from samplan.people.models import RelatedParty

from . import DateInput, TimeInput, VersionedForm, local_datetime

# The fields whose warnings htmx refreshes when they change.
CHECKED_FIELDS = ("starts_time", "duration_minutes", "place")


class MeetingTimeForm(VersionedForm):
    """When and where. `starts_at` is the date: it carries the service's name, so that its
    errors ("in the past") land next to it."""

    starts_at = forms.DateField(
        label=_("Date"),
        widget=DateInput,
        error_messages={
            "required": _("Enter the date of the meeting."),
            "invalid": _("Enter a real date, for example 2025-05-12."),
        },
    )
    starts_time = forms.TimeField(
        label=_("Time"),
        help_text=_("Swedish time, for example 09:30."),
        widget=TimeInput,
        error_messages={
            "required": _("Enter the time the meeting starts."),
            "invalid": _("Enter a time, for example 09:30."),
        },
    )
    duration_minutes = forms.IntegerField(
        label=_("Length, in minutes"),
        min_value=1,
        max_value=600,
        error_messages={"required": _("Enter how long the meeting lasts.")},
    )
    place = forms.CharField(
        label=_("Place"),
        help_text=_(
            "Or give a video link below. The place is sent by e-mail to everyone called (not "
            "when the person has protected personal data): write no name or health details."
        ),
        required=False,
        max_length=200,
    )
    video_link = forms.URLField(
        label=_("Video link"),
        required=False,
        assume_scheme="https",
        error_messages={"invalid": _("Enter a full web address, for example https://…")},
        max_length=200,
    )

    def __init__(self, *args, check_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if check_url:
            for name in CHECKED_FIELDS:
                group = f"#{self[name].auto_id}-group"
                self.fields[name].widget.attrs.update(
                    {
                        "hx-post": check_url,
                        "hx-trigger": "change",
                        "hx-vals": '{"check": "1"}',
                        "hx-target": group,
                        "hx-select": group,
                        "hx-swap": "outerHTML",
                    }
                )

    def starts(self) -> dt.datetime | None:
        """The start as an aware datetime in Swedish local time."""
        return local_datetime(
            self.cleaned_data.get("starts_at"), self.cleaned_data.get("starts_time")
        )


class _UnitChoice(forms.ModelMultipleChoiceField):
    def __init__(self, *args, **kwargs):
        self.covered: set[int] = set()
        super().__init__(*args, **kwargs)

    def label_from_instance(self, unit: Unit) -> str:
        label = f"{unit.name} ({unit.organisation.name})"
        if unit.organisation_id not in self.covered:
            label += " – " + str(_("the consent does not cover it"))
        return label


class _PartyChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, party: RelatedParty) -> str:
        return f"{party.name} – {party.get_kind_display()}"


class CallMeetingForm(MeetingTimeForm):
    """Kallelse to the SIP meeting or a follow-up. `version` is the case's lock_version."""

    units = _UnitChoice(
        label=_("Units to call"),
        help_text=_("The units taking part. A called unit is obliged to attend."),
        queryset=Unit.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    related_parties = _PartyChoice(
        label=_("People to invite"),
        help_text=_("Only the people the person chose during the preparation."),
        queryset=RelatedParty.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    invite_person = forms.BooleanField(label=_("Invite the person"), required=False)
    honoured_preferences = forms.CharField(
        label=_("How the person's preferences are met"),
        help_text=_("For example: the interpreter is booked, the room is quiet."),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )

    def __init__(self, *args, units, covered: set[int], related_parties, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["units"].queryset = units
        self.fields["units"].covered = covered
        self.fields["related_parties"].queryset = related_parties


class MoveMeetingForm(MeetingTimeForm):
    """Flytta mötet. `version` is the meeting's sequence."""


class CancelMeetingForm(VersionedForm):
    """Ställ in mötet. `version` is the case's lock_version."""

    reason = forms.CharField(
        label=_("Why is the meeting cancelled?"),
        help_text=_("Everyone called sees the reason. No health details needed."),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )


class AnswerForm(VersionedForm):
    """The answer to one invitation. `version` is the invitation's lock_version: an answer
    recorded meanwhile is not overwritten unseen. `sequence` is the meeting's: an answer to a
    time that has since moved is refused, and the page says so. Prefixed by the invitation, so
    that every invitation on the meeting page has its own."""

    sequence = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    answer = forms.ChoiceField(
        label=_("Answer"),
        choices=[
            (Invitation.Answer.ACCEPTED, _("Accepts, will attend")),
            (Invitation.Answer.DECLINED, _("Declines")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose an answer.")},
    )
    decline_reason = forms.CharField(
        label=_("Reason for declining"),
        help_text=_("Required when declining: a called party is obliged to attend."),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=4000,
    )


class AttendanceForm(VersionedForm):
    """Who came, one checkbox per invitation (`attended_<id>`, the field the service names in
    its errors), and for those who never answered a second one: came without answering.
    `version` is the meeting's sequence; a hidden `lock_<id>` per invitation carries the
    invitation's lock_version, so attendance or an answer saved meanwhile is not overwritten
    unseen. Each invitation carries its invitee's `name`."""

    def __init__(self, *args, invitations, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = []
        for invitation in invitations:
            self.fields[f"lock_{invitation.pk}"] = forms.IntegerField(
                widget=forms.HiddenInput, min_value=0, initial=invitation.lock_version
            )
            present = f"attended_{invitation.pk}"
            self.fields[present] = forms.BooleanField(
                label=invitation.name,
                help_text=_answer_text(invitation),
                required=False,
                initial=bool(invitation.attended),
            )
            unanswered = None
            if invitation.answer == Invitation.Answer.NO_ANSWER:
                unanswered = f"without_answer_{invitation.pk}"
                self.fields[unanswered] = forms.BooleanField(
                    label=format_lazy(_("{name} came without answering"), name=invitation.name),
                    required=False,
                    initial=bool(invitation.attended),
                )
            self.rows.append((invitation, self[present], self[unanswered] if unanswered else None))

    def attended(self) -> dict[int, bool]:
        return {
            invitation.pk: self.cleaned_data[f"attended_{invitation.pk}"]
            for invitation, _present, _unanswered in self.rows
        }

    def versions(self) -> dict[int, int]:
        """The lock_version of each invitation as the form showed it."""
        return {
            invitation.pk: self.cleaned_data[f"lock_{invitation.pk}"]
            for invitation, _present, _unanswered in self.rows
        }

    def lock_fields(self):
        """The hidden version fields, one per invitation, for the template."""
        return [self[f"lock_{invitation.pk}"] for invitation, _p, _u in self.rows]

    def came_without_answer(self) -> set[int]:
        return {
            invitation.pk
            for invitation, _present, unanswered in self.rows
            if unanswered is not None and self.cleaned_data[unanswered.name]
        }


def _answer_text(invitation: Invitation) -> str:
    if invitation.answer == Invitation.Answer.NO_ANSWER:
        return str(_("Has not answered"))
    reason = f": {invitation.decline_reason}" if invitation.decline_reason else ""
    return f"{invitation.get_answer_display()}{reason}"
