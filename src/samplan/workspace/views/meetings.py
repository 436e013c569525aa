"""Kallelse: call the SIP meeting (or a follow-up), answer a call, move or cancel a meeting, and
record who came. A called party is obliged to attend, so every page shows who has not answered.

Warnings where a choice goes against the person's meeting preferences never stop a save: they
show next to the field while the call is written (htmx asks again when a field changes; the
"check" button does it without JavaScript), and the case page repeats them for the meeting."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from samplan.access.services import active_unit_ids, get_case_for
from samplan.cases import services
from samplan.cases.models import Invitation, Meeting, Preparation, State
from samplan.cases.rules import drives_case
from samplan.cases.services.meetings import covered_organisation_ids
from samplan.cases.transitions import TRANSITIONS
from samplan.directory.models import Unit
from samplan.errors import StaleEdit

from ..actions import attempt, with_version
from ..forms.meetings import (
    AnswerForm,
    AttendanceForm,
    CallMeetingForm,
    CancelMeetingForm,
    MoveMeetingForm,
)

CALLABLE_STATES = {State.PREPARATION, State.PLAN_ESTABLISHED}


# --- Helpers ------------------------------------------------------------------------------------


def _preparation_of(case) -> Preparation | None:
    return Preparation.objects.filter(case=case).first()


def _meeting_of(case, meeting_id: int) -> Meeting:
    """A meeting of a case the user may see (get_case_for came first); 404 otherwise."""
    meeting = get_object_or_404(Meeting.objects.filter(case=case), pk=meeting_id)
    meeting.case = case  # the services move this object's state along
    return meeting


def _invitations(meeting: Meeting, person) -> list[Invitation]:
    invitations = list(
        meeting.invitations.select_related("unit", "related_party", "answered_by").order_by("pk")
    )
    for invitation in invitations:
        _name(invitation, person)
    return invitations


def _name(invitation: Invitation, person) -> Invitation:
    """Each invitation carries the name of who was called (the unit, the relative, the person)."""
    if invitation.unit_id:
        invitation.name = invitation.unit.name
    elif invitation.related_party_id:
        invitation.name = invitation.related_party.name
    else:
        invitation.name = person.full_name
    return invitation


def _warnings(preparation, form) -> dict[str, str]:
    """The warnings of services.preference_warnings by field, in the page's language."""
    values = getattr(form, "cleaned_data", None)
    if values is None:  # an unbound form: what it shows
        values = {name: form[name].value() for name in ("duration_minutes", "place", "video_link")}
        starts = None
    else:
        starts = form.starts()
    warnings = services.preference_warnings(
        preparation,
        starts_at=starts,
        duration_minutes=values.get("duration_minutes"),
        place=values.get("place") or "",
        video_link=values.get("video_link") or "",
    )
    return {warning.field: warning.message for warning in warnings}


def _is_check(request) -> bool:
    """A request only to show warnings and errors (htmx on change, or the check button)."""
    return request.method == "POST" and "check" in request.POST


def _refuse_stale_case(form, case) -> None:
    """A form based on an older version of the case is stale even where its action is still
    allowed from the newer state; say so before the service, which checks the state first."""
    if form.cleaned_data["version"] != case.lock_version:
        raise StaleEdit(current=case)


def _with_prefixed_version(form_class, data, version: int, prefix: str, **kwargs):
    data = data.copy()
    data[f"{prefix}-version"] = str(version)
    form = form_class(data, prefix=prefix, **kwargs)
    form.is_valid()
    return form


# --- Calling ------------------------------------------------------------------------------------


def _call_form_options(case, preparation) -> dict:
    """What the call form offers: the units taking part (marked when the consent does not
    cover them) and the people the person chose in the preparation."""
    parties = (
        preparation.invited_related_parties.order_by("kind", "name")
        if preparation is not None
        else case.person.related_parties.none()
    )
    return {
        "units": Unit.objects.filter(
            participations__case=case, participations__removed_at__isnull=True
        )
        .select_related("organisation")
        .order_by("organisation__name", "name"),
        "covered": covered_organisation_ids(case),
        "related_parties": parties,
        "check_url": reverse("workspace:call_meeting", args=[case.pk]),
    }


def _call_initial(case, preparation, options) -> dict:
    """Units the consent covers and the people the person chose, preselected; the place and
    length the person prefers."""
    longest = getattr(preparation, "max_length_minutes", None)
    return {
        "version": case.lock_version,
        "duration_minutes": min(60, longest) if longest else 60,
        "place": getattr(preparation, "preferred_place", ""),
        "units": [
            unit.pk for unit in options["units"] if unit.organisation_id in options["covered"]
        ],
        "related_parties": [party.pk for party in options["related_parties"]],
        "invite_person": True,
    }


