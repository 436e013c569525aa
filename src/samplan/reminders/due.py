"""What is due: the reminders (påminnelser) the worker owes right now, each with a key that names
what it is about and when, so that it is sent once (`reminder:<kind>:<object>:<slot>`).

  * a SIP meeting within MEETING_AHEAD (two days): the coordinator and every invitee with an
    address who has not declined (units, related parties, the person); slot: the meeting's
    calendar sequence, so a moved meeting is reminded of again;
  * a meeting call a unit has not answered SAMPLAN_REMINDER_AFTER_DAYS after it was called: that
    unit; slot: the sequence;
  * a follow-up due soon, and once more when overdue (cases/deadlines: `next_step_of`, the start
    page's own deadline): the coordinator; slot: the follow-up date;
  * a discharge SIP (lag 2017:612) within a day of its meeting-call deadline, and once more when
    it has passed (`next_step`): the coordinator; slot: the deadline;
  * a plan proposed to the person and not approved after SAMPLAN_REMINDER_AFTER_DAYS: the
    coordinator, and the person if adult with an e-mail address; slot: when it was proposed;
  * a message asking for acknowledgement that a taking-part unit has not acknowledged after
    SAMPLAN_REMINDER_AFTER_DAYS (for MESSAGE_HORIZON): that unit.

Each kind is one query (two with its invitations), whatever the number of SIPs. Nothing here
writes or tells anyone: samplan/reminders/tasks.py does, once per key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone

from samplan.cases.deadlines import (
    CALL_STATES,
    DISCHARGE_DUE_SOON,
    DUE_SOON,
    next_step,
    next_step_of,
    with_next_step_data,
)
from samplan.cases.models import (
    CaseMessage,
    Invitation,
    Meeting,
    PlanVersion,
    SipCase,
    State,
)

from .models import Kind

MEETING_AHEAD = dt.timedelta(days=2)
# A message older than this that nobody acknowledged is no longer reminded of.
MESSAGE_HORIZON = dt.timedelta(days=30)


@dataclass(frozen=True)
class Reminder:
    """One reminder owed: what, about which SIP, and whom it concerns. Staff are named by unit
    (its working staff and its address) or as the SIP's coordinator; others by address only."""

    kind: str
    key: str
    case_id: int
    reference: str
    coordinating_unit_id: int
    coordinator_id: int | None
    to_coordinator: bool = False
    unit_ids: tuple[int, ...] = ()
    # Addresses of people outside the staff (the person, related parties): they are told only
    # that something waits in Min SIP.
    citizen_addresses: tuple[str, ...] = ()
    due_at: dt.datetime | None = None
    due_on: dt.date | None = None


def after_days() -> dt.timedelta:
    return dt.timedelta(days=settings.SAMPLAN_REMINDER_AFTER_DAYS)


def _reminder(kind: str, case: SipCase, slot, **fields) -> Reminder:
    obj = fields.pop("obj", case.pk)
    return Reminder(
        kind=kind,
        key=f"reminder:{kind}:{obj}:{slot}",
        case_id=case.pk,
        reference=case.reference,
        coordinating_unit_id=case.coordinating_unit_id,
        coordinator_id=case.coordinator_id,
        **fields,
    )


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S")


def meetings_soon(now: dt.datetime) -> list[Reminder]:
    invitations = Invitation.objects.exclude(answer=Invitation.Answer.DECLINED).select_related(
        "related_party"
    )
    meetings = (
        Meeting.objects.filter(
            cancelled_at__isnull=True, starts_at__gt=now, starts_at__lte=now + MEETING_AHEAD
        )
        .exclude(case__state=State.CLOSED)
        .select_related("case__person")
        .prefetch_related(Prefetch("invitations", queryset=invitations))
        .order_by("starts_at", "pk")
    )
    found = []
    for meeting in meetings:
        case = meeting.case
        units, addresses = [], []
        for invitation in meeting.invitations.all():
            if invitation.unit_id:
                units.append(invitation.unit_id)
            elif invitation.related_party_id and invitation.related_party.email:
                addresses.append(invitation.related_party.email)
            elif invitation.is_person and case.person.email:
                addresses.append(case.person.email)
        found.append(
            _reminder(
                Kind.MEETING_SOON,
                case,
                meeting.sequence,
                obj=meeting.pk,
                to_coordinator=True,
                unit_ids=tuple(units),
                citizen_addresses=tuple(addresses),
                due_at=meeting.starts_at,
            )
        )
    return found


