"""Sök: find a SIP among those I may see, by personnummer, SIP number or name, with filters.

Built for a national register (1 000 000 SIPs): keyset pages on (-initiated_at, -pk) with a
"next" cursor and never a count; names match as prefixes (UPPER(name) LIKE 'ABC%', served by
the expression indexes of people/migrations/0002); an identity number is one index lookup.

The box is posted, not put in the address: a personnummer or a name in a URL would end up in
server logs, browser history and Referer headers. Filters alone work with GET as well.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef, Q
from django.shortcuts import render
from django.urls import path
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from samplan.access.models import AuditEvent
from samplan.access.services import (
    SEEING_ROLES,
    active_unit_ids,
    audit,
    cases_visible_to,
    log_list_reads,
)
from samplan.cases.deadlines import next_step_of, overdue_q, with_next_step_data
from samplan.cases.models import Participant
from samplan.directory.models import Unit
from samplan.hardening import search_refusal
from samplan.people.models import Person

from ..forms.search import Query, SearchForm, cursor_after


@sensitive_post_parameters("q")
@login_required
@require_http_methods(["GET", "POST"])
def search(request):
    user = request.user
    seeing_units = active_unit_ids(user, SEEING_ROLES)
    units = list(Unit.objects.filter(pk__in=seeing_units).order_by("name"))
    if request.method == "POST":
        data = request.POST
    else:
        data = request.GET.copy()
        data.pop("q", None)  # never from the address; see the module docstring
    form = SearchForm(data, units=units)
    rows, next_cursor = [], ""
    status = 200
    if not form.is_valid():
        status = 400
    elif seeing_units:
        query = form.cleaned_data["q"]
        if query.names_a_person and (refusal := search_refusal(request)):
            return refusal
        cases = _matching(user, query, form.cleaned_data, seeing_units)
        after = form.cleaned_data["after"]
        if after:
            moment, pk = after
            cases = cases.filter(Q(initiated_at__lt=moment) | Q(initiated_at=moment, pk__lt=pk))
        size = settings.SAMPLAN_CASE_LIST_PAGE_SIZE
        rows = list(with_next_step_data(cases)[: size + 1])
        if len(rows) > size:
            rows = rows[:size]
            next_cursor = cursor_after(rows[-1].initiated_at, rows[-1].pk)
        for case in rows:
            case.next_step = next_step_of(case)
        if query.names_a_person:
            audit(user, AuditEvent.Action.READ, "search")
        log_list_reads(user, rows)
    return render(
        request,
        "workspace/search/search.html",
        {
            "form": form,
            "rows": rows,
            "next_cursor": next_cursor,
            "searched": form.is_valid() and bool(form.cleaned_data["q"].kind),
            "first_page": not (form.is_valid() and form.cleaned_data["after"]),
            "my_units": units,
            "has_units": bool(seeing_units),
        },
        status=status,
    )


def _matching(user, query: Query, filters: dict, seeing_units: list[int]):
    cases = (
        cases_visible_to(user)
        .select_related("person", "coordinating_unit")
        .order_by("-initiated_at", "-pk")
    )
    if query.kind == "identity":
        cases = cases.filter(person__identity_number=query.identity_number)
    elif query.kind == "sip":
        cases = cases.filter(pk=query.case_id)
    elif query.kind == "name":
        for word in query.words:
            cases = cases.filter(
                Q(person__given_name__istartswith=word) | Q(person__family_name__istartswith=word)
            )
        # Skyddade personuppgifter: found by name only where one of my units takes part now;
        # anywhere else only by the full identity number.
        takes_part = Exists(
            Participant.objects.filter(
                case=OuterRef("pk"), unit_id__in=seeing_units, removed_at__isnull=True
            )
        )
        cases = cases.filter(Q(person__protection=Person.Protection.NONE) | Q(takes_part))
    if filters["state"]:
        cases = cases.filter(state=filters["state"])
    if filters["unit"] == "mine":
        cases = cases.filter(coordinating_unit_id__in=seeing_units)
    elif filters["unit"]:
        cases = cases.filter(coordinating_unit_id=int(filters["unit"]))
    if filters["coordinator"] == "me":
        cases = cases.filter(coordinator=user)
    if filters["overdue"]:
        cases = cases.filter(overdue_q())
    return cases


urlpatterns = [path("sip/sok/", search, name="search")]
