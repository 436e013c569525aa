"""Nödåtkomst: the page that offers emergency access to a staff member whose unit takes part in
a SIP but whom the consent does not cover, and the post that grants it (access/emergency.py).

The offer answers 403 (the case exists for them, the consent refuses them); anyone who may not
ask gets the plain 404 of a missing case, so nothing tells them the SIP exists.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from samplan.access.emergency import (
    REASON_MAX_LENGTH,
    current_emergency_access,
    emergency_minutes,
    grant_emergency_access,
    may_ask_emergency_access,
)
from samplan.access.models import AuditEvent
from samplan.access.services import audit, cases_visible_to
from samplan.cases.models import SipCase

from ..actions import attempt


class EmergencyAccessForm(forms.Form):
    # The length rules are the service's (access/emergency.reason_problem), so the error reads
    # in both languages from the domain error; the form only keeps a runaway post out.
    reason = forms.CharField(
        label=gettext_lazy("Why do you need emergency access?"),
        help_text=gettext_lazy(
            "Say what the person needs now that cannot wait for their consent. Your reason is "
            "saved with your name and reviewed by the security officer."
        ),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


@sensitive_post_parameters("reason")
@login_required
@require_http_methods(["GET", "POST"])
def emergency_access(request, case_id: int):
    """GET: the offer. POST: grant it and go to the case page, which shows the banner."""
    unit = may_ask_emergency_access(request.user, case_id)
    if unit is None:
        if cases_visible_to(request.user).filter(pk=case_id).exists():
            return redirect("workspace:case_detail", case_id=case_id)
        person_id = SipCase.objects.filter(pk=case_id).values_list("person_id", flat=True).first()
        audit(
            request.user,
            AuditEvent.Action.GRANT if request.method == "POST" else AuditEvent.Action.READ,
            "emergency_access",
            case_id=case_id if person_id is not None else None,
            person_id=person_id,
            outcome=AuditEvent.Outcome.REFUSED,
            emergency=True,
        )
        raise Http404
    if request.method == "GET" and current_emergency_access(request.user, case_id):
        return redirect("workspace:case_detail", case_id=case_id)
    form = EmergencyAccessForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        result = attempt(
            form,
            lambda: grant_emergency_access(request.user, case_id, form.cleaned_data["reason"]),
        )
        if result.ok:
            # The case page says until when, in its banner.
            return redirect("workspace:case_detail", case_id=case_id)
        return offer(request, case_id, unit, form, status=result.status)
    return offer(request, case_id, unit, form)


def offer(request, case_id: int, unit, form=None, *, status: int = 403):
    """The page that says the consent does not cover the user's organisation and offers
    emergency access. Shown by the case page instead of its 404 when the user may ask."""
    return render(
        request,
        "workspace/emergency/offer.html",
        {
            "case_id": case_id,
            "reference": SipCase.objects.only("initiated_at").get(pk=case_id).reference,
            "unit": unit,
            "form": form or EmergencyAccessForm(),
            "minutes": emergency_minutes(),
        },
        status=status,
    )


def offer_or_404(request, case_id: int):
    """What the case page answers when get_case_for refused (its refusal is logged there)."""
    unit = may_ask_emergency_access(request.user, case_id)
    if unit is None:
        raise Http404
    return offer(request, case_id, unit)


urlpatterns = [
    path("sip/<id:case_id>/nodatkomst/", emergency_access, name="emergency_access"),
]