def unanswered_invitations(now: dt.datetime) -> list[Reminder]:
    invitations = (
        Invitation.objects.filter(
            unit__isnull=False,
            answer=Invitation.Answer.NO_ANSWER,
            meeting__cancelled_at__isnull=True,
            meeting__starts_at__gt=now,
            meeting__called_at__lte=now - after_days(),
        )
        .exclude(meeting__case__state=State.CLOSED)
        .select_related("meeting__case")
        .order_by("meeting__starts_at", "pk")
    )
    return [
        _reminder(
            Kind.INVITATION_UNANSWERED,
            invitation.meeting.case,
            invitation.meeting.sequence,
            obj=invitation.pk,
            unit_ids=(invitation.unit_id,),
            due_at=invitation.meeting.starts_at,
        )
        for invitation in invitations
    ]


def follow_ups(now: dt.datetime) -> list[Reminder]:
    """Due soon or overdue by the start page's own rule (deadlines.next_step_of)."""
    horizon = timezone.localdate(now) + DUE_SOON
    cases = (
        with_next_step_data(SipCase.objects.filter(state=State.PLAN_ESTABLISHED))
        .filter(valid_follow_up_on__lte=horizon)
        .order_by("pk")
    )
    found = []
    for case in cases:
        step = next_step_of(case, now)
        if step.overdue:
            kind = Kind.FOLLOW_UP_OVERDUE
        elif step.due_soon:
            kind = Kind.FOLLOW_UP_DUE
        else:
            continue
        found.append(
            _reminder(
                kind,
                case,
                step.deadline.isoformat(),
                to_coordinator=True,
                due_on=step.deadline,
            )
        )
    return found


def discharge_deadlines(now: dt.datetime) -> list[Reminder]:
    """Discharge SIPs near or past their three-day meeting-call deadline (deadlines.next_step)."""
    cases = SipCase.objects.filter(
        kind=SipCase.Kind.DISCHARGE,
        state__in=CALL_STATES,
        call_deadline__lte=now + DISCHARGE_DUE_SOON,
    ).order_by("call_deadline", "pk")
    found = []
    for case in cases:
        step = next_step(case, now=now)
        if step.overdue:
            kind = Kind.DISCHARGE_OVERDUE
        elif step.due_soon:
            kind = Kind.DISCHARGE_DUE_SOON
        else:
            continue
        found.append(
            _reminder(
                kind,
                case,
                _stamp(case.call_deadline),
                to_coordinator=True,
                due_at=case.call_deadline,
            )
        )
    return found


def plans_for_approval(now: dt.datetime) -> list[Reminder]:
    plans = (
        PlanVersion.objects.filter(
            status=PlanVersion.Status.DRAFT,
            proposed_at__isnull=False,
            proposed_at__lte=now - after_days(),
        )
        .exclude(case__state=State.CLOSED)
        .select_related("case__person")
        .order_by("proposed_at", "pk")
    )
    found = []
    for plan in plans:
        person = plan.case.person
        # A minor's plan is approved by the guardians (SIP.md); the child is not written to.
        addresses = (person.email,) if person.email and not person.is_minor else ()
        found.append(
            _reminder(
                Kind.PLAN_APPROVAL,
                plan.case,
                _stamp(plan.proposed_at),
                obj=plan.pk,
                to_coordinator=True,
                citizen_addresses=addresses,
            )
        )
    return found


def unacknowledged_messages(now: dt.datetime) -> list[Reminder]:
    messages = (
        CaseMessage.objects.filter(
            asks_acknowledgement=True,
            sent_at__lte=now - after_days(),
            sent_at__gt=now - MESSAGE_HORIZON,
        )
        .exclude(case__state=State.CLOSED)
        .select_related("case")
        .prefetch_related("acknowledgements", "case__participants")
        .order_by("sent_at", "pk")
    )
    found = []
    for message in messages:
        acknowledged = {ack.unit_id for ack in message.acknowledgements.all()}
        for participant in message.case.participants.all():
            unit = participant.unit_id
            if participant.removed_at or unit == message.sender_unit_id or unit in acknowledged:
                continue
            found.append(
                _reminder(
                    Kind.MESSAGE_ACKNOWLEDGEMENT,
                    message.case,
                    0,
                    obj=f"{message.pk}-{unit}",
                    unit_ids=(unit,),
                )
            )
    return found


KINDS = (
    meetings_soon,
    unanswered_invitations,
    follow_ups,
    discharge_deadlines,
    plans_for_approval,
    unacknowledged_messages,
)


def due_reminders(now: dt.datetime | None = None) -> list[Reminder]:
    now = now or timezone.now()
    return [reminder for kind in KINDS for reminder in kind(now)]
