"""A SIP's facts for the statistics, from its timeline, and what they add to each month.

Times come from the timeline (`CaseEvent`): `happened_at` where it is set (a step entered
afterwards from the paper form), otherwise `at`. The first event of each kind counts: the
first call, the first established plan. A meeting's time is its start (`Meeting.starts_at`; the
timeline records when it was called, not when it is held), and it counts as held once it has
started and is not cancelled. A follow-up is the first follow-up meeting whose evaluation
covers that plan version.

Each figure belongs to the coordinating unit (the unit that drives the SIP and answers for its
plan) and to the month (Europe/Stockholm) of the step it counts: a lead time to the month its
second step happened in, a follow-up to the month of its date, goals to the month they were
evaluated in.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from samplan.cases.models import (
    CaseEvent,
    Evaluation,
    GoalRating,
    Invitation,
    Meeting,
    PlanVersion,
    SipCase,
)
from samplan.people.models import RelatedParty

from . import measures as m
from .models import CaseFacts

INITIATING = ("initiate", "request_sip")
CONSENTING = ("give_consent",)
DECLINING = ("decline_consent",)
CALLING = ("call_meeting",)
ESTABLISHING = ("establish_plan", "approve_plan")
CLOSING = ("close", "decline_consent", "revoke_consent", "end_sip")
READ_ACTIONS = frozenset(INITIATING + CONSENTING + DECLINING + CALLING + ESTABLISHING + CLOSING)

# Who approved the plan counts as "the person approved it": the person, or a guardian for a child.
PERSON_APPROVES = frozenset({PlanVersion.ApprovedBy.PERSON, PlanVersion.ApprovedBy.GUARDIAN})


def month_of(moment: dt.datetime | dt.date) -> str:
    """ "YYYY-MM" of a moment in Stockholm (or of a date)."""
    if isinstance(moment, dt.datetime):
        moment = timezone.localtime(moment)
    return f"{moment:%Y-%m}"


def whole_days(start: dt.datetime, end: dt.datetime) -> int:
    """Elapsed whole days (rounded down, never below 0), capped at the histogram's last day."""
    days = (end - start) // dt.timedelta(days=1)
    return max(0, min(days, m.LAST_DAY))


def _next_midnight(day: dt.date) -> dt.datetime:
    """The start of the day after `day`, Stockholm time."""
    following = day + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(following, dt.time()))


@dataclass
class FollowUp:
    version: int
    due: dt.date
    held: dt.date | None = None
    goals: dict[str, int] = field(default_factory=dict)
    ratings: dict[str, int] = field(default_factory=dict)
    # Counts only while this version was the valid one on its date and the SIP was open.
    counts: bool = True

    def as_json(self) -> dict:
        return {
            "version": self.version,
            "due": self.due.isoformat(),
            "held": self.held.isoformat() if self.held else None,
            "goals": self.goals,
            "ratings": self.ratings,
            "counts": self.counts,
        }


def _first(events: list[dict], actions: Iterable[str]) -> dt.datetime | None:
    wanted = set(actions)
    times = [event["when"] for event in events if event["action"] in wanted]
    return min(times) if times else None


