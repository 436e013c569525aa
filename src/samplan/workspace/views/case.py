"""The staff workspace: plain function views that read top to bottom. Cases are reached only
through samplan.access (cases_visible_to / get_case_for), which also writes the audit log."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from samplan.access.services import (
    get_case_for,
)
from samplan.cases.deadlines import current_meeting, next_step
from samplan.cases.models import (
    EVENT_LABELS,
    PLAN_PARTS,
    CaseEvent,
    Invitation,
    Meeting,
    Participant,
    PlanVersion,
    State,
    revoked_organisation_ids,
)

from . import consent, emergency, follow_up, meetings, messages, plan, preparation, search

# Each step of the process adds what it shows on the case page (its template is
# workspace/case/_<step>.html).
CASE_PAGE_SECTIONS = (consent, preparation, meetings, plan, follow_up, messages)


def home(request):
    return render(request, "workspace/home.html")


# The list of SIPs is the search page with nothing typed in the box (newest first, keyset pages).
case_list = search.search


@login_required
def case_detail(request, case_id: int):
    try:
        case = get_case_for(request.user, case_id)
    except Http404:
        # Staff of a unit taking part whom the consent does not cover learn why and may ask for
        # emergency access; to anyone else the case stays missing.
        return emergency.offer_or_404(request, case_id)
    plan_versions = list(
        case.plan_versions.select_related("main_responsible_unit", "established_by")
        .prefetch_related(*PLAN_PARTS)
        .order_by("-number")
    )
    valid_plan = next((p for p in plan_versions if p.status == PlanVersion.Status.VALID), None)
    draft_plan = next((p for p in plan_versions if p.status == PlanVersion.Status.DRAFT), None)
    consents = list(
        case.consents.select_related("recorded_by").prefetch_related("scopes__organisation")
    )
    active_consent = next((c for c in consents if c.is_active), None)
    revoked_organisations = revoked_organisation_ids(consents)
    meetings = case.meetings.prefetch_related(
        Prefetch(
            "invitations",
            queryset=Invitation.objects.select_related("unit", "related_party"),
        )
    ).order_by("starts_at")
    meetings = list(meetings)
    # Decided once, by the same rules the services apply, for every section of the page.
    may_drive = request.user.has_perm("cases.drive", case)
    may_take_part = may_drive or request.user.has_perm("cases.take_part", case)
    context = {
        "case": case,
        "person": case.person,
        "valid_plan": valid_plan,
        "draft_plan": draft_plan,
        "earlier_plans": [p for p in plan_versions if p.status == PlanVersion.Status.SUPERSEDED],
        "consents": consents,
        "active_consent": active_consent,
        "revoked_organisations": revoked_organisations,
        "participants": case.participants.select_related("unit__organisation").order_by(
            "role", "unit__name"
        ),
        "meetings": meetings,
        "meeting_kinds": Meeting.Kind,
        "events": timeline(case),
        "preparation": getattr(case, "preparation", None),
        "participant_roles": Participant.Role,
        "may_drive": may_drive,
        "may_take_part": may_take_part,
        "may_close": may_drive and not case.is_closed,
        "next_step": next_step(case, valid_plan=valid_plan, next_meeting=current_meeting(meetings)),
        "next_step_link": next_step_link(case, current_meeting(meetings)) if may_drive else None,
    }
    for section in CASE_PAGE_SECTIONS:
        context.update(section.case_page_context(request, case, context))
    return render(request, "workspace/case_detail.html", context)


def next_step_link(case, meeting) -> tuple[str, str] | None:
    """Where the coordinator takes the next step of the process, and what the link says."""
    started = meeting is not None and meeting.starts_at <= timezone.now()
    args = [case.pk]
    if case.state == State.INITIATED:
        return reverse("workspace:record_information", args=args), _("Record the information")
    if case.state == State.INFORMED:
        return reverse("workspace:record_consent", args=args), _("Record the answer about consent")
    if case.state == State.CONSENTED:
        return reverse("workspace:preparation", args=args), _("Start the preparation")
    if case.state == State.PREPARATION:
        return reverse("workspace:call_meeting", args=args), _("Call the SIP meeting")
    if case.state in (State.MEETING_CALLED, State.FOLLOW_UP) and meeting and not started:
        url = reverse("workspace:meeting_detail", args=[case.pk, meeting.pk])
        return url, _("See the answers to the meeting call")
    if case.state == State.MEETING_CALLED:
        return reverse("workspace:plan_edit", args=args), _("Write the plan")
    if case.state == State.PLAN_ESTABLISHED:
        return reverse("workspace:call_meeting", args=args), _("Call the follow-up meeting")
    if case.state == State.FOLLOW_UP:
        return reverse("workspace:follow_up", args=args), _("Record the follow-up")
    return None


def timeline(case) -> list[CaseEvent]:
    """The case's events in order, each with the label of the state it led to."""
    events = list(
        CaseEvent.objects.filter(case=case)
        .select_related("actor", "actor_unit")
        .order_by("at", "pk")
    )
    for event in events:
        event.label = EVENT_LABELS.get(event.action, event.action)
        event.to_state_label = (
            State(event.to_state).label if event.to_state in State.values else event.to_state
        )
    return events
