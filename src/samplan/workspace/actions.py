"""Staff actions on a case. Each view reads the case through get_case_for (logged), calls one
service function, and on a domain error shows the message next to its field and keeps what was
typed. A stale form is refused and the newer content is shown with the user's text kept."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from samplan.access.services import get_case_for
from samplan.cases import services
from samplan.errors import DomainError, PermissionRefused, StaleEdit, form_error_response

from .forms import CloseCaseForm


@login_required
@require_http_methods(["GET", "POST"])
def close_case(request, case_id: int):
    case = get_case_for(request.user, case_id)
    form = CloseCaseForm(request.POST or None, initial={"version": case.lock_version})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.close_case(
                case,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
        except StaleEdit as error:
            case.refresh_from_db()
            data = request.POST.copy()
            data["version"] = str(case.lock_version)
            form = CloseCaseForm(data)
            form.is_valid()
            form.add_error(None, error.message)
            status = 409
        except PermissionRefused as error:
            form.add_error(None, error.message)
            status = 403
        except DomainError as error:
            form_error_response(form, error)
            status = 400
        else:
            messages.success(request, _("The SIP is closed. Everything recorded stays readable."))
            return redirect("workspace:case_detail", case_id=case.pk)
    elif request.method == "POST":
        status = 400
    return render(request, "workspace/close_case.html", {"case": case, "form": form}, status=status)
