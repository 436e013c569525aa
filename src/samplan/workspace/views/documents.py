"""Documents: a plan version as PDF, for those who take part or for the person, and the blank
SIP forms for downtime.

The case is read through get_case_for (a foreign case is the same 404 as every case page) and
every print or download is a PRINT row in the log, with its layout. For a person with protected
personal data a form first asks why (documents/printing.py); the PDF never has an address.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods

from samplan.access.services import get_case_for
from samplan.cases.models import PLAN_PARTS, PlanVersion
from samplan.documents.blank_forms import KINDS, blank_form_pdf
from samplan.documents.plan_pdf import LAYOUTS, plan_pdf
from samplan.documents.printing import audit_plan_print, needs_reason
from samplan.documents.render import pdf_response

from ..actions import attempt
from ..forms.documents import PrintPlanForm


def _plan_response(case, version: PlanVersion, layout: str) -> HttpResponse:
    data = plan_pdf(version, layout=layout)
    suffix = "" if layout == "participants" else "-person"
    return pdf_response(data, f"{case.reference}-plan-v{version.number}{suffix}.pdf")


@login_required
@require_http_methods(["GET", "POST"])
def plan_download(request, case_id: int, number: int):
    """GET: the PDF (`?layout=person` for the plain-language one), or for a protected person
    the form that asks why. POST: that form; the PDF once the reason is given."""
    case = get_case_for(request.user, case_id, what="plan")
    version = (
        case.plan_versions.select_related("main_responsible_unit")
        .prefetch_related(*PLAN_PARTS)
        .filter(number=number)
        .first()
    )
    if version is None:
        raise Http404
    version.case = case  # already read, with its person, through the access layer
    protected = needs_reason(case)
    if request.method == "GET" and not protected:
        layout = request.GET.get("layout", "participants")
        if layout not in LAYOUTS:
            raise Http404
        audit_plan_print(request.user, case, version, layout=layout)
        return _plan_response(case, version, layout)
    if request.method == "GET":
        form = PrintPlanForm(initial={"layout": request.GET.get("layout", "participants")})
        status = 200
    else:
        form = PrintPlanForm(request.POST)
        result = attempt(
            form,
            lambda: audit_plan_print(
                request.user,
                case,
                version,
                layout=form.cleaned_data["layout"],
                reason=form.cleaned_data["reason"],
            ),
        )
        if result.ok:
            return _plan_response(case, version, form.cleaned_data["layout"])
        status = result.status
    return render(
        request,
        "workspace/documents/print_reason.html",
        {"case": case, "version": version, "form": form, "protected": protected},
        status=status,
    )


@login_required
@require_GET
def blank_form(request, kind: str):
    """A blank SIP form for downtime: no personal data, so nothing to log."""
    if kind not in KINDS:
        raise Http404
    return pdf_response(blank_form_pdf(kind), f"samplan-blank-sip-form-{kind}.pdf")


urlpatterns = [
    path("sip/<id:case_id>/plan/<id:number>/pdf/", plan_download, name="plan_pdf"),
    path("blanketter/<slug:kind>/", blank_form, name="blank_form"),
]
