"""Kallelse: call the SIP meeting (or a follow-up), answer a call, move or cancel a meeting, and
record who came. A called party is obliged to attend, so every page shows who has not answered.

Warnings where a choice goes against the person's meeting preferences never stop a save: they
show next to the field while the call is written (htmx asks again when a field changes; the
"check" button does it without JavaScript), and the case page repeats them for the meeting."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import prefetch_related_objects
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from samplan.access.services import active_unit_ids, get_case_for
from samplan.cases import services
from samplan.cases.models import Invitation, Meeting, Preparation, State
from samplan.cases.rules import drives_case
from samplan.cases.services.meetings import (
    covered_organisation_ids,
    meeting_now_called,
    why_answering_is_closed,
)
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


# --- Calling ------------------------------------------------------------------------------------


def _call_form_options(case, preparation) -> dict:
    """What the call form offers: the units taking part (marked when the consent does not
    cover them) and the people the person chose in the preparation, among those known in this
    SIP (a relative registered in another SIP of the person is not this SIP's to call)."""
    parties = (
        case.related_parties.filter(
            pk__in=preparation.invited_related_parties.values("pk")
        ).order_by("kind", "name")
        if preparation is not None
        else case.related_parties.none()
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


def _answer_prefix(invitation: Invitation) -> str:
    return f"answer-{invitation.pk}"


def _render_meeting(request, case, meeting, *, answer_form=None, status=200):
    invitations = _invitations(meeting, case.person)
    drives = not case.is_closed and drives_case(request.user, case)
    own_units = set(active_unit_ids(request.user))
    now_called = meeting_now_called(case, case.meetings.all())
    current = now_called is not None and now_called.pk == meeting.pk
    closed = why_answering_is_closed(case, meeting, now_called=now_called, invitations=invitations)
    may_answer_some = False
    for invitation in invitations:
        may_answer = drives or invitation.unit_id in own_units
        may_answer_some = may_answer_some or may_answer
        invitation.form = None
        if answer_form is not None and answer_form.prefix == _answer_prefix(invitation):
            # A posted answer stays on screen with its error, even once answering has closed.
            invitation.form = answer_form
        elif closed is None and may_answer:
            invitation.form = AnswerForm(
                prefix=_answer_prefix(invitation),
                initial={
                    "version": invitation.lock_version,
                    "sequence": meeting.sequence,
                    "answer": invitation.answer
                    if invitation.answer != Invitation.Answer.NO_ANSWER
                    else None,
                    "decline_reason": invitation.decline_reason,
                },
            )
        invitation.answerable = invitation.form is not None
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
            # Why this user's answer forms are gone (a cancelled meeting says so already).
            "answers_closed": closed.message
            if closed is not None and may_answer_some and meeting.cancelled_at is None
            else "",
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
    """The meeting the case waits for now: the one that can be moved, cancelled or answered."""
    now_called = meeting_now_called(case, case.meetings.all())
    return now_called is not None and now_called.pk == meeting.pk


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
    prefix = _answer_prefix(invitation)
    form = AnswerForm(request.POST, prefix=prefix)
    result = attempt(
        form,
        lambda: services.record_answer(
            invitation,
            actor=request.user,
            answer=form.cleaned_data["answer"],
            decline_reason=form.cleaned_data["decline_reason"],
            expected_version=form.cleaned_data["version"],
            expected_sequence=form.cleaned_data["sequence"],
        ),
    )
    if result.ok:
        messages.success(request, _("The answer is recorded."))
        return redirect("workspace:meeting_detail", case_id=case.pk, meeting_id=meeting.pk)
    if result.stale:
        meeting = _meeting_of(case, meeting_id)
        newer = _name(
            Invitation.objects.select_related("unit", "related_party").get(pk=invitation.pk),
            case.person,
        )
        moved = form.cleaned_data["sequence"] != meeting.sequence
        data = request.POST.copy()
        data[f"{prefix}-sequence"] = str(meeting.sequence)
        form = with_version(AnswerForm, data, newer.lock_version, prefix=prefix)
        form.add_error(None, StaleEdit().message)
        if moved:
            form.add_error(
                None,
                _("The meeting was moved: it is now %(when)s. Answer for the new time.")
                % {"when": f"{timezone.localtime(meeting.starts_at):%Y-%m-%d %H:%M}"},
            )
        else:
            form.add_error(None, _recorded_meanwhile(newer))
    return _render_meeting(request, case, meeting, answer_form=form, status=result.status)


def _recorded_meanwhile(invitation: Invitation) -> str:
    if invitation.answer == Invitation.Answer.NO_ANSWER:
        answer = _("no answer")
    elif invitation.decline_reason:
        answer = f"{invitation.get_answer_display()}: {invitation.decline_reason}"
    else:
        answer = invitation.get_answer_display()
    return _("Recorded meanwhile for %(name)s: %(answer)s.") % {
        "name": invitation.name,
        "answer": answer,
    }


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
        result = attempt(
            form,
            lambda: services.cancel_meeting(
                meeting,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
            ),
        )
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
                expected_versions=form.versions(),
            ),
        )
        if result.ok:
            messages.success(request, _("Attendance is recorded."))
            return redirect("workspace:meeting_detail", case_id=case.pk, meeting_id=meeting.pk)
        if result.stale:
            # The ticks stay as posted; the versions become the newer ones, shown beside them.
            meeting = _meeting_of(case, meeting_id)
            invitations = _invitations(meeting, case.person)
            data = request.POST.copy()
            for invitation in invitations:
                data[f"lock_{invitation.pk}"] = str(invitation.lock_version)
            form = with_version(AttendanceForm, data, meeting.sequence, invitations=invitations)
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
            "newer": invitations if status == 409 else None,
        },
        status=status,
    )