@login_required
@require_http_methods(["GET", "POST"])
def call_meeting(request, case_id: int):
    """Kallelse to the SIP meeting from preparation; from an established plan, the same form
    calls a follow-up meeting."""
    case = get_case_for(request.user, case_id, what="meeting")
    preparation = _preparation_of(case)
    follow_up = case.state == State.PLAN_ESTABLISHED
    options = _call_form_options(case, preparation)
    form = CallMeetingForm(
        request.POST or None, initial=_call_initial(case, preparation, options), **options
    )
    status = 200
    if _is_check(request):
        form.is_valid()
    elif request.method == "POST":
        service = services.call_follow_up if follow_up else services.call_meeting

        def call():
            _refuse_stale_case(form, case)
            values = form.cleaned_data
            return service(
                case,
                actor=request.user,
                expected_version=values["version"],
                call=services.MeetingCall(
                    starts_at=form.starts(),
                    duration_minutes=values["duration_minutes"],
                    place=values["place"].strip(),
                    video_link=values["video_link"],
                    honoured_preferences=values["honoured_preferences"].strip(),
                    units=list(values["units"]),
                    related_parties=list(values["related_parties"]),
                    invite_person=values["invite_person"],
                ),
            )

        result = attempt(form, call)
        if result.ok:
            messages.success(
                request,
                _("The follow-up meeting is called.")
                if follow_up
                else _("The SIP meeting is called. Everyone called is obliged to attend."),
            )
            return redirect("workspace:meeting_detail", case_id=case.pk, meeting_id=result.value.pk)
        if result.stale:
            case.refresh_from_db()
            follow_up = case.state == State.PLAN_ESTABLISHED
            form = with_version(CallMeetingForm, request.POST, case.lock_version, **options)
            form.add_error(None, StaleEdit().message)
        status = result.status
    latest = case.meetings.order_by("-called_at", "-pk").first()
    return render(
        request,
        "workspace/meetings/call.html",
        {
            "case": case,
            "person": case.person,
            "form": form,
            "warnings": _warnings(preparation, form),
            "preparation": preparation,
            "follow_up": follow_up,
            "may_call": case.state in CALLABLE_STATES,
            # A posted form stays on screen (what was typed is kept) even when the case has
            # moved on; a fresh one only where a meeting can be called by this user.
            "show_form": form.is_bound
            or (case.state in CALLABLE_STATES and drives_case(request.user, case)),
            "latest_meeting": latest,
            "stale": status == 409,
        },
        status=status,
    )


# --- The meeting and its answers ----------------------------------------------------------------


def _render_meeting(request, case, meeting, *, answer_form=None, status=200):
    invitations = _invitations(meeting, case.person)
    drives = not case.is_closed and drives_case(request.user, case)
    own_units = set(active_unit_ids(request.user))
    answering_open = (
        meeting.cancelled_at is None and case.state in TRANSITIONS["record_answer"].sources
    )
    for invitation in invitations:
        invitation.answerable = answering_open and (drives or invitation.unit_id in own_units)
        if not invitation.answerable:
            continue
        prefix = f"answer-{invitation.pk}"
        if answer_form is not None and answer_form.prefix == prefix:
            invitation.form = answer_form
        else:
            invitation.form = AnswerForm(
                prefix=prefix,
                initial={
                    "version": meeting.sequence,
                    "answer": invitation.answer
                    if invitation.answer != Invitation.Answer.NO_ANSWER
                    else None,
                    "decline_reason": invitation.decline_reason,
                },
            )
    current = _is_current(case, meeting)
    return render(
        request,
        "workspace/meetings/meeting.html",
        {
            "case": case,
            "person": case.person,
            "meeting": meeting,
            "invitations": invitations,
            "unanswered": [i for i in invitations if i.answer == Invitation.Answer.NO_ANSWER],
            "warnings": _meeting_warnings(_preparation_of(case), meeting) if current else [],
            "posted": answer_form,
            "may_move": drives and current,
            "may_cancel": drives and current,
            "may_record_attendance": drives
            and meeting.cancelled_at is None
            and meeting.starts_at <= timezone.now()
            and case.state in TRANSITIONS["record_attendance"].sources,
        },
        status=status,
    )


