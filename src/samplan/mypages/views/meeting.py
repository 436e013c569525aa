"""My meeting (Mitt möte): the next meeting of my SIP (when, how long, where or the video link,
who is coming, my own invitation), the earlier ones below it, a calendar file for each, and my
meeting preferences, which I may change until the meeting is called.

Who sees what: the person, and whoever sees everything of the SIP, see it all. A relative the
person granted only the meetings (RelatedParty.Sees.MEETINGS) sees when, how long, where or the
video link, and their own invitation: not what was arranged around the person's needs, not who
else is called or what they answered, not why a meeting was cancelled."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from samplan.access.citizen import audit_citizen, get_case_for_citizen
from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import Invitation, Meeting, Preparation, State
from samplan.cases.services.meetings import covered_organisation_ids
from samplan.cases.transitions import TRANSITIONS
from samplan.errors import StaleEdit
from samplan.workspace.actions import attempt, with_version
from samplan.workspace.forms import VersionedForm

from ..calendar import meeting_ics
from ..decorators import citizen_required

# --- My meeting ---------------------------------------------------------------------------------


@dataclass
class Invitee:
    name: str
    detail: str  # the unit's organisation, or the kind of related party
    answer: str  # Invitation.Answer
    answer_label: str
    no_longer_invited: bool = False  # an organisation the person stopped sharing with


@dataclass
class MeetingView:
    meeting: Meeting
    units: list[Invitee] = field(default_factory=list)  # only for who sees everything
    people: list[Invitee] = field(default_factory=list)  # only for who sees everything
    person_invitation: Invitation | None = None  # only for who sees everything
    own_invitation: Invitee | None = None  # a related party's own, when they are invited


# How an answer reads to the person: plain words, not the staff's terms.
ANSWER_LABELS = {
    Invitation.Answer.NO_ANSWER: gettext_lazy("Not answered yet"),
    Invitation.Answer.ACCEPTED: gettext_lazy("Coming"),
    Invitation.Answer.DECLINED: gettext_lazy("Cannot come"),
}


def _meeting_view(meeting: Meeting, capacity, covered: set[int], *, full: bool) -> MeetingView:
    """The meeting as the capacity may see it: `full` (sees everything) with every invitee,
    otherwise (granted the meetings only) with nothing but the citizen's own invitation."""
    view = MeetingView(meeting)
    own_party = capacity.party.pk if capacity.party is not None else None
    for invitation in meeting.invitations.all():
        label = str(ANSWER_LABELS[invitation.answer])
        if not full:
            if own_party is not None and invitation.related_party_id == own_party:
                party = invitation.related_party
                view.own_invitation = Invitee(
                    party.name, party.get_kind_display(), invitation.answer, label
                )
            continue
        if invitation.is_person:
            view.person_invitation = invitation
        elif invitation.unit_id:
            unit = invitation.unit
            view.units.append(
                Invitee(
                    unit.name,
                    unit.organisation.name,
                    invitation.answer,
                    label,
                    no_longer_invited=unit.organisation_id not in covered,
                )
            )
        else:
            party = invitation.related_party
            invitee = Invitee(party.name, party.get_kind_display(), invitation.answer, label)
            view.people.append(invitee)
            if party.pk == own_party:
                view.own_invitation = invitee
    return view


def _next_and_earlier(meetings: list[Meeting], now: dt.datetime):
    """The meeting coming up or going on now (the earliest one not cancelled that has not
    ended), and every other meeting, newest first."""
    ahead = [meeting for meeting in meetings if not meeting.is_cancelled and meeting.ends_at >= now]
    coming = min(ahead, key=lambda meeting: (meeting.starts_at, meeting.pk), default=None)
    earlier = sorted(
        (meeting for meeting in meetings if meeting is not coming),
        key=lambda meeting: (meeting.starts_at, meeting.pk),
        reverse=True,
    )
    return coming, earlier


