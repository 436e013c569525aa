"""End my SIP (Avsluta min SIP): when I no longer need it, with a reason if I want to give one,
on a page that first says what happens. A receipt afterwards."""

from __future__ import annotations

from django import forms
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from samplan.access.citizen import get_case_for_citizen
from samplan.cases import services
from samplan.cases.models import SipCase
from samplan.errors import StaleEdit
from samplan.workspace.actions import attempt, with_version
from samplan.workspace.forms import VersionedForm

from ..decorators import citizen_required


class EndForm(VersionedForm):
    note = forms.CharField(
        label=gettext_lazy("Why do you want to end it? (optional)"),
        help_text=gettext_lazy(
            "You do not have to say why. If you write something, your coordinator reads it."
        ),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
    )


def _render(request, case, capacity, form, status=200):
    return render(
        request,
        "mypages/ending/end.html",
        {"case": case, "capacity": capacity, "person": case.person, "form": form},
        status=status,
    )


@citizen_required
@require_http_methods(["GET", "POST"])
def end(request, case_id: int):
    case, capacity = get_case_for_citizen(request.citizen, case_id, part="act", what="sip_case")
    if request.method == "GET":
        form = None if case.is_closed else EndForm(initial={"version": case.lock_version})
        return _render(request, case, capacity, form)
    form = EndForm(request.POST)
    result = attempt(
        form,
        lambda: services.end_sip(
            case,
            actor=capacity,
            expected_version=form.cleaned_data["version"],
            note=form.cleaned_data["note"],
        ),
    )
    if result.ok:
        return redirect("mypages:end_done", case_id=case.pk)
    if result.stale:
        case.refresh_from_db()
        form = with_version(EndForm, request.POST, case.lock_version)
        form.add_error(None, StaleEdit().message)
    return _render(request, case, capacity, form, result.status)


@citizen_required
@require_GET
def end_done(request, case_id: int):
    """The receipt, read from the record (so it holds on a reload)."""
    case, capacity = get_case_for_citizen(request.citizen, case_id, part="act", what="sip_case")
    if case.closing_reason != SipCase.ClosingReason.PERSON_WISH:
        return redirect("mypages:end", case_id=case.pk)
    return render(
        request,
        "mypages/ending/end_done.html",
        {"case": case, "capacity": capacity, "person": case.person},
    )


urlpatterns = [
    path("sip/<id:case_id>/avsluta/", end, name="end"),
    path("sip/<id:case_id>/avslutad/", end_done, name="end_done"),
]
