"""Signing in to Min SIP and out again: the sign-in page (e-legitimation through the region's
broker, mypages/oidc.py; in the demo county also a clearly marked demo sign-in) and sign-out.
The session itself (who, timeouts) is mypages/middleware.py."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from samplan.access.citizen import Citizen
from samplan.demo.county import DemoCitizen, demo_citizens
from samplan.mypages import oidc
from samplan.mypages.middleware import begin_session, end_session, idle_minutes
from samplan.people.models import RelatedParty

DEMO = "demo"


def demo_enabled() -> bool:
    """The demo sign-in lets anyone be any of the demo county's people: never behind TLS (the
    production signal), whatever the setting says (checks.py refuses that at startup too)."""
    return not settings.HTTPS and bool(getattr(settings, "SAMPLAN_PERSON_DEMO_SIGN_IN", True))


def _lower_first(text) -> str:
    text = str(text)
    return text[:1].lower() + text[1:]


def _demo_label(citizen: DemoCitizen) -> str:
    if citizen.is_person:
        return _("%(name)s – their own SIP") % {"name": citizen.name}
    kind = _lower_first(RelatedParty.Kind(citizen.role).label)
    values = {"name": citizen.name, "kind": kind, "person": citizen.sip_of}
    if citizen.may_act:
        return _("%(name)s – %(kind)s of %(person)s, acts for them") % values
    sees = _lower_first(RelatedParty.Sees(citizen.sees).label)
    return _("%(name)s – %(kind)s of %(person)s, sees: %(sees)s") % {**values, "sees": sees}


class DemoSignInForm(forms.Form):
    """Choose one of the demo county's fictitious people: never a number typed in."""

    identity_number = forms.ChoiceField(
        label=gettext_lazy("Who do you want to be?"),
        error_messages={
            "required": gettext_lazy("Choose who you want to be."),
            "invalid_choice": gettext_lazy("Choose one of the people in the list."),
        },
    )
    next = forms.CharField(max_length=2000, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, citizens: list[DemoCitizen], **kwargs):
        super().__init__(*args, **kwargs)
        self.citizens: dict[str, DemoCitizen] = {}
        for citizen in citizens:  # someone in two capacities: signed in once, as themselves
            self.citizens.setdefault(citizen.identity_number, citizen)
        groups = [
            (
                _("People with a SIP"),
                [c for c in self.citizens.values() if c.is_person],
            ),
            (
                _("Guardians, representatives and relatives"),
                [c for c in self.citizens.values() if not c.is_person],
            ),
        ]
        self.groups = [
            (title, [(c.identity_number, _demo_label(c)) for c in members])
            for title, members in groups
            if members
        ]
        self.fields["identity_number"].choices = [("", ""), *self.groups]

    def chosen(self) -> DemoCitizen:
        return self.citizens[self.cleaned_data["identity_number"]]


def _page(request, *, form: DemoSignInForm | None, next_url: str, status: int = 200):
    return render(
        request,
        "mypages/signin/sign_in.html",
        {
            "oidc_enabled": oidc.enabled(),
            "form": form,
            "next": next_url,
            "idle_minutes": idle_minutes(),
            "staff_signed_in": request.user.is_authenticated,
        },
        status=status,
    )


@never_cache
@require_GET
def sign_in(request):
    next_url = oidc.safe_next(request, request.GET.get("next"))
    if request.citizen is not None:
        return redirect(next_url or reverse("mypages:home"))
    form = (
        DemoSignInForm(initial={"next": next_url}, citizens=demo_citizens())
        if demo_enabled()
        else None
    )
    return _page(request, form=form, next_url=next_url)


@never_cache
@require_POST
def demo_sign_in(request):
    """Signed in exactly as through the broker, with the method "demo"."""
    if not demo_enabled():
        raise Http404
    form = DemoSignInForm(request.POST, citizens=demo_citizens())
    if not form.is_valid():
        if request.POST.get("identity_number"):
            oidc.audit_refusal(oidc.Refusal.NOT_DEMO)
        next_url = oidc.safe_next(request, request.POST.get("next"))
        return _page(request, form=form, next_url=next_url, status=400)
    chosen = form.chosen()
    next_url = oidc.safe_next(request, form.cleaned_data["next"])
    begin_session(
        request, Citizen(identity_number=chosen.identity_number, name=chosen.name, method=DEMO)
    )
    return redirect(next_url or reverse("mypages:home"))


@require_POST
def sign_out(request):
    citizen = request.citizen
    if citizen is not None:
        end_session(request, citizen, detail="signed out")
        messages.success(
            request, _("You are signed out of My SIP. On a shared computer, close the browser too.")
        )
    return redirect("mypages:about")


urlpatterns = [
    path("logga-in/", sign_in, name="sign_in"),
    path("logga-in/demo/", demo_sign_in, name="demo_sign_in"),
    path("logga-ut/", sign_out, name="sign_out"),
    # The e-legitimation broker (mypages/oidc.py); 404 unless SAMPLAN_PERSON_OIDC is set.
    path("oidc/authenticate/", oidc.PersonSignInRequestView.as_view(), name="oidc_start"),
    path("oidc/callback/", oidc.PersonSignInCallbackView.as_view(), name="oidc_callback"),
]
