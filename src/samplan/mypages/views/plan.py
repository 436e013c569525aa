"""My plan: the valid plan in plain words, earlier versions, a printable copy, and the person's
answer to a proposed version (approve it, or ask for changes).

Who sees what follows the capacity (access/citizen.py): anyone granted the plan sees the valid
version; a proposal, a change request and earlier versions are shown only to a capacity that
sees everything (a relative granted "the approved plan" sees just that); only one who acts
(`may_act`) answers a proposal, and the service checks that again under the row lock. An answer
names the version of the proposal the page showed, so a proposal the coordinator changed
meanwhile is refused as stale and the newer one is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.db.models import prefetch_related_objects
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from samplan.access.citizen import audit_citizen, get_case_for_citizen
from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import PLAN_PARTS, Intervention, PlanVersion
from samplan.documents.plan_pdf import plan_pdf as render_plan_pdf
from samplan.documents.printing import print_detail
from samplan.documents.render import pdf_response
from samplan.errors import StaleEdit
from samplan.workspace.actions import attempt, with_version

from ..decorators import citizen_required
from ..forms import ApprovePlanForm, ChangeRequestForm

# The parts of a plan compared between the valid version and a proposal, as the person reads them.
COMPARED_PARTS = (
    ("needs_today", gettext_lazy("Needs today")),
    ("main_responsible_unit_id", gettext_lazy("Who has the overall responsibility")),
    ("coordination", gettext_lazy("How the help is coordinated")),
    ("follow_up_on", gettext_lazy("When the plan is followed up")),
    ("cooperation_ends", gettext_lazy("When the cooperation ends")),
    ("expected_of_person", gettext_lazy("What is expected of the person")),
    ("expected_of_relatives", gettext_lazy("What is expected of the family")),
)


def _intervention_key(item: Intervention) -> tuple:
    return (
        item.description.strip(),
        item.unit_id,
        item.organisation_id,
        item.responsible_party_id,
        item.contact_name.strip(),
        item.starts_on,
        item.ends_on,
        item.ends_note.strip(),
    )


@dataclass
class Changes:
    """What a proposal changes in the valid plan, where that is simple to say."""

    goals_added: list[str] = field(default_factory=list)
    goals_removed: list[str] = field(default_factory=list)
    interventions_added: list[str] = field(default_factory=list)
    interventions_removed: list[str] = field(default_factory=list)
    interventions_changed: list[str] = field(default_factory=list)
    parts_changed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(
            (
                self.goals_added,
                self.goals_removed,
                self.interventions_added,
                self.interventions_removed,
                self.interventions_changed,
                self.parts_changed,
            )
        )


def compare(valid: PlanVersion, proposal: PlanVersion) -> Changes:
    """Goals and interventions added or removed (by their words), interventions whose who/when
    changed, and the other parts that read differently. Both versions come with their parts."""
    changes = Changes()
    old_goals = [goal.text.strip() for goal in valid.goals.all()]
    new_goals = [goal.text.strip() for goal in proposal.goals.all()]
    changes.goals_added = [text for text in new_goals if text not in old_goals]
    changes.goals_removed = [text for text in old_goals if text not in new_goals]
    old_items = {_intervention_key(item)[0]: item for item in valid.interventions.all()}
    new_items = {_intervention_key(item)[0]: item for item in proposal.interventions.all()}
    changes.interventions_added = [name for name in new_items if name not in old_items]
    changes.interventions_removed = [name for name in old_items if name not in new_items]
    changes.interventions_changed = [
        name
        for name, item in new_items.items()
        if name in old_items and _intervention_key(item) != _intervention_key(old_items[name])
    ]

    def normal(value):
        return value.strip() if isinstance(value, str) else value

    changes.parts_changed = [
        str(label)
        for name, label in COMPARED_PARTS
        if normal(getattr(valid, name)) != normal(getattr(proposal, name))
    ]
    return changes


@dataclass
class PlanPage:
    """The versions of one SIP's plan this capacity may see, with their parts loaded."""

    valid: PlanVersion | None = None
    proposal: PlanVersion | None = None  # a draft put before the person, waiting for an answer
    asked: PlanVersion | None = None  # a draft the person asked to change, being reworked
    earlier: list[PlanVersion] = field(default_factory=list)
    changes: Changes | None = None


def plan_page(case, capacity) -> PlanPage:
    """Four queries: the versions, then goals, attendees and interventions of the valid plan and
    the proposal together."""
    versions = list(case.plan_versions.select_related("main_responsible_unit").order_by("-number"))
    page = PlanPage(valid=next((v for v in versions if v.status == PlanVersion.Status.VALID), None))
    if capacity.sees_part("everything"):
        draft = next((v for v in versions if v.status == PlanVersion.Status.DRAFT), None)
        if draft is not None and draft.proposed_at is not None:
            page.proposal = draft
        elif draft is not None and draft.change_request:
            page.asked = draft
        page.earlier = [v for v in versions if v.status == PlanVersion.Status.SUPERSEDED]
    shown = [version for version in (page.valid, page.proposal) if version is not None]
    prefetch_related_objects(shown, *PLAN_PARTS)
    if page.valid is not None and page.proposal is not None:
        page.changes = compare(page.valid, page.proposal)
    return page


def _render_plan(request, case, capacity, *, approve_form=None, status: int = 200):
    page = plan_page(case, capacity)
    if approve_form is None and page.proposal is not None:
        approve_form = ApprovePlanForm(initial={"version": page.proposal.lock_version})
    return render(
        request,
        "mypages/plan/plan.html",
        {
            "case": case,
            "capacity": capacity,
            "page": page,
            "approve_form": approve_form,
        },
        status=status,
    )