def _is_current(case, meeting) -> bool:
    """The meeting the case waits for now: the one that can be moved or cancelled."""
    if meeting.cancelled_at is not None:
        return False
    if case.state == State.MEETING_CALLED:
        return meeting.kind == Meeting.Kind.SIP
    if case.state == State.FOLLOW_UP:
        return meeting.kind == Meeting.Kind.FOLLOW_UP
    return False


def _meeting_warnings(preparation, meeting) -> list[str]:
    return [
        warning.message
        for warning in services.preference_warnings(
            preparation,
            starts_at=meeting.starts_at,
            duration_minutes=meeting.duration_minutes,
            place=meeting.place,
            video_link=meeting.video_link,
        )
    ]


@login_required
def meeting_detail(request, case_id: int, meeting_id: int):
    case = get_case_for(request.user, case_id, what="meeting")
    return _render_meeting(request, case, _meeting_of(case, meeting_id))


@login_required
@require_POST
def answer_invitation(request, case_id: int, meeting_id: int, invitation_id: int):
    """A unit answers its own call; the coordinator records everyone else's answers."""
    case = get_case_for(request.user, case_id, what="invitation")
    meeting = _meeting_of(case, meeting_id)
    invitation = get_object_or_404(Invitation.objects.filter(meeting=meeting), pk=invitation_id)
    invitation.meeting = meeting
    prefix = f"answer-{invitation.pk}"
    form = AnswerForm(request.POST, prefix=prefix)
    result = attempt(
        form,
        lambda: services.record_answer(
            invitation,
            actor=request.user,
            answer=form.cleaned_data["answer"],
            decline_reason=form.cleaned_data["decline_reason"],
            expected_sequence=form.cleaned_data["version"],
        ),
    )
    if result.ok:
        messages.success(request, _("The answer is recorded."))
        return redirect("workspace:meeting_detail", case_id=case.pk, meeting_id=meeting.pk)
    if result.stale:
        meeting = _meeting_of(case, meeting_id)
        form = _with_prefixed_version(AnswerForm, request.POST, meeting.sequence, prefix)
        form.add_error(None, StaleEdit().message)
        form.add_error(
            None,
            _("The meeting was moved: it is now %(when)s. Answer for the new time.")
            % {"when": f"{timezone.localtime(meeting.starts_at):%Y-%m-%d %H:%M}"},
        )
    return _render_meeting(request, case, meeting, answer_form=form, status=result.status)


