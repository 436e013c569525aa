"""Planen: the plan editor (planutkast), proposing the draft for the person's approval, and
establishing it with that approval (fastställa).

Any unit taking part may write the draft (`save_plan_draft` is TAKE_PART); only those who drive
the SIP propose and establish it. The person approves exactly what they were shown: saving the
draft again withdraws a proposal. The person (or a guardian, or a representative whose mandate
covers it) approves a proposal themselves in Min SIP (mypages/views/plan.py); an approval given
at the meeting or on paper is recorded here by the coordinator (who approved and their name).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from samplan.access.services import get_case_for
from samplan.cases import services
from samplan.cases.models import (
    PLAN_PARTS,
    Invitation,
    Meeting,
    Participant,
    PlanVersion,
)
from samplan.cases.services.meetings import covered_organisation_ids
from samplan.cases.services.plan import establishing_problem
from samplan.cases.transitions import check_transition
from samplan.directory.models import Organisation, Unit
from samplan.errors import StaleEdit, TransitionNotAllowed

from ..actions import attempt, with_version
from ..forms.plan import (
    ApprovalForm,
    PlanChoices,
    PlanEditor,
    ProposalForm,
    field_anchor,
    plan_data,
    rearranged,
    row_change,
)

EDITOR_TEMPLATE = "workspace/plan/editor.html"
PART_TEMPLATES = {
    "goals": "workspace/plan/_goals.html",
    "interventions": "workspace/plan/_interventions.html",
    "attendees": "workspace/plan/_attendees.html",
}


def _plans_with_parts(case, *statuses: str) -> list[PlanVersion]:
    return list(
        case.plan_versions.filter(status__in=statuses)
        .select_related("main_responsible_unit")
        .prefetch_related(*PLAN_PARTS)
    )


def _draft_with_parts(case) -> PlanVersion | None:
    return next(iter(_plans_with_parts(case, PlanVersion.Status.DRAFT)), None)


def plan_choices(case, plan: PlanVersion | None) -> PlanChoices:
    """Four queries whatever the number of rows: units taking part (and those the plan already
    names), organisations the consent covers today (the same rule as a meeting call, so an
    expired or revoked consent offers none; and those the plan already names, so nothing saved
    is lost), and the related parties known in this SIP (not the person's other SIPs)."""
    unit_ids, organisation_ids = set(), set()
    if plan is not None:
        unit_ids = {plan.main_responsible_unit_id} | {i.unit_id for i in plan.interventions.all()}
        organisation_ids = {i.organisation_id for i in plan.interventions.all()}
    taking_part = Participant.objects.filter(case=case, removed_at__isnull=True).values("unit_id")
    covered = covered_organisation_ids(case)
    return PlanChoices(
        units=list(
            Unit.objects.filter(Q(pk__in=taking_part) | Q(pk__in=unit_ids - {None}))
            .select_related("organisation")
            .order_by("name", "pk")
        ),
        organisations=list(
            Organisation.objects.filter(pk__in=covered | (organisation_ids - {None})).order_by(
                "name", "pk"
            )
        ),
        parties=list(case.related_parties.order_by("name", "pk")),
    )


def suggested_attendees(case) -> list[tuple[str, str]]:
    """Who took part in the latest meeting, to start "who took part" with: those marked present,
    or, before attendance is recorded, those who accepted the call. One query."""
    latest = (
        Meeting.objects.filter(case=case, cancelled_at__isnull=True)
        .order_by("-starts_at", "-pk")
        .values("pk")[:1]
    )
    invitations = list(
        Invitation.objects.filter(meeting=latest)
        .select_related("unit__organisation", "related_party")
        .order_by("pk")
    )
    if any(invitation.attended is not None for invitation in invitations):
        present = [invitation for invitation in invitations if invitation.attended]
    else:
        present = [i for i in invitations if i.answer == Invitation.Answer.ACCEPTED]
    suggested = []
    for invitation in present:
        if invitation.unit_id:
            suggested.append((invitation.unit.name, invitation.unit.organisation.name))
        elif invitation.related_party_id:
            party = invitation.related_party
            suggested.append((party.name, party.get_kind_display()))
        else:
            suggested.append((case.person.full_name, _("The person")))
    return suggested


def _why_not_editable(request, case) -> tuple[str, int]:
    """Why this user cannot write the plan now, and the status a refused change gets (as the
    service's refusal would: 400 for the step of the process, 403 for the right); ("", 200)."""
    try:
        check_transition("save_plan_draft", case.state)
    except TransitionNotAllowed as error:
        return error.message, 400
    if not request.user.has_perm("cases.take_part", case):
        return _("Your unit does not take part in this SIP, so you cannot write its plan."), 403
    return "", 200


def _render_editor(
    request,
    case,
    editor,
    *,
    draft,
    status=200,
    newer=None,
    focus=None,
    checking=False,
    suggested=False,
):
    return render(
        request,
        EDITOR_TEMPLATE,
        {
            "case": case,
            "editor": editor,
            "draft": draft,
            "newer": newer,
            "focus": focus,
            "checking": checking,
            "attendees_suggested": suggested,
            "may_drive": request.user.has_perm("cases.drive", case),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request, case_id: int):
    """The draft of the next plan version: every mandatory part of SIP.md."""
    case = get_case_for(request.user, case_id, what="plan")
    plans = _plans_with_parts(case, PlanVersion.Status.DRAFT, PlanVersion.Status.VALID)
    draft = next((p for p in plans if p.status == PlanVersion.Status.DRAFT), None)
    source = draft or next(iter(plans), None)
    change = row_change(request.POST) if request.method == "POST" else None
    # A save goes to the service even so: it refuses, and a refused right is audited.
    why_not, refused_status = (
        _why_not_editable(request, case) if request.method == "GET" or change else ("", 200)
    )
    if why_not and change is None:
        return render(request, EDITOR_TEMPLATE, {"case": case, "draft": draft, "why_not": why_not})
    choices = plan_choices(case, source)

    if why_not:
        # A row added or removed when the plan cannot be edited (the SIP closed meanwhile, or the
        # user's unit does not take part): the form comes back as typed, unchanged, saying why.
        editor = PlanEditor(request.POST, choices=choices, bound=False)
        editor.refuse(why_not)
        if request.htmx:
            # htmx swaps only 2xx answers: the part it swaps in carries the refusal.
            return render(
                request,
                PART_TEMPLATES[change.part],
                {
                    "case": case,
                    "editor": editor,
                    "focus": {"part": change.part, "row": None},
                    "part_refusal": why_not,
                },
            )
        return _render_editor(request, case, editor, draft=draft, status=refused_status)

    if request.method == "GET":
        named = source is not None and source.status == PlanVersion.Status.DRAFT
        suggested = [] if named and source.attendees.all() else suggested_attendees(case)
        check = "check" in request.GET and draft is not None
        editor = PlanEditor(plan_data(source, attendees=suggested), choices=choices, bound=check)
        if check:
            editor.is_valid()
            for problem in services.plan_problems(draft):
                editor.add_error(problem.field, problem.message)
        return _render_editor(
            request, case, editor, draft=draft, checking=check, suggested=bool(suggested)
        )

    if change is not None:
        # Nothing is saved: the form comes back with one row more or less, as typed.
        editor = PlanEditor(rearranged(request.POST, change), choices=choices, bound=False)
        rows = editor.parts[change.part].total_form_count()
        focus = {"part": change.part, "row": rows - 1 if change.remove is None else None}
        if request.htmx:
            return render(
                request,
                PART_TEMPLATES[change.part],
                {"case": case, "editor": editor, "focus": focus},
            )
        return _render_editor(request, case, editor, draft=draft, focus=focus)

    editor = PlanEditor(request.POST, choices=choices)
    result = attempt(
        editor,
        lambda: services.save_plan_draft(
            case, actor=request.user, expected_version=editor.version, data=editor.plan_draft()
        ),
    )
    if result.ok:
        messages.success(request, _("The plan draft is saved."))
        url = reverse("workspace:plan_edit", args=[case.pk])
        return redirect(f"{url}?check=1" if "check" in request.POST else url)
    newer = None
    if result.stale:
        newer = _draft_with_parts(case) or next(
            iter(_plans_with_parts(case, PlanVersion.Status.VALID)), None
        )
        data = request.POST.copy()
        # On top of the newer draft; when it was established meanwhile, a new draft.
        is_draft = newer is not None and newer.status == PlanVersion.Status.DRAFT
        data["version"] = str(newer.lock_version) if is_draft else ""
        editor = PlanEditor(data, choices=plan_choices(case, newer))
        editor.is_valid()
        editor.add_error(None, StaleEdit().message)
        draft = newer if is_draft else None
    return _render_editor(request, case, editor, draft=draft, status=result.status, newer=newer)


@login_required
@require_http_methods(["GET", "POST"])
def plan_establish(request, case_id: int):
    """The person's approval of the draft (or a guardian's), after a summary of it; or putting
    the draft before the person for approval."""
    case = get_case_for(request.user, case_id, what="plan")
    draft = _draft_with_parts(case)
    may_drive = request.user.has_perm("cases.drive", case)
    version = draft.lock_version if draft else 0
    proposal = ProposalForm(initial={"version": version})
    approval = ApprovalForm(initial={"version": version})
    status = 200 if may_drive else 403
    if request.method == "POST":
        proposing = "propose" in request.POST
        form = ProposalForm(request.POST) if proposing else ApprovalForm(request.POST)
        if proposing:
            proposal = form
            result = attempt(
                form,
                lambda: services.propose_plan(
                    case, actor=request.user, expected_version=form.cleaned_data["version"]
                ),
            )
        else:
            approval = form
            result = attempt(
                form,
                lambda: services.establish_plan(
                    case,
                    actor=request.user,
                    expected_version=form.cleaned_data["version"],
                    approved_by=form.cleaned_data["approved_by"],
                    approved_by_name=form.cleaned_data["approved_by_name"].strip(),
                    agreed_at=form.agreed_at(),
                ),
            )
        if result.ok and proposing:
            messages.success(request, _("The draft is proposed for the person's approval."))
            return redirect("workspace:plan_establish", case_id=case.pk)
        if result.ok:
            messages.success(
                request,
                _("Version %(number)s of the plan is established.")
                % {"number": result.value.number},
            )
            return redirect("workspace:case_detail", case_id=case.pk)
        if result.stale:
            draft = _draft_with_parts(case)
            newer = draft.lock_version if draft else 0
            newer_form = with_version(type(form), request.POST, newer)
            newer_form.add_error(None, StaleEdit().message)
            if proposing:
                proposal, approval = newer_form, ApprovalForm(initial={"version": newer})
            else:
                proposal, approval = ProposalForm(initial={"version": newer}), newer_form
        status = result.status
    problems = [
        (field_anchor(problem.field), problem.message)
        for problem in (services.plan_problems(draft) if draft else [])
    ]
    # Before the meeting (or, in follow-up, its evaluation) the draft can be proposed but not
    # established: the page says why instead of offering a form the service would refuse.
    not_yet = establishing_problem(case)
    return render(
        request,
        "workspace/plan/establish.html",
        {
            "case": case,
            "draft": draft,
            "may_drive": may_drive,
            "problems": problems,
            "not_yet": not_yet.message if not_yet else "",
            "proposal": proposal,
            "approval": approval,
        },
        status=status,
    )


urlpatterns = [
    path("sip/<id:case_id>/plan/", plan_edit, name="plan_edit"),
    path("sip/<id:case_id>/plan/faststall/", plan_establish, name="plan_establish"),
]


def case_page_context(request, case, context: dict) -> dict:
    """The plan section of the case page: the current plan, the draft and whether it is proposed
    for approval, earlier versions, and what this user may do with them (constant queries)."""
    extra: dict = {}
    if "valid_plan" not in context:  # the case page has not loaded the versions already
        versions = list(
            case.plan_versions.select_related("main_responsible_unit", "established_by")
            .prefetch_related(*PLAN_PARTS)
            .order_by("-number")
        )
        extra = {
            "valid_plan": next((p for p in versions if p.status == PlanVersion.Status.VALID), None),
            "draft_plan": next((p for p in versions if p.status == PlanVersion.Status.DRAFT), None),
            "earlier_plans": [p for p in versions if p.status == PlanVersion.Status.SUPERSEDED],
        }
    try:
        check_transition("save_plan_draft", case.state)
    except TransitionNotAllowed:
        return {**extra, "may_edit_plan": False, "may_establish_plan": False}
    # Decided once for the whole page (views/case.py), by the rules the services apply.
    may_drive = context.get("may_drive")
    if may_drive is None:
        may_drive = request.user.has_perm("cases.drive", case)
    may_take_part = context.get("may_take_part")
    if may_take_part is None:
        may_take_part = may_drive or request.user.has_perm("cases.take_part", case)
    return {**extra, "may_edit_plan": may_take_part, "may_establish_plan": may_drive}
