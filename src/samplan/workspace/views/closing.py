"""Avslut: close a SIP with a reason that fits its state."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from samplan.access.services import get_case_for
from samplan.cases import services
from samplan.errors import StaleEdit

from ..actions import attempt, with_version
from ..forms import CloseCaseForm


@login_required
@require_http_methods(["GET", "POST"])
def close_case(request, case_id: int):
    case = get_case_for(request.user, case_id)
    form = CloseCaseForm(request.POST or None, initial={"version": case.lock_version})
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
        if result.stale:
            case.refresh_from_db()
            form = with_version(CloseCaseForm, request.POST, case.lock_version)
            form.add_error(None, StaleEdit().message)
        status = result.status
    return render(request, "workspace/close_case.html", {"case": case, "form": form}, status=status)