@citizen_required
@require_GET
def meeting(request, case_id: int):
    case, capacity = get_case_for_citizen(request.citizen, case_id, part="meetings", what="meeting")
    full = capacity.sees_part("everything")
    invitations = Invitation.objects.select_related("unit__organisation", "related_party")
    if not full:  # read only the citizen's own invitation
        invitations = (
            invitations.filter(related_party=capacity.party)
            if capacity.party is not None
            else invitations.none()
        )
    meetings = list(
        case.meetings.prefetch_related(Prefetch("invitations", queryset=invitations.order_by("pk")))
    )
    now = timezone.now()
    coming, earlier = _next_and_earlier(meetings, now)
    covered = covered_organisation_ids(case) if meetings and full else set()
    follow_up_on = None
    if full and coming is None and case.state == State.PLAN_ESTABLISHED:
        plan = case.valid_plan()
        follow_up_on = plan.follow_up_on if plan else None
    return render(
        request,
        "mypages/meeting/meeting.html",
        {
            "case": case,
            "capacity": capacity,
            "person": case.person,
            "coming": _meeting_view(coming, capacity, covered, full=full) if coming else None,
            "earlier": [
                _meeting_view(meeting, capacity, covered, full=full) for meeting in earlier
            ],
            "full": full,
            "now": now,
            "follow_up_on": follow_up_on,
            "may_steer": capacity.may_steer and not case.is_closed,
            "preferences_open": case.state in TRANSITIONS["update_preferences"].sources,
        },
    )


@citizen_required
@require_GET
def calendar_file(request, case_id: int, meeting_id: int):
    """The meeting as an .ics file. Logged as an EXPORT (the file leaves Samplan for the
    person's own calendar), besides the READ the access function logs for every page."""
    case, capacity = get_case_for_citizen(
        request.citizen, case_id, part="meetings", what="meeting_calendar"
    )
    found = case.meetings.filter(pk=meeting_id).first()
    if found is None:
        raise Http404
    found.case = case
    audit_citizen(
        capacity,
        AuditEvent.Action.EXPORT,
        "meeting_calendar",
        case_id=case.pk,
        person_id=case.person_id,
    )
    response = HttpResponse(
        meeting_ics(found, for_person=True), content_type="text/calendar; charset=utf-8"
    )
    day = timezone.localtime(found.starts_at).strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="sip-mote-{day}.ics"'
    return response


# --- My meeting preferences ---------------------------------------------------------------------

_TEXT = {"rows": 3}


