"""Information and samtycke: information given, consent given or declined, and revocation
(återkallelse) for one organisation or all, at any time."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from samplan.access.citizen import OWN_VIEW_AGE
from samplan.access.services import cases_visible_to, get_case_for
from samplan.cases import services
from samplan.cases.models import Consent, ConsentScope, State
from samplan.cases.services.consent import partial_revocation_problem
from samplan.cases.transitions import CONSENTED_STATES
from samplan.directory.models import Organisation
from samplan.errors import StaleEdit, form_error_response
from samplan.people.models import RelatedParty

from ..actions import attempt, with_version
from ..forms.consent import ConsentForm, InformationForm, RevokeConsentForm


@login_required
@require_http_methods(["GET", "POST"])
def record_information(request, case_id: int):
    case = get_case_for(request.user, case_id)
    minor = case.person.is_minor
    # 15–17: the young person and the guardians choose whether they see it in Min SIP.
    young = {"own_view_age": minor and (case.person.age or 0) >= OWN_VIEW_AGE}
    form = InformationForm(
        request.POST or None,
        minor=minor,
        initial={"version": case.lock_version, "own_view": case.person.own_view},
        **young,
    )
    status = 200
    if request.method == "POST":
        result = attempt(
            form,
            lambda: services.record_information(
                case,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                guardians_contacted=form.cleaned_data.get("guardians_contacted", False),
                child_views=form.cleaned_data.get("child_views", ""),
                note=form.cleaned_data["note"],
                own_view=form.cleaned_data.get("own_view") if young["own_view_age"] else None,
            ),
        )
        if result.ok:
            messages.success(request, _("Information given is recorded."))
            return redirect("workspace:case_detail", case_id=case.pk)
        if result.stale:
            case.refresh_from_db()
            form = with_version(
                InformationForm, request.POST, case.lock_version, minor=minor, **young
            )
            form.add_error(None, StaleEdit().message)
        status = result.status
    guardians = list(
        case.related_parties.filter(kind=RelatedParty.Kind.GUARDIAN).order_by("name", "pk")
    )
    return render(
        request,
        "workspace/consent/information.html",
        {"case": case, "person": case.person, "form": form, "guardians": guardians},
        status=status,
    )


def _consent_organisations(case, data) -> list[Organisation]:
    """The organisations of the units taking part, and any the user added from the directory."""
    participating = Organisation.objects.filter(
        units__participations__case=case, units__participations__removed_at__isnull=True
    )
    added = [value for value in data.getlist("organisations") if value.isdigit()] if data else []
    return list(
        Organisation.objects.filter(Q(pk__in=participating.values("pk")) | Q(pk__in=added))
        .distinct()
        .order_by("name")
    )


@login_required
@require_http_methods(["GET", "POST"])
def record_consent(request, case_id: int):
    case = get_case_for(request.user, case_id)
    minor = case.person.is_minor
    data = request.POST if request.method == "POST" else None
    if data is not None and "add" in data:
        # "Add the organisation": list it with the others, checked, and save nothing yet.
        data = data.copy()
        if data.get("add_organisation", "").isdigit():
            data.appendlist("organisations", data["add_organisation"])
        data["add_organisation"] = ""
        organisations = _consent_organisations(case, data)
        initial = {key: data.get(key) for key in data if key != "organisations"}
        initial["organisations"] = data.getlist("organisations")
        form = ConsentForm(initial=initial, organisations=organisations, minor=minor)
        return _render_consent(request, case, form)

    organisations = _consent_organisations(case, data)
    form = ConsentForm(
        data,
        organisations=organisations,
        minor=minor,
        initial={
            "version": case.lock_version,
            "organisations": [organisation.pk for organisation in organisations],
        },
    )
    status = 200
    if request.method == "POST":

        def call():
            values = form.cleaned_data
            answer = {
                "actor": request.user,
                "expected_version": values["version"],
                "method": values["method"],
                "given_by": values["given_by"],
                "given_by_name": values["given_by_name"].strip(),
                "documentation": values["documentation"].strip(),
            }
            if values["decision"] == Consent.Decision.DECLINED:
                return services.decline_consent(
                    case, note=values["decline_reason"].strip(), **answer
                )
            return services.give_consent(
                case,
                organisations=form.chosen_organisations(),
                information_scope=values["information_scope"].strip(),
                exclusions=values["exclusions"].strip(),
                valid_until=values["valid_until"],
                **answer,
            )

        result = attempt(form, call)
        if result.ok:
            if result.value.decision == Consent.Decision.DECLINED:
                messages.success(
                    request,
                    _("The person declined. The SIP is closed; their care goes on as before."),
                )
            else:
                messages.success(request, _("Consent is recorded."))
            return redirect("workspace:case_detail", case_id=case.pk)
        if result.stale:
            case.refresh_from_db()
            form = with_version(
                ConsentForm,
                request.POST,
                case.lock_version,
                organisations=organisations,
                minor=minor,
            )
            form.add_error(None, StaleEdit().message)
        status = result.status
    return _render_consent(request, case, form, status)


def _render_consent(request, case, form, status: int = 200):
    return render(
        request,
        "workspace/consent/consent.html",
        {"case": case, "person": case.person, "form": form},
        status=status,
    )


def _active_consent(case) -> Consent | None:
    return (
        case.consents.filter(decision=Consent.Decision.GIVEN, revoked_at__isnull=True)
        .order_by("-recorded_at")
        .first()
    )


@login_required
@require_http_methods(["GET", "POST"])
def revoke_consent(request, case_id: int):
    case = get_case_for(request.user, case_id)
    consent = _active_consent(case)
    organisations = Organisation.objects.filter(
        pk__in=ConsentScope.objects.filter(consent=consent, revoked_at__isnull=True).values(
            "organisation_id"
        )
    ).order_by("name")
    coordinating = case.coordinating_unit.organisation
    form = RevokeConsentForm(
        request.POST or None,
        organisations=organisations,
        coordinating=coordinating,
        initial={"version": case.lock_version},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid() and not form.cleaned_data["confirmed"]:
            problem = _revocation_problem(case, form, organisations)
            # A refused revocation is said before the confirmation, not after it. Someone who
            # may not revoke at all goes on to the service, which refuses and logs the refusal.
            if problem is None or not request.user.has_perm("cases.take_part", case):
                return _render_revoke_confirmation(request, case, form)
            form_error_response(form, problem)
            return _render_revoke(request, case, form, consent, 400)

        def call():
            chosen = [] if form.cleaned_data["everything"] else form.cleaned_data["organisations"]
            return services.revoke_consent(
                case,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                organisations=list(chosen),
                note=form.cleaned_data["note"].strip(),
            )

        result = attempt(form, call)
        if result.ok and not cases_visible_to(request.user).filter(pk=case.pk).exists():
            # Someone at the organisation recorded its own revocation: they are out at once.
            messages.success(
                request,
                _("The consent is revoked. Your unit no longer has access to the SIP."),
            )
            return redirect("workspace:start")
        if result.ok:
            if case.is_closed:
                messages.success(
                    request,
                    _("The consent is revoked and the SIP is closed. Nothing recorded is lost."),
                )
            else:
                messages.success(
                    request,
                    _(
                        "The consent is revoked for the chosen organisations; their units no "
                        "longer have access."
                    ),
                )
            return redirect("workspace:case_detail", case_id=case.pk)
        if result.stale:
            case.refresh_from_db()
            data = request.POST.copy()
            data["confirmed"] = ""
            form = with_version(
                RevokeConsentForm,
                data,
                case.lock_version,
                organisations=organisations,
                coordinating=coordinating,
            )
            form.add_error(None, StaleEdit().message)
        status = result.status
    return _render_revoke(request, case, form, consent, status)


def _render_revoke(request, case, form, consent, status: int = 200):
    return render(
        request,
        "workspace/consent/revoke.html",
        {"case": case, "person": case.person, "form": form, "consent": consent},
        status=status,
    )


def _revocation_problem(case, form, organisations):
    if form.cleaned_data["everything"]:
        return None
    return partial_revocation_problem(
        case,
        chosen={organisation.pk for organisation in form.cleaned_data["organisations"]},
        covered={organisation.pk for organisation in organisations},
    )


def _render_revoke_confirmation(request, case, form):
    chosen = list(form.cleaned_data["organisations"])
    everything = form.cleaned_data["everything"] or (
        chosen and len(chosen) == form.fields["organisations"].queryset.count()
    )
    return render(
        request,
        "workspace/consent/revoke_confirm.html",
        {
            "case": case,
            "person": case.person,
            "form": form,
            "chosen": chosen,
            "everything": everything,
        },
    )


urlpatterns = [
    path("sip/<id:case_id>/information/", record_information, name="record_information"),
    path("sip/<id:case_id>/samtycke/", record_consent, name="record_consent"),
    path("sip/<id:case_id>/samtycke/aterkalla/", revoke_consent, name="revoke_consent"),
]


def case_page_context(request, case, context: dict) -> dict:
    """What the case page needs from this step (constant number of queries): the related
    parties known in THIS SIP for the header, whether a child's guardians are missing, and which
    of the information, consent and revocation pages this user may open now (by the rights the
    case page decided once, so no link leads to a refusal)."""
    related_parties = list(case.related_parties.order_by("kind", "name", "pk"))
    takes_part = not case.is_closed and context["may_take_part"]
    drives = not case.is_closed and context["may_drive"]
    return {
        "related_parties": related_parties,
        "guardians_missing": case.person.is_minor
        and not any(party.kind == RelatedParty.Kind.GUARDIAN for party in related_parties),
        "may_add_related_party": takes_part,
        "may_record_information": drives and case.state == State.INITIATED,
        "may_record_consent": drives and case.state in {State.INITIATED, State.INFORMED},
        "may_revoke_consent": takes_part
        and case.state in CONSENTED_STATES
        and context.get("active_consent") is not None,
    }
