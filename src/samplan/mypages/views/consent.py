"""My consent (Mitt samtycke): what I agreed that the units may share, with whom, until when, and
how and when I gave it; and stopping it with one clear action, for all or for one organisation,
after a page that says what happens. A receipt afterwards."""

from __future__ import annotations

from itertools import groupby

from django import forms
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from samplan.access.citizen import get_case_for_citizen
from samplan.cases import services
from samplan.cases.models import Consent, ConsentScope, SipCase, revoked_organisation_ids
from samplan.cases.transitions import CONSENTED_STATES
from samplan.errors import StaleEdit
from samplan.workspace.actions import attempt, with_version
from samplan.workspace.forms import VersionedForm

from ..decorators import citizen_required

ALL = "all"


def _consents(case) -> list[Consent]:
    """The SIP's consents, newest first, each with its organisations."""
    scopes = ConsentScope.objects.select_related("organisation").order_by("organisation__name")
    return list(
        case.consents.prefetch_related(Prefetch("scopes", queryset=scopes)).order_by(
            "-recorded_at", "-pk"
        )
    )


def _active(consents: list[Consent]) -> Consent | None:
    return next((consent for consent in consents if consent.is_active), None)


@citizen_required
@require_GET
def consent(request, case_id: int):
    case, capacity = get_case_for_citizen(
        request.citizen, case_id, part="everything", what="consent"
    )
    consents = _consents(case)
    latest = consents[0] if consents else None
    active = _active(consents)
    units = (
        case.participants.filter(removed_at__isnull=True)
        .select_related("unit")
        .order_by("unit__organisation_id", "unit__name")
    )
    units_by_organisation = {
        organisation_id: [participant.unit.name for participant in group]
        for organisation_id, group in groupby(units, key=lambda p: p.unit.organisation_id)
    }
    revoked = revoked_organisation_ids(consents)
    organisations = (
        [
            {
                "scope": scope,
                "units": units_by_organisation.get(scope.organisation_id, []),
                "stopped": scope.organisation_id in revoked,
                "stopped_at": scope.revoked_at or latest.revoked_at,
            }
            for scope in latest.scopes.all()
        ]
        if latest is not None and latest.decision == Consent.Decision.GIVEN
        else []
    )
    return render(
        request,
        "mypages/consent/consent.html",
        {
            "case": case,
            "capacity": capacity,
            "person": case.person,
            "consent": latest,
            "active": active,
            "organisations": organisations,
            "may_revoke": capacity.may_act and _may_revoke(case, active),
        },
    )


def _may_revoke(case: SipCase, active: Consent | None) -> bool:
    return active is not None and case.state in CONSENTED_STATES


class RevokeForm(VersionedForm):
    """Stop sharing for all, or for one organisation other than the coordinating unit's (that
    one only together with all: services.partial_revocation_problem)."""

    scope = forms.ChoiceField(
        label=gettext_lazy("Who should stop sharing information about you?"),
        widget=forms.RadioSelect,
        error_messages={
            "required": gettext_lazy("Choose all, or one organisation."),
            "invalid_choice": gettext_lazy("Choose all, or one organisation from the list."),
        },
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisations = {str(organisation.pk): organisation for organisation in organisations}
        self.fields["scope"].choices = [
            (ALL, gettext_lazy("Everyone: stop all sharing. The SIP ends.")),
            *((key, organisation.name) for key, organisation in self.organisations.items()),
        ]

    def chosen(self):
        """The organisation chosen, or None for all."""
        return self.organisations.get(self.cleaned_data["scope"])


def _revocable(case: SipCase, active: Consent):
    """(organisations one can stop alone, the coordinating organisation if the consent covers
    it, and every organisation still covered)."""
    covered = [scope.organisation for scope in active.scopes.all() if scope.revoked_at is None]
    coordinating = case.coordinating_unit.organisation
    alone = [organisation for organisation in covered if organisation.pk != coordinating.pk]
    holding = coordinating if len(alone) < len(covered) else None
    return alone, holding, covered


@citizen_required
@require_http_methods(["GET", "POST"])
def revoke(request, case_id: int):
    case, capacity = get_case_for_citizen(request.citizen, case_id, part="act", what="consent")
    active = _active(_consents(case))
    if not _may_revoke(case, active):
        return render(
            request,
            "mypages/consent/revoke.html",
            {"case": case, "capacity": capacity, "person": case.person, "form": None},
            status=200 if request.method == "GET" else 400,
        )
    alone, holding, covered = _revocable(case, active)
    form = RevokeForm(
        request.POST or None, organisations=alone, initial={"version": case.lock_version}
    )
    context = {
        "case": case,
        "capacity": capacity,
        "person": case.person,
        "form": form,
        "holding": holding,
    }
    if request.method == "GET":
        return render(request, "mypages/consent/revoke.html", context)
    if form.is_valid() and not form.cleaned_data["confirmed"]:
        chosen = form.chosen()
        return render(
            request,
            "mypages/consent/revoke_confirm.html",
            {
                **context,
                "chosen": chosen,
                # The last organisation left ends the whole consent, as "all" does.
                "ends_all": chosen is None or len(covered) == 1,
            },
        )

    def call():
        chosen = form.chosen()
        return services.revoke_consent(
            case,
            actor=capacity,
            expected_version=form.cleaned_data["version"],
            organisations=[chosen] if chosen is not None else [],
        )

    result = attempt(form, call)
    if result.ok:
        return redirect("mypages:revoke_done", case_id=case.pk)
    if result.stale:
        case.refresh_from_db()
        data = request.POST.copy()
        data["confirmed"] = ""
        context["form"] = form = with_version(
            RevokeForm, data, case.lock_version, organisations=alone
        )
        form.add_error(None, StaleEdit().message)
    return render(request, "mypages/consent/revoke.html", context, status=result.status)


@citizen_required
@require_GET
def revoke_done(request, case_id: int):
    """The receipt: what stopped and when, read from the record (so it holds on a reload)."""
    case, capacity = get_case_for_citizen(
        request.citizen, case_id, part="everything", what="consent"
    )
    consents = _consents(case)
    latest_given = next(
        (consent for consent in consents if consent.decision == Consent.Decision.GIVEN), None
    )
    if latest_given is None:
        return redirect("mypages:consent", case_id=case.pk)
    stopped = [scope for scope in latest_given.scopes.all() if scope.revoked_at is not None]
    if latest_given.revoked_at is None and not stopped:
        return redirect("mypages:consent", case_id=case.pk)
    return render(
        request,
        "mypages/consent/revoke_done.html",
        {
            "case": case,
            "capacity": capacity,
            "person": case.person,
            "consent": latest_given,
            "all_stopped": latest_given.revoked_at is not None,
            "stopped": sorted(stopped, key=lambda scope: scope.revoked_at, reverse=True),
        },
    )


urlpatterns = [
    path("sip/<id:case_id>/samtycke/", consent, name="consent"),
    path("sip/<id:case_id>/samtycke/aterkalla/", revoke, name="revoke"),
    path("sip/<id:case_id>/samtycke/aterkallat/", revoke_done, name="revoke_done"),
]
