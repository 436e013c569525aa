"""Ask for a SIP (Be om en SIP): for myself, or as a relative or guardian for someone else. I
choose the unit (a vårdcentral, the kommun's socialtjänst), say why, and may leave a phone
number; the request lands on that unit's start page as an initiative. A receipt afterwards,
the same whoever the request is for (it never says whether someone was known)."""

from __future__ import annotations

import re
from itertools import groupby

from django import forms
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from samplan.cases import services
from samplan.directory.models import Unit
from samplan.workspace.actions import attempt

from ..decorators import citizen_required

MYSELF = "myself"
SOMEONE_ELSE = "someone_else"
RECEIPT_KEY = "mypages_sip_request"
PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,24}$")


class _UnitChoice(forms.ModelChoiceField):
    def label_from_instance(self, unit: Unit) -> str:
        return unit.name


class AskForm(forms.Form):
    """What the request needs. Which fields are required (why; someone else's number and name)
    is said by the service, in both languages, next to each field."""

    for_whom = forms.ChoiceField(
        label=gettext_lazy("Who is the SIP for?"),
        choices=[
            (MYSELF, gettext_lazy("For me")),
            (SOMEONE_ELSE, gettext_lazy("For someone else: I am a relative or a guardian")),
        ],
        widget=forms.RadioSelect,
        initial=MYSELF,
        error_messages={"required": gettext_lazy("Choose who the SIP is for.")},
    )
    identity_number = forms.CharField(
        label=gettext_lazy("Their personal identity number"),
        help_text=gettext_lazy("12 digits, for example 19121212-1212."),
        required=False,
        max_length=20,
    )
    given_name = forms.CharField(
        label=gettext_lazy("Their first name"), required=False, max_length=100
    )
    family_name = forms.CharField(
        label=gettext_lazy("Their last name"), required=False, max_length=100
    )
    unit = _UnitChoice(
        label=gettext_lazy("Where do you want to ask?"),
        help_text=gettext_lazy(
            "Choose the place that knows you best, for example your health centre (vårdcentral) "
            "or the social services (socialtjänsten) of your kommun."
        ),
        queryset=Unit.objects.none(),
        required=False,
        empty_label=gettext_lazy("Choose a place"),
        error_messages={"invalid_choice": gettext_lazy("Choose a place from the list.")},
    )
    reason = forms.CharField(
        label=gettext_lazy("Why do you want a SIP?"),
        help_text=gettext_lazy(
            "Write in your own words. For example: “I get help from both the health centre and "
            "home care, and they do not talk to each other.” You do not have to write about "
            "illnesses."
        ),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=2000,
    )
    phone = forms.CharField(
        label=gettext_lazy("Phone number where we can reach you (optional)"),
        help_text=gettext_lazy("So that the unit can call you. For example 070-123 45 67."),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = services.requestable_units()

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].strip()
        if phone and not PHONE.match(phone):
            raise forms.ValidationError(
                gettext_lazy("Write the phone number with digits, for example 070-123 45 67.")
            )
        return phone

    def someone_else(self) -> services.SomeoneElse | None:
        if self.cleaned_data["for_whom"] != SOMEONE_ELSE:
            return None
        return services.SomeoneElse(
            identity_number=self.cleaned_data["identity_number"],
            given_name=self.cleaned_data["given_name"],
            family_name=self.cleaned_data["family_name"],
        )


def _unit_groups(units):
    return [
        (organisation, list(group))
        for organisation, group in groupby(units, key=lambda unit: unit.organisation)
    ]


def _render(request, form, status=200):
    return render(
        request,
        "mypages/ask/ask.html",
        {"form": form, "unit_groups": _unit_groups(form.fields["unit"].queryset)},
        status=status,
    )


@citizen_required
@require_http_methods(["GET", "POST"])
def ask(request):
    if request.method == "GET":
        return _render(request, AskForm())
    form = AskForm(request.POST)
    limited = False

    def call():
        nonlocal limited
        try:
            return services.request_sip(
                request.citizen,
                unit=form.cleaned_data["unit"],
                reason=form.cleaned_data["reason"],
                phone=form.cleaned_data["phone"],
                for_person=form.someone_else(),
            )
        except services.RequestLimitReached:
            limited = True
            raise

    result = attempt(form, call)
    if result.ok:
        unit = form.cleaned_data["unit"]
        request.session[RECEIPT_KEY] = {
            "unit": unit.name,
            "organisation": unit.organisation.name,
            "phone": unit.phone,
            "someone_else": form.cleaned_data["for_whom"] == SOMEONE_ELSE,
            "call_back": bool(form.cleaned_data["phone"]),
        }
        return redirect("mypages:ask_done")
    return _render(request, form, 429 if limited else result.status)


@citizen_required
@require_GET
def ask_done(request):
    receipt = request.session.get(RECEIPT_KEY)
    if receipt is None:
        return redirect("mypages:ask")
    return render(request, "mypages/ask/ask_done.html", {"receipt": receipt})


urlpatterns = [
    path("be-om-sip/", ask, name="ask"),
    path("be-om-sip/skickad/", ask_done, name="ask_done"),
]