@citizen_required
def plan(request, case_id: int):
    case, capacity = get_case_for_citizen(request.citizen, case_id, part="plan", what="plan")
    return _render_plan(request, case, capacity)


@citizen_required
@require_POST
def approve_plan(request, case_id: int):
    """The person (or who acts for them) approves the proposal they read: it becomes the plan.
    A capacity that may not act is refused by the service (403, logged), nothing changes."""
    case, capacity = get_case_for_citizen(request.citizen, case_id, part="plan", what="plan")
    form = ApprovePlanForm(request.POST)
    result = attempt(
        form,
        lambda: services.approve_plan(
            case, actor=capacity, expected_version=form.cleaned_data["version"]
        ),
    )
    if result.ok:
        if capacity.is_person:
            messages.success(request, _("You have approved the plan. It is now your plan."))
        else:
            messages.success(request, _("You have approved the plan. It now applies."))
        return redirect("mypages:plan", case_id=case.pk)
    if result.stale:
        newer = result.stale.current
        version = newer.lock_version if isinstance(newer, PlanVersion) else 0
        form = with_version(ApprovePlanForm, request.POST, version)
        form.add_error(None, StaleEdit().message)
    return _render_plan(request, case, capacity, approve_form=form, status=result.status)


@citizen_required
@require_http_methods(["GET", "POST"])
def request_change(request, case_id: int):
    """Ask for changes to the proposal, in one's own words: the proposal is withdrawn and the
    coordinator sees the request. What was typed stays when something is wrong."""
    case, capacity = get_case_for_citizen(request.citizen, case_id, part="plan", what="plan")
    page = plan_page(case, capacity)
    status = 200
    stale = False
    if request.method == "GET":
        version = page.proposal.lock_version if page.proposal is not None else 0
        form = ChangeRequestForm(initial={"version": version})
    else:
        form = ChangeRequestForm(request.POST)
        result = attempt(
            form,
            lambda: services.request_plan_change(
                case,
                actor=capacity,
                expected_version=form.cleaned_data["version"],
                text=form.cleaned_data["text"],
            ),
        )
        if result.ok:
            messages.success(
                request,
                _(
                    "Thank you. Your SIP coordinator has your request and will contact you. "
                    "You get a new proposal to approve."
                ),
            )
            return redirect("mypages:plan", case_id=case.pk)
        if result.stale:
            stale = True
            page = plan_page(case, capacity)
            version = page.proposal.lock_version if page.proposal is not None else 0
            form = with_version(ChangeRequestForm, request.POST, version)
            form.add_error(None, StaleEdit().message)
        status = result.status
    return render(
        request,
        "mypages/plan/request_change.html",
        {"case": case, "capacity": capacity, "page": page, "form": form, "stale": stale},
        status=status,
    )


@citizen_required
def plan_version(request, case_id: int, number: int):
    """An earlier version, read-only, marked as old. Earlier versions are for a capacity that
    sees everything; a draft is never shown here (a proposal is on the plan page)."""
    case, capacity = get_case_for_citizen(request.citizen, case_id, part="everything", what="plan")
    version = (
        case.plan_versions.exclude(status=PlanVersion.Status.DRAFT)
        .select_related("main_responsible_unit")
        .prefetch_related(*PLAN_PARTS)
        .filter(number=number)
        .first()
    )
    if version is None:
        raise Http404
    return render(
        request,
        "mypages/plan/version.html",
        {"case": case, "capacity": capacity, "version": version},
    )


@citizen_required
def plan_print(request, case_id: int):
    """The valid plan in a print layout (no navigation); logged as printed."""
    case, capacity = get_case_for_citizen(request.citizen, case_id, part="plan", what="plan")
    valid = (
        case.plan_versions.filter(status=PlanVersion.Status.VALID)
        .select_related("main_responsible_unit")
        .prefetch_related(*PLAN_PARTS)
        .first()
    )
    if valid is not None:
        audit_citizen(
            capacity,
            AuditEvent.Action.PRINT,
            "plan",
            case_id=case.pk,
            person_id=case.person_id,
        )
    return render(
        request,
        "mypages/plan/print.html",
        {"case": case, "capacity": capacity, "plan": valid},
    )


@citizen_required
def plan_pdf(request, case_id: int):
    """The valid plan as a PDF in plain words (documents/plan_pdf.py, the person layout);
    logged as printed, like the print layout. No valid plan: a 404."""
    case, capacity = get_case_for_citizen(request.citizen, case_id, part="plan", what="plan")
    valid = (
        case.plan_versions.filter(status=PlanVersion.Status.VALID)
        .select_related("main_responsible_unit")
        .prefetch_related(*PLAN_PARTS)
        .first()
    )
    if valid is None:
        raise Http404
    valid.case = case
    data = render_plan_pdf(valid, layout="person", for_person=capacity.is_person)
    audit_citizen(
        capacity,
        AuditEvent.Action.PRINT,
        "plan",
        case_id=case.pk,
        person_id=case.person_id,
        detail=print_detail(valid, "person"),
    )
    return pdf_response(data, f"{case.reference}-plan-v{valid.number}.pdf")


urlpatterns = [
    path("sip/<id:case_id>/plan/", plan, name="plan"),
    path("sip/<id:case_id>/plan/pdf/", plan_pdf, name="plan_pdf"),
    path("sip/<id:case_id>/plan/utskrift/", plan_print, name="plan_print"),
    path("sip/<id:case_id>/plan/godkann/", approve_plan, name="approve_plan"),
    path("sip/<id:case_id>/plan/andringar/", request_change, name="request_change"),
    path("sip/<id:case_id>/plan/<id:number>/", plan_version, name="plan_version"),
]
