"""Förberedelse: the person and their contact go through what the meeting should discuss, whom
the person invites (units from the directory, and their own people) and how the meeting should
be for them (place, time of day, length, disturbances, the room, support)."""

from __future__ import annotations

from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import prefetch_related_objects
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from samplan.access.services import get_case_for
from samplan.cases import services
from samplan.cases.models import Preparation, State
from samplan.cases.rules import drives_case, takes_part_in_case
from samplan.cases.services.meetings import covered_organisation_ids
from samplan.cases.transitions import TRANSITIONS
from samplan.directory.models import Unit
from samplan.errors import StaleEdit

from ..actions import attempt, with_version
from ..forms import VersionedForm
from ..forms.preparation import AddUnitForm, PreparationForm


def _preparation_of(case) -> Preparation | None:
    return Preparation.objects.filter(case=case).prefetch_related("invited_related_parties").first()


def _offered_units(case):
    """Active units of the directory that do not take part yet, by organisation."""
    taking_part = case.participants.filter(removed_at__isnull=True).values("unit_id")
    return (
        Unit.objects.filter(active=True)
        .exclude(pk__in=taking_part)
        .select_related("organisation")
        .order_by("organisation__name", "name", "pk")
    )


def _render(request, case, *, form=None, add_form=None, start_form=None, newer=None, status=200):
    """The preparation page; forms not given are fresh ones. The error summary shows the errors
    of whichever form was posted, also when the case moved on and that form is gone."""
    posted = next((f for f in (form, add_form, start_form) if f is not None and f.is_bound), None)
    preparation = _preparation_of(case)
    person = case.person
    may_edit = (
        preparation is not None
        and case.state in TRANSITIONS["update_preparation"].sources
        and takes_part_in_case(request.user, case)
    )
    drives = not case.is_closed and drives_case(request.user, case)
    if form is None and may_edit:
        form = PreparationForm(
            case=case,
            initial={
                "version": preparation.lock_version,
                "related_parties": [
                    party.pk for party in preparation.invited_related_parties.all()
                ],
                **{name: getattr(preparation, name) for name in services.PREPARATION_FIELDS},
            },
        )
    units = list(_offered_units(case)) if drives else []
    if add_form is None and drives:
        add_form = AddUnitForm(units=_offered_units(case))
    covered = covered_organisation_ids(case)
    participants = list(
        case.participants.filter(removed_at__isnull=True)
        .select_related("unit__organisation")
        .order_by("unit__organisation__name", "unit__name")
    )
    may_start = drives and case.state == State.CONSENTED
    if start_form is None and may_start:
        start_form = VersionedForm(initial={"version": case.lock_version})
    return render(
        request,
        "workspace/preparation/preparation.html",
        {
            "case": case,
            "person": person,
            "preparation": preparation,
            "form": form if may_edit else None,
            "add_form": add_form,
            "start_form": start_form if may_start else None,
            "unit_groups": [
                (organisation, list(group))
                for organisation, group in groupby(units, key=lambda unit: unit.organisation)
            ],
            "covered": covered,
            "participants": participants,
            "newer": newer,
            "posted": posted,
            "may_call": drives
            and case.state in {State.PREPARATION, State.PLAN_ESTABLISHED}
            and preparation is not None,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def preparation(request, case_id: int):
    case = get_case_for(request.user, case_id, what="preparation")
    if request.method == "GET":
        return _render(request, case)
    form = PreparationForm(request.POST, case=case)
    result = attempt(
        form,
        lambda: services.update_preparation(
            case,
            actor=request.user,
            expected_version=form.cleaned_data["version"],
            values=form.preparation_values(),
            invited_related_parties=list(form.cleaned_data["related_parties"]),
        ),
    )
    if result.ok:
        messages.success(request, _("The preparation is saved."))
        return redirect("workspace:preparation", case_id=case.pk)
    newer = None
    if result.stale:
        newer = result.stale.current
        form = with_version(PreparationForm, request.POST, newer.lock_version, case=case)
        form.add_error(None, StaleEdit().message)
    return _render(request, case, form=form, newer=newer, status=result.status)


@login_required
@require_POST
def start_preparation(request, case_id: int):
    case = get_case_for(request.user, case_id, what="preparation")
    form = VersionedForm(request.POST)
    result = attempt(
        form,
        lambda: services.start_preparation(
            case, actor=request.user, expected_version=form.cleaned_data["version"]
        ),
    )
    if result.ok:
        messages.success(request, _("The preparation has started."))
        return redirect("workspace:preparation", case_id=case.pk)
    if result.stale:
        # Someone moved the case on since the page was read: show where it is now.
        case.refresh_from_db()
        form = with_version(VersionedForm, request.POST, case.lock_version)
        form.add_error(None, StaleEdit().message)
    return _render(request, case, start_form=form, status=result.status)


@login_required
@require_POST
def add_unit(request, case_id: int):
    case = get_case_for(request.user, case_id, what="participant")
    form = AddUnitForm(request.POST, units=_offered_units(case))
    result = attempt(
        form,
        lambda: services.add_participant(
            case, actor=request.user, unit=form.cleaned_data["unit"], chosen_by_person=True
        ),
    )
    if result.ok:
        messages.success(
            request,
            _("%(unit)s is added to the units taking part.") % {"unit": result.value.unit.name},
        )
        return redirect("workspace:preparation", case_id=case.pk)
    return _render(request, case, add_form=form, status=result.status)


urlpatterns = [
    path("sip/<id:case_id>/forberedelse/", preparation, name="preparation"),
    path("sip/<id:case_id>/forberedelse/starta/", start_preparation, name="start_preparation"),
    path("sip/<id:case_id>/forberedelse/enheter/", add_unit, name="add_unit"),
]


def case_page_context(request, case, context: dict) -> dict:
    """What the case page needs from this step (constant number of queries): the preparation
    with the people the person invites, and whether this user may open the preparation page.
    Reuses the preparation the case page has already loaded."""
    preparation = context["preparation"] if "preparation" in context else _preparation_of(case)
    if preparation is not None:
        prefetch_related_objects([preparation], "invited_related_parties")
    return {
        "preparation": preparation,
        "preparation_invited": (
            list(preparation.invited_related_parties.all()) if preparation else []
        ),
        "may_prepare": not case.is_closed
        and (
            preparation is not None
            or (case.state == State.CONSENTED and drives_case(request.user, case))
        ),
    }
