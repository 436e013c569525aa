"""Meddelanden: the message thread of a SIP between the units taking part (working notes, not the
record), with acknowledgement of receipt (kvittens) when the sender asks for it.

The thread is shown on the case page (section `#meddelanden`); the form posts here and works
without JavaScript (redirect back to the case page); with htmx the section is swapped in place.
"""

from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef, Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from samplan.access.models import AuditEvent
from samplan.access.services import acting_unit_for, audit, get_case_for
from samplan.cases import services
from samplan.cases.models import (
    CaseMessage,
    MessageAcknowledgement,
    MessageRead,
    Participant,
    revoked_organisation_ids,
)

from ..actions import attempt
from ..forms.messages import AcknowledgeForm, MessageForm

THREAD_TEMPLATE = "workspace/case/_messages.html"


@login_required
@require_http_methods(["GET", "POST"])
def case_messages(request, case_id: int):
    """The thread on a page of its own (what a plain form post falls back to on an error), and
    the post of a new message."""
    case = get_case_for(request.user, case_id)
    form = MessageForm(request.POST if request.method == "POST" else None)
    status = 200
    sent = False
    if request.method == "POST":
        result = attempt(
            form,
            lambda: services.post_message(
                case,
                actor=request.user,
                body=form.cleaned_data["body"],
                asks_acknowledgement=form.cleaned_data["asks_acknowledgement"],
            ),
        )
        if result.ok and not request.htmx:
            flash.success(request, _("Your message was sent."))
            return _back_to_thread(case)
        if result.ok:
            form, sent = MessageForm(), True
        status = result.status
    return _thread_response(
        request,
        case,
        thread_context(
            request,
            case,
            message_form=form,
            status=_("Your message was sent.") if sent else "",
        ),
        status,
    )


@login_required
@require_POST
def acknowledge_message(request, case_id: int, message_id: int):
    """Acknowledge receipt (kvittera) of one message of this case for the user's unit."""
    case = get_case_for(request.user, case_id)
    message = get_object_or_404(CaseMessage, pk=message_id, case=case)
    message.case = case
    form = AcknowledgeForm(request.POST)
    result = attempt(form, lambda: services.acknowledge_message(message, actor=request.user))
    if result.ok and not request.htmx:
        flash.success(request, _("Receipt acknowledged."))
        return _back_to_thread(case)
    context = thread_context(
        request,
        case,
        acknowledge_form=form,
        status=_("Receipt acknowledged.") if result.ok else "",
    )
    return _thread_response(request, case, context, result.status)


urlpatterns = [
    path("sip/<id:case_id>/meddelanden/", case_messages, name="case_messages"),
    path(
        "sip/<id:case_id>/meddelanden/<id:message_id>/kvittera/",
        acknowledge_message,
        name="acknowledge_message",
    ),
]


def case_page_context(request, case, context: dict) -> dict:
    """What the case page needs from this step (constant number of queries)."""
    return thread_context(
        request,
        case,
        may_take_part=context["may_take_part"],
        participants=context.get("participants"),
        revoked_organisations=context.get("revoked_organisations"),
    )


def thread_context(
    request,
    case,
    *,
    message_form: MessageForm | None = None,
    acknowledge_form: AcknowledgeForm | None = None,
    may_take_part: bool | None = None,
    participants=None,
    revoked_organisations: set[int] | None = None,
    status: str = "",
) -> dict:
    """The thread, newest last, each message with who has acknowledged it and which taking-part
    units have not. Showing it marks the messages read for this user and is an audited read.
    `may_take_part`: decided by the case page; the thread page asks the same rule here."""
    user = request.user
    if may_take_part is None:
        may_take_part = request.user.has_perm("cases.take_part", case)
    # Writing and acknowledging follow the rules the services apply: a unit administrator
    # reads the thread of their unit but does not write in it.
    writes = may_take_part and not case.is_closed
    shown = list(
        case.messages.select_related("sender", "sender_unit")
        .prefetch_related(
            Prefetch(
                "acknowledgements",
                queryset=MessageAcknowledgement.objects.select_related("unit", "user").order_by(
                    "at", "pk"
                ),
            )
        )
        .annotate(read_by_me=Exists(MessageRead.objects.filter(message=OuterRef("pk"), user=user)))
    )
    if any(message.asks_acknowledgement for message in shown):
        if participants is None:
            participants = (
                Participant.objects.filter(case=case)
                .select_related("unit")
                .order_by("role", "unit__name")
            )
        if revoked_organisations is None:
            consents = list(case.consents.prefetch_related("scopes"))
            revoked_organisations = revoked_organisation_ids(consents)
        units = [p.unit for p in participants if p.removed_at is None]
        for unit in units:
            unit.consent_revoked = unit.organisation_id in revoked_organisations
    else:
        units = []
    # The unit acknowledging is the one the service acts through (working roles only), which
    # is not always the unit that grants the read (case.acting_unit_id may be administered).
    acting_unit = (
        acting_unit_for(user, case)
        if writes and any(message.asks_acknowledgement for message in shown)
        else None
    )
    for message in shown:
        message.unread = message.sender_id != user.pk and not message.read_by_me
        acknowledged = {ack.unit_id for ack in message.acknowledgements.all()}
        message.awaiting_units = [
            unit
            for unit in units
            if message.asks_acknowledgement
            and unit.pk != message.sender_unit_id
            and unit.pk not in acknowledged
        ]
        message.may_acknowledge = (
            acting_unit is not None
            and message.asks_acknowledgement
            and acting_unit.pk != message.sender_unit_id
            and acting_unit.pk not in acknowledged
        )
    if shown:
        services.mark_messages_read(user, shown)
        audit(
            user,
            AuditEvent.Action.READ,
            "case_messages",
            case_id=case.pk,
            person_id=case.person_id,
            unit_id=case.acting_unit_id,
            emergency=getattr(case, "emergency_access", None) is not None,
        )
    return {
        "case_messages": shown,
        "message_form": message_form or MessageForm(),
        "acknowledge_form": acknowledge_form,
        "may_post_message": writes,
        "message_status": status,
    }


def _back_to_thread(case):
    return redirect(reverse("workspace:case_detail", args=[case.pk]) + "#meddelanden")


def _thread_response(request, case, context: dict, status: int):
    context["case"] = case
    if request.htmx:
        # htmx swaps only 2xx answers; errors are part of the section it swaps in.
        return render(request, THREAD_TEMPLATE, context)
    return render(request, "workspace/messages/thread.html", context, status=status)