class PreferencesForm(VersionedForm):
    """The person's own meeting preferences (SIP.md), in their words. `version` is the
    preparation's lock_version; ranges are checked by the service, in both languages."""

    needs_to_discuss = forms.CharField(
        label=gettext_lazy("What do you want to talk about at the meeting?"),
        help_text=gettext_lazy("Your needs and your questions, in your own words."),
        required=False,
        widget=forms.Textarea(attrs=_TEXT),
        max_length=4000,
    )
    preferred_place = forms.CharField(
        label=gettext_lazy("Where would you like to meet?"),
        help_text=gettext_lazy("For example at home, at the health centre, or by video."),
        required=False,
        max_length=200,
    )
    preferred_time_of_day = forms.CharField(
        label=gettext_lazy("What time of day suits you best?"),
        help_text=gettext_lazy("For example morning or afternoon."),
        required=False,
        max_length=100,
    )
    max_length_minutes = forms.IntegerField(
        label=gettext_lazy("How long can the meeting be at most, in minutes?"),
        help_text=gettext_lazy("Between 10 and 480 minutes. Leave it empty if it does not matter."),
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    disturbances = forms.CharField(
        label=gettext_lazy("Is there anything that may disturb you?"),
        help_text=gettext_lazy("For example noise, strong light or many people in the room."),
        required=False,
        widget=forms.Textarea(attrs=_TEXT),
        max_length=4000,
    )
    room_needs = forms.CharField(
        label=gettext_lazy("What do you need to know about the room and the way there?"),
        help_text=gettext_lazy("For example whether there are stairs, or where you can wait."),
        required=False,
        widget=forms.Textarea(attrs=_TEXT),
        max_length=4000,
    )
    picture_support = forms.BooleanField(
        label=gettext_lazy("Picture support (bildstöd): pictures that help explain"),
        required=False,
    )
    interpreter_language = forms.CharField(
        label=gettext_lazy("Interpreter: which language?"),
        help_text=gettext_lazy("Leave it empty if you do not need an interpreter."),
        required=False,
        max_length=40,
    )
    sign_language = forms.BooleanField(
        label=gettext_lazy("Sign language interpreter"), required=False
    )
    assistant = forms.BooleanField(label=gettext_lazy("My assistant comes with me"), required=False)
    other_support = forms.CharField(
        label=gettext_lazy("Other support you need"),
        required=False,
        widget=forms.Textarea(attrs=_TEXT),
        max_length=4000,
    )

    SUPPORT = ("picture_support", "interpreter_language", "sign_language", "assistant")

    def preference_values(self) -> dict:
        """The cleaned values for services.update_preferences_by_person (PREFERENCE_FIELDS)."""
        return {
            name: value.strip() if isinstance(value, str) else value
            for name, value in self.cleaned_data.items()
            if name in services.PREFERENCE_FIELDS
        }

    def support_fields(self):
        return [self[name] for name in self.SUPPORT]

    def other_fields(self):
        return [
            self[name]
            for name in self.fields
            if name not in self.SUPPORT and name not in {"version", "other_support"}
        ]


def _shown_preferences(preparation: Preparation | None) -> list[tuple[str, str]]:
    """(label, value) of every preference the person gave, for reading."""
    if preparation is None:
        return []
    fields = PreferencesForm.base_fields
    shown = []
    for name in services.PREFERENCE_FIELDS:
        value = getattr(preparation, name)
        if value in (None, "", False):
            continue
        if value is True:
            value = _("Yes")
        elif name == "max_length_minutes":
            value = _("%(minutes)s minutes") % {"minutes": value}
        shown.append((str(fields[name].label), str(value)))
    return shown


def _render_preferences(request, case, capacity, *, form=None, newer=None, status=200):
    preparation = Preparation.objects.filter(case=case).first()
    editable = case.state in TRANSITIONS["update_preferences"].sources
    if form is None and editable:
        initial = {"version": preparation.lock_version if preparation else 0}
        if preparation is not None:
            initial.update(
                {name: getattr(preparation, name) for name in services.PREFERENCE_FIELDS}
            )
        form = PreferencesForm(initial=initial)
    return render(
        request,
        "mypages/meeting/preferences.html",
        {
            "case": case,
            "capacity": capacity,
            "person": case.person,
            "form": form,
            "editable": editable,
            "shown": _shown_preferences(preparation),
            "newer": _shown_preferences(newer) if newer is not None else None,
            "coordinating_unit": case.coordinating_unit,
        },
        status=status,
    )


@citizen_required
@require_http_methods(["GET", "POST"])
def preferences(request, case_id: int):
    case, capacity = get_case_for_citizen(
        request.citizen, case_id, part="steer", what="preparation"
    )
    if request.method == "GET":
        return _render_preferences(request, case, capacity)
    form = PreferencesForm(request.POST)
    result = attempt(
        form,
        lambda: services.update_preferences_by_person(
            case,
            actor=capacity,
            expected_version=form.cleaned_data["version"],
            data=form.preference_values(),
        ),
    )
    if result.ok:
        messages.success(request, _("Your wishes are saved. Your coordinator can see them now."))
        return redirect("mypages:preferences", case_id=case.pk)
    newer = None
    if result.stale:
        newer = result.stale.current
        form = with_version(PreferencesForm, request.POST, newer.lock_version)
        form.add_error(None, StaleEdit().message)
    return _render_preferences(
        request, case, capacity, form=form, newer=newer, status=result.status
    )


urlpatterns = [
    path("sip/<id:case_id>/mote/", meeting, name="meeting"),
    path("sip/<id:case_id>/mote/<id:meeting_id>.ics", calendar_file, name="meeting_ics"),
    path("sip/<id:case_id>/mote/onskemal/", preferences, name="preferences"),
]
