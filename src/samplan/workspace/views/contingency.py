"""Beredskapspaket: a unit's contingency packs (documents/contingency.py), for its coordinators
and its unit administrator: the kept packs of each of their units, a button to build one now,
and the download of a pack.

Building runs in the request, not on the worker: the pack is what a unit reaches for when
something is failing, and the worker may be what failed; a unit's pack builds in seconds (500
plans in under a minute, bench/contingency.py). The nightly task covers the rest.

Anyone else gets 403 and a refused row in the log. Read-only mode refuses a build with its
message; the packs already built stay downloadable.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from samplan.directory.models import Unit
from samplan.documents.contingency import (
    build_pack,
    download,
    pack_units,
    packs_of,
    refuse,
)
from samplan.documents.models import KEPT_PER_UNIT
from samplan.errors import DomainError

from ..actions import attempt


class BuildPackForm(forms.Form):
    """Nothing to fill in: the button is the form, and `attempt` shows a refusal above it."""


def _units_page(request, user_units, form=None, failed_unit=None, status=200):
    units = Unit.objects.filter(pk__in=user_units).select_related("organisation")
    packs = list(packs_of(user_units))
    rows = [
        {
            "unit": unit,
            "packs": [pack for pack in packs if pack.unit_id == unit.pk],
            "form": form if failed_unit == unit.pk else BuildPackForm(),
        }
        for unit in units
    ]
    return render(
        request,
        "workspace/contingency/packs.html",
        {"rows": rows, "kept": KEPT_PER_UNIT},
        status=status,
    )


@login_required
@require_GET
def packs(request):
    user_units = pack_units(request.user)
    if not user_units:
        raise refuse(request.user, None)
    return _units_page(request, user_units)


@login_required
@require_POST
def build(request, unit_id: int):
    user_units = pack_units(request.user)
    if unit_id not in user_units:
        raise refuse(request.user, unit_id)
    unit = Unit.objects.get(pk=unit_id)
    form = BuildPackForm(request.POST)
    result = attempt(form, lambda: build_pack(unit, actor=request.user))
    if not result.ok:
        return _units_page(request, user_units, form, unit_id, status=result.status)
    count = result.value.plan_count
    messages.success(
        request,
        ngettext(
            "A new contingency pack for %(unit)s is ready, with %(count)d plan.",
            "A new contingency pack for %(unit)s is ready, with %(count)d plans.",
            count,
        )
        % {"unit": unit.name, "count": count},
    )
    return redirect("workspace:contingency_packs")


@login_required
@require_GET
def download_pack(request, pack_id: int):
    try:
        pack = download(request.user, pack_id)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("workspace:contingency_packs")
    response = HttpResponse(bytes(pack.content), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{pack.file_name}"'
    response["Content-Length"] = str(pack.size)
    return response


urlpatterns = [
    path("beredskap/", packs, name="contingency_packs"),
    path("beredskap/enhet/<id:unit_id>/bygg/", build, name="contingency_build"),
    path("beredskap/paket/<id:pack_id>/", download_pack, name="contingency_download"),
]
