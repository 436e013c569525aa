"""Nästa steg: what a SIP needs next and by when.

The deadline shown is the next one that applies to the case's state, never one already met:
  * initiated, informed, consented, preparation: the meeting is to be called by
    `SipCase.call_deadline` (for a SIP after hospital discharge, lag 2017:612: three days from
    the notice, shown in hours left);
  * meeting called: the meeting is to be held at its time; once it has started, the plan is to
    be written and established (no deadline: the law sets none);
  * plan established: the follow-up is due on the valid plan's follow-up date;
  * follow-up: the follow-up meeting is to be held; once it has started, the evaluation and the
    revised plan follow (no deadline);
  * closed: nothing.

"Due soon" gives the coordinator room to act before a deadline passes:
  * `DISCHARGE_DUE_SOON` (24 hours) for discharge SIPs: three days is short, and municipal
    payment liability follows from the hours, so the last day is the warning;
  * `DUE_SOON` (2 days) for every other deadline: the organisations' own deadlines run to
    10 days or more, and two days leave time to book a room and reach the person.
A deadline given as a date (the follow-up date) is due at the end of that day.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from types import SimpleNamespace

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Meeting, PlanVersion, SipCase, State

DISCHARGE_DUE_SOON = dt.timedelta(hours=24)
DUE_SOON = dt.timedelta(days=2)

# States in which the meeting-call deadline (call_deadline) applies.
CALL_STATES = frozenset({State.INITIATED, State.INFORMED, State.CONSENTED, State.PREPARATION})

_CALL_ACTIONS = {
    State.INITIATED: _("Give the person information about SIP and record it"),
    State.INFORMED: _("Record the person's answer: consent or decline"),
    State.CONSENTED: _("Start the preparation with the person"),
    State.PREPARATION: _("Call the SIP meeting"),
}


@dataclass(frozen=True)
class NextStep:
    """What to do next in a SIP, and the deadline that applies now (None: no deadline)."""

    state: str
    action: str
    deadline_label: str = ""
    deadline: dt.datetime | dt.date | None = None
    overdue: bool = False
    due_soon: bool = False
    # Whole hours to the deadline, negative once passed (-2: two full hours late); only for
    # discharge SIPs.
    hours_left: int | None = None

    @property
    def has_time(self) -> bool:
        return isinstance(self.deadline, dt.datetime)

    @property
    def hours_overdue(self) -> int | None:
        return -self.hours_left if self.hours_left is not None and self.overdue else None


@dataclass(frozen=True)
class Urgency:
    overdue: bool = False
    due_soon: bool = False
    hours_left: int | None = None


def urgency(
    deadline: dt.datetime | dt.date | None, *, discharge: bool = False, now=None
) -> Urgency:
    """Whether a deadline has passed or is near, and for discharge SIPs the hours left."""
    if deadline is None:
        return Urgency()
    now = now or timezone.now()
    threshold = DISCHARGE_DUE_SOON if discharge else DUE_SOON
    if isinstance(deadline, dt.datetime):
        left = deadline - now
        overdue = left < dt.timedelta(0)
        hours = int(left / dt.timedelta(hours=1)) if discharge else None
        return Urgency(overdue, not overdue and left <= threshold, hours)
    today = timezone.localdate(now)
    days = math.ceil(threshold / dt.timedelta(days=1))
    overdue = deadline < today
    return Urgency(overdue, not overdue and deadline <= today + dt.timedelta(days=days))


def next_step(case: SipCase, *, valid_plan=None, next_meeting=None, now=None) -> NextStep:
    """The next step of `case`. `valid_plan` is its valid PlanVersion (or anything with
    `follow_up_on`); `next_meeting` the meeting last called and not cancelled (or anything with
    `starts_at`). Both are passed in so that lists can supply them without a query per row."""
    now = now or timezone.now()
    discharge = case.kind == SipCase.Kind.DISCHARGE
    state = case.state

    def step(action, label="", deadline=None) -> NextStep:
        due = urgency(deadline, discharge=discharge, now=now)
        return NextStep(state, action, label, deadline, due.overdue, due.due_soon, due.hours_left)

    if state in CALL_STATES:
        return step(_CALL_ACTIONS[state], _("Meeting to be called by"), case.call_deadline)
    starts_at = getattr(next_meeting, "starts_at", None)
    if state == State.MEETING_CALLED:
        if starts_at and starts_at > now:
            return step(_("Hold the SIP meeting"), _("Meeting to be held"), starts_at)
        return step(_("Write the plan and establish it with the person's approval"))
    if state == State.PLAN_ESTABLISHED:
        follow_up_on = getattr(valid_plan, "follow_up_on", None)
        return step(_("Call the follow-up of the plan"), _("Follow-up due"), follow_up_on)
    if state == State.FOLLOW_UP:
        if starts_at and starts_at > now:
            return step(
                _("Hold the follow-up meeting"), _("Follow-up meeting to be held"), starts_at
            )
        return step(_("Record the evaluation and establish the revised plan"))
    return NextStep(state, _("Nothing: the SIP is closed"))


def current_meeting(meetings) -> Meeting | None:
    """The meeting last called and not cancelled, from meetings already loaded."""
    open_meetings = [m for m in meetings if m.cancelled_at is None]
    return max(open_meetings, key=lambda m: (m.called_at, m.pk), default=None)


def with_next_step_data(cases: QuerySet[SipCase]) -> QuerySet[SipCase]:
    """Annotate what `next_step_of` needs: two subqueries per row, no query per row."""
    meeting = Meeting.objects.filter(case=OuterRef("pk"), cancelled_at__isnull=True).order_by(
        "-called_at", "-pk"
    )
    plan = PlanVersion.objects.filter(case=OuterRef("pk"), status=PlanVersion.Status.VALID)
    return cases.annotate(
        current_meeting_at=Subquery(meeting.values("starts_at")[:1]),
        valid_follow_up_on=Subquery(plan.values("follow_up_on")[:1]),
    )


def next_step_of(case: SipCase, now=None) -> NextStep:
    """The next step of a case from a queryset annotated by `with_next_step_data`."""
    return next_step(
        case,
        valid_plan=SimpleNamespace(follow_up_on=case.valid_follow_up_on),
        next_meeting=SimpleNamespace(starts_at=case.current_meeting_at),
        now=now,
    )


def overdue_q(now=None) -> Q:
    """Cases whose deadline has passed: the meeting call is late, or the follow-up date of the
    valid plan has passed without a follow-up being called."""
    now = now or timezone.now()
    follow_up_late = Exists(
        PlanVersion.objects.filter(
            case=OuterRef("pk"),
            status=PlanVersion.Status.VALID,
            follow_up_on__lt=timezone.localdate(now),
        )
    )
    return Q(state__in=CALL_STATES, call_deadline__lt=now) | Q(
        follow_up_late, state=State.PLAN_ESTABLISHED
    )
