"""Initiativ: start a SIP. Find the person by full identity number (checked as you type and on
submit) or register them, then record who took the initiative, why, the kind of SIP and who
coordinates it. Also: add a guardian, relative or representative from the case page.

Between the steps the person travels as a signed token in a hidden POST field (never in a
URL): it names the person found or registered, the staff member and the unit, and expires
after two hours. It cannot be forged into another person, so the only way to a person here is
their full identity number, and that lookup is logged. Being stateless, two tabs can start two
SIPs at once without overwriting each other, as a value kept in the session would."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from samplan.access.citizen import OWN_VIEW_AGE
from samplan.access.models import AuditEvent
from samplan.access.services import active_unit_ids, audit, get_case_for
from samplan.cases import services
from samplan.cases.models import SipCase
from samplan.cases.services.initiative import (
    add_related_party as add_party_to_case,
)
from samplan.cases.services.initiative import (
    change_related_party as change_party_in_case,
)
from samplan.cases.services.initiative import end_related_party_link, set_own_view
from samplan.directory.models import Unit
from samplan.errors import DomainError
from samplan.hardening import search_refusal
from samplan.people import services as people_services
from samplan.people.identity import parse_identity
from samplan.people.models import Person

from ..actions import attempt
from ..forms.initiative import (
    ChangeRelatedPartyForm,
    FindPersonForm,
    InitiativeForm,
    OwnViewForm,
    RegisterPersonForm,
    RelatedPartyForm,
)

TOKEN_SALT = "samplan.workspace.initiate.person"
TOKEN_MAX_AGE = 2 * 60 * 60


def _working_units(user) -> list[Unit]:
    return list(Unit.objects.filter(pk__in=active_unit_ids(user)).select_related("organisation"))


@sensitive_post_parameters(
    "identity_number",
    "given_name",
    "family_name",
    "phone",
    "email",
    "address",
    "reason",
    "initiator_name",
    "person",
)
@login_required
@require_http_methods(["GET", "POST"])
def initiate(request):
    units = _working_units(request.user)
    if not units:
        return render(request, "workspace/initiative/refused.html", status=403)
    if request.method == "GET":
        return _render_find(request, FindPersonForm(units=units))
    step = request.POST.get("step")
    if step == "register":
        return _register(request, units)
    if step == "initiate":
        return _initiate(request, units)
    return _find(request, units)


def _find(request, units):
    # The step that tells whether a person is registered counts against the search limit.
    if refusal := search_refusal(request, "person_lookup"):
        return refusal
    form = FindPersonForm(request.POST, units=units)
    result = attempt(
        form,
        lambda: people_services.find_person(
            actor=request.user,
            unit=form.cleaned_data["unit"],
            identity_number=form.cleaned_data["identity_number"],
            reserve_number=form.cleaned_data["reserve_number"],
        ),
    )
    if not result.ok:
        return _render_find(request, form, result.status)
    unit = form.cleaned_data["unit"]
    if result.value is None:
        register = RegisterPersonForm(
            initial={
                "identity_number": form.cleaned_data["identity_number"].strip(),
                "reserve_number": form.cleaned_data["reserve_number"],
                "unit": unit.pk,
            },
            units=units,
        )
        return _render_register(request, register)
    return _render_initiative(
        request,
        result.value,
        unit,
        InitiativeForm(user=request.user, units=units, initial={"initiating_unit": unit.pk}),
    )


def _register(request, units):
    form = RegisterPersonForm(request.POST, units=units)
    result = attempt(
        form,
        lambda: people_services.register_person(
            actor=request.user,
            unit=form.cleaned_data["unit"],
            identity_number=form.cleaned_data["identity_number"],
            reserve_number=form.cleaned_data["reserve_number"],
            given_name=form.cleaned_data["given_name"],
            family_name=form.cleaned_data["family_name"],
            **form.person_details(),
        ),
    )
    if not result.ok:
        return _render_register(request, form, result.status)
    unit = form.cleaned_data["unit"]
    return _render_initiative(
        request,
        result.value,
        unit,
        InitiativeForm(user=request.user, units=units, initial={"initiating_unit": unit.pk}),
        registered=True,
    )


def _initiate(request, units):
    try:
        token = signing.loads(
            request.POST.get("person", ""), salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE
        )
        if token["user"] != request.user.pk:
            raise signing.BadSignature
        person = Person.objects.get(pk=token["person"])
        unit = next(unit for unit in units if unit.pk == token["unit"])
    except (signing.BadSignature, KeyError, TypeError, Person.DoesNotExist, StopIteration):
        problem = _(
            "The page was open too long or its content was changed. Look the person up again."
        )
        return _render_find(request, FindPersonForm(units=units), 400, problem=problem)
    form = InitiativeForm(request.POST, user=request.user, units=units)
    result = attempt(
        form,
        lambda: services.initiate_case(
            actor=request.user,
            person=person,
            initiating_unit=form.cleaned_data["initiating_unit"],
            coordinating_unit=form.cleaned_data["coordinating_unit"],
            coordinator=form.cleaned_data["coordinator"],
            initiated_by=form.cleaned_data["initiated_by"],
            initiator_name=form.cleaned_data["initiator_name"].strip(),
            reason=form.cleaned_data["reason"].strip(),
            kind=form.cleaned_data["kind"],
            discharge_notice_at=(
                form.cleaned_data["discharge_notice_at"]
                if form.cleaned_data["kind"] == SipCase.Kind.DISCHARGE
                else None
            ),
        ),
    )
    if result.ok:
        messages.success(request, _("The SIP is started. Next: give the person information."))
        return redirect("workspace:case_detail", case_id=result.value.pk)
    # The person is shown again with the errors: that is a read of their data.
    audit(request.user, AuditEvent.Action.READ, "person", person_id=person.pk, unit_id=unit.pk)
    return _render_initiative(request, person, unit, form, status=result.status)


def _render_find(request, form, status: int = 200, problem: str = ""):
    return render(
        request,
        "workspace/initiative/find.html",
        {"form": form, "problem": problem},
        status=status,
    )


def _render_register(request, form, status: int = 200):
    return render(request, "workspace/initiative/register.html", {"form": form}, status=status)


def _render_initiative(request, person, unit, form, *, registered=False, status: int = 200):
    token = signing.dumps(
        {"person": person.pk, "user": request.user.pk, "unit": unit.pk}, salt=TOKEN_SALT
    )
    # No guardians or other parties here: those known are linked to SIPs this unit may not see.
    return render(
        request,
        "workspace/initiative/initiative.html",
        {
            "form": form,
            "person": person,
            "person_token": token,
            "registered": registered,
        },
        status=status,
    )


@sensitive_post_parameters("identity_number")
@login_required
@require_POST
def check_identity(request):
    """The identity number checked as it is typed (htmx): valid or not, and why. It never says
    whether or who is registered; that answer comes on submit, with the lookup logged. POST, so
    the number stays out of URLs and server logs."""
    if refusal := search_refusal(request, "identity_check"):
        return refusal
    raw = request.POST.get("identity_number", "").strip()
    context = {"empty": not raw}
    if raw:
        try:
            identity = parse_identity(raw, reserve=bool(request.POST.get("reserve_number")))
        except DomainError as error:
            context["error"] = error.message
        else:
            context["kind"] = Person.IdentityKind(identity.kind).label
    return render(request, "workspace/initiative/_identity_check.html", context)


@sensitive_post_parameters("name", "relation", "phone", "email", "mandate", "identity_number")
@login_required
@require_http_methods(["GET", "POST"])
def add_related_party(request, case_id: int):
    case = get_case_for(request.user, case_id)
    form = RelatedPartyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        result = attempt(
            form,
            lambda: add_party_to_case(
                case,
                actor=request.user,
                kind=form.cleaned_data["kind"],
                name=form.cleaned_data["name"],
                **form.details(),
            ),
        )
        if result.ok:
            messages.success(
                request, _("%(name)s is added to the person.") % {"name": result.value.name}
            )
            return redirect("workspace:case_detail", case_id=case.pk)
        status = result.status
    return render(
        request,
        "workspace/initiative/related_party.html",
        {"case": case, "person": case.person, "form": form},
        status=status,
    )


@sensitive_post_parameters("identity_number")
@login_required
@require_http_methods(["GET", "POST"])
def change_related_party(request, case_id: int):
    """Change what a guardian, relative or representative known in this SIP is granted (what
    they see, acting, the number they sign in to Min SIP with), or end their link to this SIP;
    and, for whoever drives the SIP, a 15–17-year-old's own view in Min SIP. The party is
    `?party=<id>` (a hidden field when posted); without it the page lists the parties. Who may
    do it the services decide (the units taking part, as for adding one); the page is shown
    to whoever sees the SIP, like the case page that lists them."""
    case = get_case_for(request.user, case_id)
    person = case.person
    parties = list(case.related_parties.order_by("kind", "name", "pk"))
    data = request.POST if request.method == "POST" else request.GET
    young = person.is_minor and (person.age or 0) >= OWN_VIEW_AGE
    context = {"case": case, "person": person, "parties": parties, "party": None}
    status = 200
    if request.method == "POST" and request.POST.get("step") == "own_view":
        own_view_form = OwnViewForm(request.POST)
        result = attempt(
            own_view_form,
            lambda: set_own_view(
                case, actor=request.user, own_view=own_view_form.cleaned_data["own_view"]
            ),
        )
        if result.ok:
            messages.success(request, _("The young person's own view in Min SIP is saved."))
            return redirect("workspace:case_detail", case_id=case.pk)
        context.update(problems=own_view_form, own_view_form=own_view_form)
        return render(
            request,
            "workspace/initiative/change_related_party.html",
            context,
            status=result.status,
        )
    chosen = data.get("party", "")
    party = next((party for party in parties if str(party.pk) == chosen), None)
    if chosen and party is None:
        raise Http404  # not a party known in this SIP
    if party is None:
        if request.method == "POST":
            return redirect("workspace:change_related_party", case_id=case.pk)
        if young and not case.is_closed and request.user.has_perm("cases.drive", case):
            context["own_view_form"] = OwnViewForm(
                initial={"own_view": "yes" if person.own_view else "no"}
            )
        return render(request, "workspace/initiative/change_related_party.html", context)
    form = ChangeRelatedPartyForm(
        request.POST if request.method == "POST" and "end" not in request.POST else None,
        initial={
            "may_see": party.may_see,
            "may_act": party.may_act,
            "identity_number": party.identity_number,
        },
    )
    problems = form
    if request.method == "POST" and "end" in request.POST:
        problems = forms.Form(request.POST)
        result = attempt(
            problems, lambda: end_related_party_link(case, actor=request.user, party=party)
        )
        if result.ok:
            messages.success(
                request, _("%(name)s is no longer linked to this SIP.") % {"name": party.name}
            )
            return redirect("workspace:case_detail", case_id=case.pk)
        status = result.status
    elif request.method == "POST":
        result = attempt(
            form,
            lambda: change_party_in_case(case, actor=request.user, party=party, **form.grant()),
        )
        if result.ok:
            messages.success(request, _("%(name)s is changed.") % {"name": party.name})
            return redirect("workspace:case_detail", case_id=case.pk)
        status = result.status
    context.update(
        party=party,
        form=form,
        problems=problems,
        acting_kind=party.kind in people_services.ACTING_KINDS,
    )
    return render(request, "workspace/initiative/change_related_party.html", context, status=status)


urlpatterns = [
    path("sip/ny/", initiate, name="initiate"),
    path("sip/ny/kontrollera-nummer/", check_identity, name="check_identity"),
    path("sip/<id:case_id>/narstaende/ny/", add_related_party, name="add_related_party"),
    path(
        "sip/<id:case_id>/narstaende/andra/",
        change_related_party,
        name="change_related_party",
    ),
]