# --- Moving and cancelling ----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def move_meeting(request, case_id: int, meeting_id: int):
    case = get_case_for(request.user, case_id, what="meeting")
    meeting = _meeting_of(case, meeting_id)
    check_url = reverse("workspace:move_meeting", args=[case.pk, meeting.pk])
    local = timezone.localtime(meeting.starts_at)
    form = MoveMeetingForm(
        request.POST or None,
        check_url=check_url,
        initial={
            "version": meeting.sequence,
            "starts_at": local.date(),
            "starts_time": f"{local:%H:%M}",
            "duration_minutes": meeting.duration_minutes,
            "place": meeting.place,
            "video_link": meeting.video_link,
        },
    )
    preparation = _preparation_of(case)
    status = 200
    if _is_check(request):
        form.is_valid()
    elif request.method == "POST":
        result = attempt(
            form,
            lambda: services.move_meeting(
                meeting,
                actor=request.user,
                expected_sequence=form.cleaned_data["version"],
                starts_at=form.starts(),
                duration_minutes=form.cleaned_data["duration_minutes"],
                place=form.cleaned_data["place"].strip(),
                video_link=form.cleaned_data["video_link"],
            ),
        )
        if result.ok:
            messages.success(
                request,
                _("The meeting is moved. Everyone called is asked to answer again."),
            )
            return redirect("workspace:meeting_detail", case_id=case.pk, meeting_id=meeting.pk)
        if result.stale:
            meeting = result.stale.current
            form = with_version(
                MoveMeetingForm, request.POST, meeting.sequence, check_url=check_url
            )
            form.add_error(None, StaleEdit().message)
        status = result.status
    return render(
        request,
        "workspace/meetings/move.html",
        {
            "case": case,
            "person": case.person,
            "meeting": meeting,
            "form": form,
            "warnings": _warnings(preparation, form),
            "current": _is_current(case, meeting),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def cancel_meeting(request, case_id: int, meeting_id: int):
    case = get_case_for(request.user, case_id, what="meeting")
    meeting = _meeting_of(case, meeting_id)
    form = CancelMeetingForm(request.POST or None, initial={"version": case.lock_version})
    status = 200
    if request.method == "POST":

        def call():
            _refuse_stale_case(form, case)
            return services.cancel_meeting(
                meeting,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
            )

        result = attempt(form, call)
        if result.ok:
            messages.success(
                request,
                _("The meeting is cancelled. It stays on the SIP, marked cancelled."),
            )
            return redirect("workspace:case_detail", case_id=case.pk)
        if result.stale:
            case.refresh_from_db()
            meeting = _meeting_of(case, meeting_id)
            form = with_version(CancelMeetingForm, request.POST, case.lock_version)
            form.add_error(None, StaleEdit().message)
        status = result.status
    return render(
        request,
        "workspace/meetings/cancel.html",
        {
            "case": case,
            "person": case.person,
            "meeting": meeting,
            "form": form,
            "current": _is_current(case, meeting),
        },
        status=status,
    )


# --- Attendance ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def record_attendance(request, case_id: int, meeting_id: int):
    case = get_case_for(request.user, case_id, what="attendance")
    meeting = _meeting_of(case, meeting_id)
    invitations = _invitations(meeting, case.person)
    form = AttendanceForm(
        request.POST or None, invitations=invitations, initial={"version": meeting.sequence}
    )
    status = 200
    if request.method == "POST":
        result = attempt(
            form,
            lambda: services.record_attendance(
                meeting,
                actor=request.user,
                attended=form.attended(),
                came_without_answer=form.came_without_answer(),
                expected_sequence=form.cleaned_data["version"],
            ),
        )
        if result.ok:
            messages.success(request, _("Attendance is recorded."))
            return redirect("workspace:meeting_detail", case_id=case.pk, meeting_id=meeting.pk)
        if result.stale:
            meeting = _meeting_of(case, meeting_id)
            invitations = _invitations(meeting, case.person)
            form = with_version(
                AttendanceForm, request.POST, meeting.sequence, invitations=invitations
            )
            form.add_error(None, StaleEdit().message)
        status = result.status
    return render(
        request,
        "workspace/meetings/attendance.html",
        {
            "case": case,
            "person": case.person,
            "meeting": meeting,
            "form": form,
            "started": meeting.starts_at <= timezone.now(),
        },
        status=status,
    )


urlpatterns = [
    path("sip/<int:case_id>/kallelse/", call_meeting, name="call_meeting"),
    path("sip/<int:case_id>/moten/<int:meeting_id>/", meeting_detail, name="meeting_detail"),
    path(
        "sip/<int:case_id>/moten/<int:meeting_id>/svar/<int:invitation_id>/",
        answer_invitation,
        name="answer_invitation",
    ),
    path("sip/<int:case_id>/moten/<int:meeting_id>/flytta/", move_meeting, name="move_meeting"),
    path(
        "sip/<int:case_id>/moten/<int:meeting_id>/stall-in/",
        cancel_meeting,
        name="cancel_meeting",
    ),
    path(
        "sip/<int:case_id>/moten/<int:meeting_id>/narvaro/",
        record_attendance,
        name="record_attendance",
    ),
]


# --- The case page ------------------------------------------------------------------------------


def case_page_context(request, case, context: dict) -> dict:
    """The meetings of the case with every invitation, its answer and attendance, who has not
    answered, and the warnings against the person's preferences for the meeting now called.
    A constant number of queries, however many meetings and invitations."""
    meetings = list(
        case.meetings.prefetch_related(
            Prefetch(
                "invitations",
                queryset=Invitation.objects.select_related(
                    "unit", "related_party", "answered_by"
                ).order_by("pk"),
            )
        ).order_by("starts_at", "pk")
    )
    own_units = set(active_unit_ids(request.user))
    preparation = context.get("preparation")
    for meeting in meetings:
        meeting.invitation_list = [
            _name(invitation, case.person) for invitation in meeting.invitations.all()
        ]
        meeting.unanswered = [
            i for i in meeting.invitation_list if i.answer == Invitation.Answer.NO_ANSWER
        ]
        meeting.is_current = _is_current(case, meeting)
        meeting.warnings = _meeting_warnings(preparation, meeting) if meeting.is_current else []
        meeting.mine_to_answer = meeting.is_current and any(
            i.unit_id in own_units for i in meeting.unanswered
        )
    drives = not case.is_closed and drives_case(request.user, case)
    return {
        "meetings": meetings,
        "may_call_meeting": drives and case.state in CALLABLE_STATES,
    }
