"""Avslut: close a SIP with a reason that fits its state."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from samplan.access.services import get_case_for
from samplan.cases import services
from samplan.cases.models import CaseEvent, State
from samplan.errors import StaleEdit

from ..actions import attempt, with_version
from ..forms import CloseCaseForm


@login_required
@require_http_methods(["GET", "POST"])
def close_case(request, case_id: int):
    case = get_case_for(request.user, case_id)
    has_plan = services.had_established_plan(case)
    form = CloseCaseForm(
        request.POST or None,
        initial={"version": case.lock_version},
        reasons=services.closing_reasons(case, has_plan=has_plan),
    )
    status = 200
    if request.method == "POST":
        result = attempt(
            form,
            lambda: services.close_case(
                case,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            ),
        )
        if result.ok:
            messages.success(request, _("The SIP is closed. Everything recorded stays readable."))
            return redirect("workspace:case_detail", case_id=case.pk)
        status = result.status
        case.refresh_from_db()  # it may have moved on, or been closed, meanwhile
        if result.stale:
            form = with_version(
                CloseCaseForm,
                request.POST,
                case.lock_version,
                reasons=services.closing_reasons(case),
            )
            form.add_error(None, StaleEdit().message)
    context = {"case": case, "form": form, "has_plan": has_plan}
    if case.is_closed and status != 403:
        # Someone closed it first (or the form was opened after closing): say who, when and
        # why, rather than a generic "the SIP is closed".
        context["show_closed"] = True
        context["closed_by"] = closing_event(case)
        context["typed_note"] = request.POST.get("note", "").strip()
        if request.method == "POST":
            status = 409
            context["conflict"] = True
    return render(request, "workspace/close_case.html", context, status=status)


def closing_event(case) -> CaseEvent | None:
    """The timeline event that closed the case: a close, a declined or a revoked consent."""
    return (
        CaseEvent.objects.filter(case=case, to_state=State.CLOSED)
        .select_related("actor", "actor_unit")
        .order_by("-at", "-pk")
        .first()
    )