def compute_facts(case_ids: list[int], now: dt.datetime) -> dict[int, CaseFacts]:
    """Unsaved facts (contributions included) of each of these SIPs as of `now`, in a fixed
    number of queries whatever the number of cases."""
    cases = list(
        SipCase.objects.filter(pk__in=case_ids).values(
            "pk",
            "kind",
            "initiated_by",
            "initiated_at",
            "discharge_notice_at",
            "closing_reason",
            "coordinating_unit_id",
            "coordinating_unit__organisation_id",
            "coordinating_unit__organisation__discharge_deadline_days",
        )
    )
    found = [case["pk"] for case in cases]
    events: dict[int, list[dict]] = defaultdict(list)
    for event in (
        CaseEvent.objects.filter(case_id__in=found, action__in=READ_ACTIONS)
        .order_by("at", "id")
        .values("case_id", "action", "at", "happened_at")
    ):
        event["when"] = event["happened_at"] or event["at"]
        events[event["case_id"]].append(event)
    meetings: dict[int, list[dict]] = defaultdict(list)
    for meeting in (
        Meeting.objects.filter(case_id__in=found, kind=Meeting.Kind.SIP, cancelled_at__isnull=True)
        .order_by("starts_at", "pk")
        .values("pk", "case_id", "starts_at")
    ):
        meetings[meeting["case_id"]].append(meeting)
    took_part = set(
        Invitation.objects.filter(
            meeting__case_id__in=found,
            meeting__kind=Meeting.Kind.SIP,
            meeting__cancelled_at__isnull=True,
            attended=True,
        )
        .filter(Q(is_person=True) | Q(related_party__kind=RelatedParty.Kind.GUARDIAN))
        .values_list("meeting_id", flat=True)
    )
    versions: dict[int, list[dict]] = defaultdict(list)
    for version in (
        PlanVersion.objects.filter(case_id__in=found)
        .exclude(status=PlanVersion.Status.DRAFT)
        .order_by("number")
        .values("pk", "case_id", "number", "approved_by", "approved_at", "follow_up_on")
    ):
        versions[version["case_id"]].append(version)
    evaluations: dict[int, list[dict]] = defaultdict(list)  # by plan version
    for evaluation in (
        Evaluation.objects.filter(meeting__case_id__in=found, meeting__cancelled_at__isnull=True)
        .order_by("meeting__starts_at", "meeting_id")
        .values(
            "meeting_id",
            "meeting__starts_at",
            "goal_id",
            "goal__plan_version_id",
            "intervention__plan_version_id",
            "result",
        )
    ):
        version = evaluation["goal__plan_version_id"] or evaluation["intervention__plan_version_id"]
        evaluations[version].append(evaluation)
    ratings: dict[int, dict[int, int]] = defaultdict(dict)  # version → goal → latest rating
    for rating in (
        GoalRating.objects.filter(goal__plan_version__case_id__in=found)
        .order_by("rated_at", "pk")
        .values("goal_id", "goal__plan_version_id", "rating")
    ):
        ratings[rating["goal__plan_version_id"]][rating["goal_id"]] = rating["rating"]

    result = {}
    for case in cases:
        pk = case["pk"]
        facts = _facts_of(
            case,
            events[pk],
            meetings[pk],
            took_part,
            versions[pk],
            evaluations,
            ratings,
            now,
        )
        facts.contributions = contributions(facts, now)
        result[pk] = facts
    return result


def _facts_of(case, events, meetings, took_part, versions, evaluations, ratings, now) -> CaseFacts:
    closed_at = _first(events, CLOSING)
    held = [meeting for meeting in meetings if meeting["starts_at"] <= now]
    ahead = [meeting["starts_at"] for meeting in meetings if meeting["starts_at"] > now]
    meeting = held[0] if held else None
    established_at = _first(events, ESTABLISHING)
    called_at = _first(events, CALLING)
    facts = CaseFacts(
        case_id=case["pk"],
        unit_id=case["coordinating_unit_id"],
        organisation_id=case["coordinating_unit__organisation_id"],
        kind=case["kind"],
        initiated_by=case["initiated_by"],
        initiated_at=_first(events, INITIATING) or case["initiated_at"],
        discharge_notice_at=case["discharge_notice_at"],
        declined_at=_first(events, DECLINING),
        consented_at=_first(events, CONSENTING),
        called_at=called_at,
        discharge_call_on_time=_discharge_call_on_time(case, called_at),
        meeting_at=meeting["starts_at"] if meeting else None,
        person_took_part=(meeting["pk"] in took_part) if meeting else None,
        established_at=established_at,
        approved_by_person=(versions[0]["approved_by"] in PERSON_APPROVES) if versions else None,
        closed_at=closed_at,
        closing_reason=case["closing_reason"] if closed_at else "",
        refreshed_at=now,
    )
    follow_ups, changes = _follow_ups(versions, evaluations, ratings, closed_at, now)
    facts.follow_ups = [follow_up.as_json() for follow_up in follow_ups]
    changes += ahead[:1]
    facts.next_change_at = min(changes) if changes else None
    return facts