urlpatterns = [
    path("sip/<id:case_id>/kallelse/", call_meeting, name="call_meeting"),
    path("sip/<id:case_id>/moten/<id:meeting_id>/", meeting_detail, name="meeting_detail"),
    path(
        "sip/<id:case_id>/moten/<id:meeting_id>/svar/<id:invitation_id>/",
        answer_invitation,
        name="answer_invitation",
    ),
    path("sip/<id:case_id>/moten/<id:meeting_id>/flytta/", move_meeting, name="move_meeting"),
    path(
        "sip/<id:case_id>/moten/<id:meeting_id>/stall-in/",
        cancel_meeting,
        name="cancel_meeting",
    ),
    path(
        "sip/<id:case_id>/moten/<id:meeting_id>/narvaro/",
        record_attendance,
        name="record_attendance",
    ),
]


# --- The case page ------------------------------------------------------------------------------


def case_page_context(request, case, context: dict) -> dict:
    """The meetings of the case with every invitation, its answer and attendance, who has not
    answered, and the warnings against the person's preferences for the meeting now called.
    Reuses the meetings and the preparation the case page has already loaded: a constant number
    of queries, however many meetings and invitations."""
    meetings = context["meetings"]
    # The case page loads invitations without who recorded each answer; one query adds it.
    prefetch_related_objects(meetings, "invitations__answered_by")
    now_called = meeting_now_called(case, meetings)
    own_units = set(active_unit_ids(request.user))
    preparation = context.get("preparation")
    for meeting in meetings:
        invitations = sorted(meeting.invitations.all(), key=lambda invitation: invitation.pk)
        meeting.invitation_list = [_name(invitation, case.person) for invitation in invitations]
        meeting.unanswered = [
            i for i in meeting.invitation_list if i.answer == Invitation.Answer.NO_ANSWER
        ]
        meeting.is_current = now_called is not None and meeting.pk == now_called.pk
        meeting.warnings = _meeting_warnings(preparation, meeting) if meeting.is_current else []
        meeting.mine_to_answer = why_answering_is_closed(
            case, meeting, now_called=now_called, invitations=invitations
        ) is None and any(i.unit_id in own_units for i in meeting.unanswered)
    drives = not case.is_closed and context["may_drive"]
    return {
        "meetings": meetings,
        "may_call_meeting": drives and case.state in CALLABLE_STATES,
    }
