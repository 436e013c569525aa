"""The next step of a SIP and the deadline that applies to its state (cases/deadlines.py)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone, translation

from samplan.cases.deadlines import (
    DISCHARGE_DUE_SOON,
    DUE_SOON,
    current_meeting,
    next_step,
    next_step_of,
    overdue_q,
    urgency,
    with_next_step_data,
)
from samplan.cases.models import SipCase, State
from tests.factories import case_in_state

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def case(state, *, kind=SipCase.Kind.STANDARD, call_deadline=None) -> SipCase:
    return SipCase(state=state, kind=kind, call_deadline=call_deadline)


def meeting(starts_at):
    return SimpleNamespace(starts_at=starts_at)


def plan(follow_up_on):
    return SimpleNamespace(follow_up_on=follow_up_on)


@pytest.mark.parametrize(
    "state", [State.INITIATED, State.INFORMED, State.CONSENTED, State.PREPARATION]
)
def test_before_the_meeting_the_deadline_is_the_meeting_call(state):
    deadline = NOW + dt.timedelta(days=5)
    step = next_step(case(state, call_deadline=deadline), now=NOW)
    assert step.deadline == deadline
    assert step.deadline_label == "Meeting to be called by"
    assert (step.overdue, step.due_soon, step.hours_left) == (False, False, None)
    assert step.has_time


def test_each_state_before_the_meeting_names_its_own_next_action():
    actions = {
        state: str(next_step(case(state, call_deadline=NOW), now=NOW).action)
        for state in (State.INITIATED, State.INFORMED, State.CONSENTED, State.PREPARATION)
    }
    assert actions[State.INITIATED].startswith("Give the person information")
    assert "consent" in actions[State.INFORMED]
    assert "preparation" in actions[State.CONSENTED]
    assert actions[State.PREPARATION] == "Call the SIP meeting"


def test_a_passed_meeting_call_deadline_is_overdue():
    step = next_step(case(State.PREPARATION, call_deadline=NOW - HOUR), now=NOW)
    assert step.overdue and not step.due_soon


def test_a_standard_deadline_is_due_soon_within_two_days_not_before():
    inside = next_step(case(State.CONSENTED, call_deadline=NOW + DUE_SOON), now=NOW)
    outside = next_step(case(State.CONSENTED, call_deadline=NOW + DUE_SOON + HOUR), now=NOW)
    assert inside.due_soon and not inside.overdue
    assert not outside.due_soon
    assert inside.hours_left is None  # hours are shown for discharge SIPs only


def test_a_discharge_sip_shows_hours_left_and_is_due_soon_within_24_hours():
    discharge = SipCase.Kind.DISCHARGE
    far = next_step(
        case(State.INITIATED, kind=discharge, call_deadline=NOW + dt.timedelta(hours=50)), now=NOW
    )
    assert far.hours_left == 50
    assert not far.due_soon  # 50 hours: not within 24 h, though a standard SIP would be
    near = next_step(
        case(State.INFORMED, kind=discharge, call_deadline=NOW + DISCHARGE_DUE_SOON), now=NOW
    )
    assert near.hours_left == 24 and near.due_soon and not near.overdue
    late = next_step(
        case(State.PREPARATION, kind=discharge, call_deadline=NOW - dt.timedelta(minutes=90)),
        now=NOW,
    )
    assert late.overdue and late.hours_overdue == 1 and late.hours_left == -1
    assert not late.due_soon
    just_late = next_step(
        case(State.INITIATED, kind=discharge, call_deadline=NOW - dt.timedelta(minutes=5)),
        now=NOW,
    )
    assert just_late.overdue and just_late.hours_left == 0 and just_late.hours_overdue == 0


def test_once_the_meeting_is_called_its_time_is_the_deadline_not_the_meeting_call():
    starts = NOW + dt.timedelta(days=1)
    called = case(State.MEETING_CALLED, call_deadline=NOW - dt.timedelta(days=3))
    step = next_step(called, next_meeting=meeting(starts), now=NOW)
    assert step.deadline == starts
    assert step.deadline_label == "Meeting to be held"
    assert str(step.action) == "Hold the SIP meeting"
    assert not step.overdue  # the call deadline passed, but the meeting was called
    assert step.due_soon


def test_no_meeting_call_deadline_once_the_meeting_is_held():
    called = case(State.MEETING_CALLED, call_deadline=NOW - dt.timedelta(days=3))
    step = next_step(called, next_meeting=meeting(NOW - HOUR), now=NOW)
    assert step.deadline is None
    assert step.deadline_label == ""
    assert (step.overdue, step.due_soon) == (False, False)
    assert "establish" in str(step.action)


def test_plan_established_has_the_follow_up_date_as_deadline():
    today = timezone.localdate(NOW)
    established = case(State.PLAN_ESTABLISHED, call_deadline=NOW - dt.timedelta(days=30))
    later = next_step(established, valid_plan=plan(today + dt.timedelta(weeks=6)), now=NOW)
    assert later.deadline == today + dt.timedelta(weeks=6)
    assert later.deadline_label == "Follow-up due"
    assert not later.has_time
    assert (later.overdue, later.due_soon) == (False, False)
    assert next_step(established, valid_plan=plan(today), now=NOW).due_soon
    assert next_step(established, valid_plan=plan(today + dt.timedelta(days=2)), now=NOW).due_soon
    assert not next_step(
        established, valid_plan=plan(today + dt.timedelta(days=3)), now=NOW
    ).due_soon
    late = next_step(established, valid_plan=plan(today - dt.timedelta(days=1)), now=NOW)
    assert late.overdue and not late.due_soon


def test_follow_up_has_the_follow_up_meeting_then_no_deadline():
    follow_up = case(State.FOLLOW_UP)
    ahead = next_step(follow_up, next_meeting=meeting(NOW + dt.timedelta(days=9)), now=NOW)
    assert ahead.deadline_label == "Follow-up meeting to be held"
    assert ahead.deadline == NOW + dt.timedelta(days=9)
    held = next_step(follow_up, next_meeting=meeting(NOW - HOUR), now=NOW)
    assert held.deadline is None
    assert "revised plan" in str(held.action)


def test_a_closed_sip_has_no_next_step_deadline():
    step = next_step(case(State.CLOSED, call_deadline=NOW - HOUR), now=NOW)
    assert step.deadline is None
    assert (step.overdue, step.due_soon, step.hours_left) == (False, False, None)
    assert "closed" in str(step.action)


def test_urgency_of_no_deadline_is_nothing():
    assert urgency(None, now=NOW) == urgency(None, discharge=True, now=NOW)
    assert not urgency(None, now=NOW).overdue


def test_current_meeting_is_the_last_called_that_is_not_cancelled():
    first = SimpleNamespace(pk=1, called_at=NOW - dt.timedelta(days=9), cancelled_at=None)
    cancelled = SimpleNamespace(pk=2, called_at=NOW - dt.timedelta(days=2), cancelled_at=NOW)
    assert current_meeting([first, cancelled]) is first
    assert current_meeting([cancelled]) is None
    assert current_meeting([]) is None


@pytest.mark.django_db
def test_annotated_next_step_matches_the_one_from_loaded_objects(county):
    cases = [
        case_in_state(county, state)
        for state in (State.INITIATED, State.MEETING_CALLED, State.PLAN_ESTABLISHED)
    ]
    annotated = {c.pk: c for c in with_next_step_data(SipCase.objects.all())}
    now = timezone.now()
    for loaded in cases:
        meetings = list(loaded.meetings.all())
        expected = next_step(
            loaded,
            valid_plan=loaded.valid_plan(),
            next_meeting=current_meeting(meetings),
            now=now,
        )
        assert next_step_of(annotated[loaded.pk], now=now) == expected
    assert next_step_of(annotated[cases[1].pk], now=now).deadline_label == "Meeting to be held"
    assert next_step_of(annotated[cases[2].pk], now=now).deadline_label == "Follow-up due"


@pytest.mark.django_db
def test_overdue_covers_late_meeting_calls_and_late_follow_ups_only(county):
    on_time = case_in_state(county, State.PLAN_ESTABLISHED)
    called = case_in_state(county, State.MEETING_CALLED)
    fresh = case_in_state(county, State.INITIATED)
    later = timezone.now() + dt.timedelta(weeks=7)  # past the call deadline and the follow-up
    overdue = set(SipCase.objects.filter(overdue_q(later)).values_list("pk", flat=True))
    assert overdue == {on_time.pk, fresh.pk}
    assert called.pk not in overdue
    assert not SipCase.objects.filter(overdue_q()).exists()