def _follow_ups(versions, evaluations, ratings, closed_at, now):
    """Each established version with a follow-up date: when its follow-up was held (the first
    follow-up meeting that evaluated it), how its goals went in the staff's evaluation and in
    the person's own latest rating. A version replaced or a SIP closed before the date is not
    held to it. Also the moments when these facts will change with time alone."""
    today = timezone.localdate(now)
    found: list[FollowUp] = []
    changes: list[dt.datetime] = []
    for index, version in enumerate(versions):
        due = version["follow_up_on"]
        if due is None:
            continue
        follow_up = FollowUp(version=version["number"], due=due)
        evaluated = evaluations.get(version["pk"], [])
        if evaluated:
            first_meeting = evaluated[0]["meeting_id"]
            follow_up.held = timezone.localdate(evaluated[0]["meeting__starts_at"])
            goals = Counter(
                evaluation["result"]
                for evaluation in evaluated
                if evaluation["meeting_id"] == first_meeting and evaluation["goal_id"]
            )
            follow_up.goals = dict(goals)
            follow_up.ratings = dict(
                Counter(str(value) for value in ratings.get(version["pk"], {}).values())
            )
        else:
            replaced = versions[index + 1]["approved_at"] if index + 1 < len(versions) else None
            ended = [moment for moment in (replaced, closed_at) if moment is not None]
            if ended and timezone.localdate(min(ended)) <= due:
                follow_up.counts = False
            elif due >= today:
                changes.append(_next_midnight(due))
        found.append(follow_up)
    return found, changes


def contributions(facts: CaseFacts, now: dt.datetime) -> dict[str, dict[str, int]]:
    """What these facts add to each month: {"YYYY-MM": {measure: count}}."""
    months: dict[str, Counter] = defaultdict(Counter)

    def add(moment, measure: str, count: int = 1) -> None:
        if moment is not None and count:
            months[month_of(moment)][measure] += count

    initiated = facts.initiated_at
    add(initiated, m.INITIATED)
    add(initiated, m.initiated_by(facts.initiated_by))
    if facts.kind == SipCase.Kind.DISCHARGE:
        add(initiated, m.INITIATED_DISCHARGE)
    add(facts.declined_at, m.DECLINED)
    add(facts.consented_at, m.CONSENTED)
    add(facts.meeting_at, m.MEETINGS_HELD)
    if facts.person_took_part:
        add(facts.meeting_at, m.PERSON_TOOK_PART)
    add(facts.established_at, m.PLANS_ESTABLISHED)
    if facts.approved_by_person:
        add(facts.established_at, m.APPROVED_BY_PERSON)
    add(facts.closed_at, m.CLOSED)
    if facts.closed_at and facts.closing_reason:
        add(facts.closed_at, m.closed_because(facts.closing_reason))

    called = facts.called_at
    if called and initiated:
        add(called, m.lead(m.INITIATIVE_CALL, whole_days(initiated, called)))
    if called and facts.kind == SipCase.Kind.DISCHARGE and facts.discharge_notice_at:
        notice = facts.discharge_notice_at
        add(called, m.lead(m.DISCHARGE_CALL, whole_days(notice, called)))
        if facts.discharge_call_on_time:
            add(called, m.DISCHARGE_WITHIN_DEADLINE)
    if facts.meeting_at and called:
        add(facts.meeting_at, m.lead(m.CALL_MEETING, whole_days(called, facts.meeting_at)))
    if facts.established_at and facts.meeting_at:
        add(
            facts.established_at,
            m.lead(m.MEETING_PLAN, whole_days(facts.meeting_at, facts.established_at)),
        )

    today = timezone.localdate(now)
    for follow_up in facts.follow_ups:
        if not follow_up["counts"]:
            continue
        due = dt.date.fromisoformat(follow_up["due"])
        held = dt.date.fromisoformat(follow_up["held"]) if follow_up["held"] else None
        if held is not None or due < today:
            add(due, m.FOLLOW_UPS_DUE)
            if held is not None and held <= due:
                add(due, m.FOLLOW_UPS_ON_TIME)
        if held is not None:
            for result, count in follow_up["goals"].items():
                add(held, m.goal(result), count)
            for rating, count in follow_up["ratings"].items():
                add(held, m.own_rating(int(rating)), count)
    return {month: dict(counter) for month, counter in sorted(months.items())}


def _discharge_call_on_time(case: dict, called_at: dt.datetime | None) -> bool | None:
    """Whether a SIP after discharge was called within the coordinating organisation's days
    from the notice of readiness for discharge; None for other SIPs and before the call."""
    notice = case["discharge_notice_at"]
    if case["kind"] != SipCase.Kind.DISCHARGE or notice is None or called_at is None:
        return None
    days = case["coordinating_unit__organisation__discharge_deadline_days"]
    return called_at <= notice + dt.timedelta(days=days)
