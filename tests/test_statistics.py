"""Outcome statistics (issue 10, part 3) on a county with known answers: SIPs driven through the
services, their timeline then moved to chosen times (the services stamp events with the time
they run), and the figures of the monthly summary checked to the day and the case."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.utils import timezone, translation

from samplan.cases import services
from samplan.cases.models import (
    CaseEvent,
    GoalRating,
    Invitation,
    Meeting,
    PlanVersion,
    SipCase,
    State,
)
from samplan.stats import measures as m
from samplan.stats.figures import Scope, median_days, statistics
from samplan.stats.models import CaseFacts, MonthlyFigures
from samplan.stats.refresh import COUNTY, organisation_scope, refresh_statistics, unit_scope
from tests.factories import PersonFactory, case_in_state

pytestmark = pytest.mark.django_db

STOCKHOLM = timezone.get_default_timezone()


def at(day: str, hour: int = 10) -> dt.datetime:
    """A moment in Stockholm time."""
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=STOCKHOLM)


def move_timeline(case: SipCase, start: dt.datetime, **actions: dt.datetime) -> None:
    """Every event of the case to `start`, then each named action to its own time."""
    CaseEvent.objects.filter(case=case).update(at=start)
    for action, moment in actions.items():
        CaseEvent.objects.filter(case=case, action=action).update(at=moment)


def sip_meeting(case: SipCase) -> Meeting:
    return case.meetings.get(kind=Meeting.Kind.SIP)


class KnownCounty:
    """The county of the known answers, all coordinated by alice's vårdcentral (Region Test)
    unless said otherwise:

    - six SIPs initiated 2025-03-03, called 1, 2, 4, 5, 9 and 12 days later, met 3, 3, 7, 7, 7
      and 10 days after the call, the plan established 0, 0, 1, 1, 2 and 2 days after the
      meeting (all in March); the person took part in three of the meetings; five plans
      approved by the person, one by a legal representative; each plan to be followed up
      2025-06-01: the first on 2025-05-28 (goal reached, the person's own rating 4), the
      second late on 2025-06-10 (goal not reached), the other four never;
    - two SIPs after discharge, notice 2025-03-10 08:00, initiated 09:00, called after 2 days
      (in time) and after 4 days (late), their meetings a week ahead of today;
    - one SIP declined in April 2025;
    - one SIP of the kommun's hemtjänst, initiated in March 2025.
    """

    def __init__(self, county):
        self.county = county
        start = at("2025-03-03")
        calls = [1, 2, 4, 5, 9, 12]
        meetings = [3, 3, 7, 7, 7, 10]
        plans = [0, 0, 1, 1, 2, 2]
        self.planned = []
        for index, (call, meet, plan) in enumerate(zip(calls, meetings, plans, strict=True)):
            state = State.FOLLOW_UP if index < 2 else State.PLAN_ESTABLISHED
            case = case_in_state(county, state)
            called = start + dt.timedelta(days=call)
            met = called + dt.timedelta(days=meet)
            move_timeline(
                case,
                start,
                give_consent=start + dt.timedelta(hours=2),
                call_meeting=called,
                establish_plan=met + dt.timedelta(days=plan),
            )
            Meeting.objects.filter(pk=sip_meeting(case).pk).update(starts_at=met)
            if index < 3:
                Invitation.objects.filter(meeting__case=case, is_person=True).update(attended=True)
            PlanVersion.objects.filter(case=case, number=1).update(
                follow_up_on=dt.date(2025, 6, 1),
                approved_at=met + dt.timedelta(days=plan),
                approved_by=(
                    PlanVersion.ApprovedBy.LEGAL_REPRESENTATIVE
                    if index == 5
                    else PlanVersion.ApprovedBy.PERSON
                ),
            )
            self.planned.append(case)
        self._follow_up(self.planned[0], at("2025-05-28"), "reached", rating=4)
        self._follow_up(self.planned[1], at("2025-06-10"), "not_reached")

        notice = at("2025-03-10", 8)
        self.discharged = []
        for days in (2, 4):
            case = case_in_state(
                county,
                State.MEETING_CALLED,
                kind=SipCase.Kind.DISCHARGE,
                discharge_notice_at=notice,
            )
            move_timeline(
                case, at("2025-03-10", 9), call_meeting=notice + dt.timedelta(days=days, hours=1)
            )
            self.discharged.append(case)

        self.declined = services.initiate_case(
            actor=county.alice,
            person=PersonFactory(),
            initiating_unit=county.vardcentral,
            coordinator=county.alice,
        )
        services.decline_consent(
            self.declined,
            actor=county.alice,
            expected_version=self.declined.lock_version,
            given_by="person",
            given_by_name="Gunnel",
            method="oral",
            documentation="Sade nej i telefon.",
        )
        move_timeline(self.declined, at("2025-04-01"), decline_consent=at("2025-04-02"))

        self.kommun_case = services.initiate_case(
            actor=county.bob, person=PersonFactory(), initiating_unit=county.hemtjanst
        )
        move_timeline(self.kommun_case, at("2025-03-20"))

    def _follow_up(self, case, held: dt.datetime, result: str, rating: int | None = None):
        meeting = case.meetings.get(kind=Meeting.Kind.FOLLOW_UP)
        # Evaluated once it has started (the service checks), then moved to its known day.
        started = timezone.now() - dt.timedelta(hours=1)
        Meeting.objects.filter(pk=meeting.pk).update(starts_at=started)
        meeting.refresh_from_db()
        plan = case.valid_plan()
        services.record_evaluation(
            meeting,
            actor=self.county.alice,
            goals={goal.pk: services.EvaluationData(result) for goal in plan.goals.all()},
            interventions={
                item.pk: services.EvaluationData("partly") for item in plan.interventions.all()
            },
        )
        Meeting.objects.filter(pk=meeting.pk).update(starts_at=held)
        if rating is not None:
            for goal in plan.goals.all():
                GoalRating.objects.create(goal=goal, rating=rating, rated_by_role="person")

    @property
    def unit(self) -> Scope:
        return Scope(unit_scope(self.county.vardcentral.pk), "Vårdcentral Centrum", True, 10, 3)

    @property
    def region(self) -> Scope:
        return Scope(organisation_scope(self.county.region.pk), "Region Test", False, 10, 3)

    @property
    def whole_county(self) -> Scope:
        return Scope(COUNTY, "County", False)


@pytest.fixture
def known(county):
    world = KnownCounty(county)
    refresh_statistics()
    return world


def figures(scope: str, month: str) -> Counter:
    row = MonthlyFigures.objects.filter(scope=scope, month=f"{month}-01").first()
    return Counter(row.figures if row else {})


def lead(counter: Counter, which: str) -> dict[int, int]:
    prefix = f"lead_{which}:"
    return {
        int(key.removeprefix(prefix)): count
        for key, count in counter.items()
        if key.startswith(prefix)
    }


def cells(stats, table: str, month: str) -> dict[str, str]:
    for found, rows in stats.tables:
        if found.key == table:
            row = next(row for row in rows if row.label == month)
            return {
                column.key: cell.text for column, cell in zip(found.columns, row.cells, strict=True)
            }
    raise KeyError(table)


def test_counts_per_month_come_from_the_timeline(known):
    march = figures(unit_scope(known.county.vardcentral.pk), "2025-03")
    assert march[m.INITIATED] == 8
    assert march[m.initiated_by(SipCase.InitiatedBy.STAFF)] == 8
    assert march[m.INITIATED_DISCHARGE] == 2
    assert march[m.CONSENTED] == 6 + 2  # the discharge SIPs were consented at their start
    assert march[m.MEETINGS_HELD] == 6  # the discharge SIPs' meetings lie ahead
    assert march[m.PLANS_ESTABLISHED] == 6
    assert march[m.PERSON_TOOK_PART] == 3
    assert march[m.APPROVED_BY_PERSON] == 5
    april = figures(unit_scope(known.county.vardcentral.pk), "2025-04")
    assert april[m.INITIATED] == 1
    assert april[m.DECLINED] == 1
    assert april[m.CLOSED] == 1
    assert april[m.closed_because(SipCase.ClosingReason.DECLINED)] == 1


def test_lead_times_to_the_day(known):
    march = figures(unit_scope(known.county.vardcentral.pk), "2025-03")
    # The six planned SIPs, and the discharge SIPs: called 2 and 4 days after their initiative
    # (and 2 and 4 days and an hour after the notice).
    assert lead(march, m.INITIATIVE_CALL) == {1: 1, 2: 2, 4: 2, 5: 1, 9: 1, 12: 1}
    assert median_days(Counter(lead(march, m.INITIATIVE_CALL))) == 4
    assert lead(march, m.CALL_MEETING) == {3: 2, 7: 3, 10: 1}
    assert lead(march, m.MEETING_PLAN) == {0: 2, 1: 2, 2: 2}
    assert lead(march, m.DISCHARGE_CALL) == {2: 1, 4: 1}
    assert march[m.DISCHARGE_WITHIN_DEADLINE] == 1


def test_follow_ups_on_time_and_goals(known):
    scope = unit_scope(known.county.vardcentral.pk)
    june = figures(scope, "2025-06")
    assert june[m.FOLLOW_UPS_DUE] == 6
    assert june[m.FOLLOW_UPS_ON_TIME] == 1
    assert june[m.goal("not_reached")] == 1
    may = figures(scope, "2025-05")
    assert may[m.goal("reached")] == 1
    assert may[m.own_rating(4)] == 1


def test_the_page_figures_for_the_own_unit_are_in_full(known):
    with translation.override("en"):  # shares as "50%" (Swedish: "50 %")
        stats = statistics(known.unit, dt.date(2025, 3, 1), dt.date(2025, 6, 1))
    sips = cells(stats, "sips", "2025-03")
    assert sips["initiated"] == "8"
    assert sips["discharge"] == "2"
    assert cells(stats, "sips", "2025-04")["declined"] == "1"
    lead_times = cells(stats, "lead_times", "2025-03")
    assert lead_times["initiative_call"] == "4"
    assert lead_times["discharge_call"] == "2"
    assert lead_times["discharge_on_time"] == "50%"
    assert lead_times["call_meeting"] == "7"
    assert lead_times["meeting_plan"] == "1"
    outcomes = cells(stats, "outcomes", "2025-03")
    assert outcomes["took_part"] == "50%"
    assert outcomes["approved"] == "83%"
    assert cells(stats, "outcomes", "2025-06")["follow_ups_on_time"] == "17%"
    closing = dict(stats.closing)
    assert closing[SipCase.ClosingReason.DECLINED.label].text == "1"


def test_small_numbers_are_suppressed_outside_the_own_unit(known):
    with translation.override("en"):
        stats = statistics(known.region, dt.date(2025, 3, 1), dt.date(2025, 6, 1))
    sips = cells(stats, "sips", "2025-03")
    assert sips["initiated"] == "8"
    assert sips["discharge"] == "<5"
    assert sips["by_person"] == "0"
    assert cells(stats, "sips", "2025-04")["declined"] == "<5"
    lead_times = cells(stats, "lead_times", "2025-03")
    assert lead_times["initiative_call"] == "4"  # over 8 SIPs
    assert lead_times["discharge_call"] == "<5"  # over 2
    assert lead_times["discharge_on_time"] == "<5"
    outcomes = cells(stats, "outcomes", "2025-03")
    assert outcomes["took_part"] == "<5"  # 3 of 6: the 3 could be read back
    assert outcomes["approved"] == "<5"  # 5 of 6: the one who did not
    assert dict(stats.closing)[SipCase.ClosingReason.DECLINED.label].text == "<5"
    with translation.override("en"):
        county = statistics(known.whole_county, dt.date(2025, 3, 1), dt.date(2025, 3, 1))
    assert cells(county, "sips", "2025-03")["initiated"] == "9"  # the kommun's SIP too


def test_a_paper_plan_counts_when_it_was_agreed_not_when_it_was_entered(known):
    case = known.planned[3]  # met 2025-03-15 10:00 (called on day 5, met 7 days later)
    CaseEvent.objects.filter(case=case, action="establish_plan").update(
        at=at("2025-04-20"), happened_at=at("2025-03-18")
    )
    refresh_statistics(full=True)
    facts = CaseFacts.objects.get(case_id=case.pk)
    assert facts.established_at == at("2025-03-18")
    scope = unit_scope(known.county.vardcentral.pk)
    assert figures(scope, "2025-04")[m.PLANS_ESTABLISHED] == 0
    assert figures(scope, "2025-03")[m.PLANS_ESTABLISHED] == 6
    # Was 1 day from meeting to plan, now 3.
    assert lead(figures(scope, "2025-03"), m.MEETING_PLAN) == {0: 2, 1: 1, 2: 2, 3: 1}


def _all_figures() -> dict:
    return {(row.scope, row.month): row.figures for row in MonthlyFigures.objects.all()}


def test_a_refresh_is_incremental_and_idempotent(known):
    first = _all_figures()
    later = timezone.now() + dt.timedelta(hours=1)
    assert refresh_statistics(now=later) > 0  # events of today within the margin: taken again
    assert _all_figures() == first
    assert refresh_statistics(now=later + dt.timedelta(minutes=30)) == 0

    case = known.discharged[0]
    services.close_case(
        case, actor=known.county.alice, expected_version=case.lock_version, reason="moved"
    )
    closed = later + dt.timedelta(minutes=40)
    CaseEvent.objects.filter(case=case, action="close").update(at=closed)
    assert refresh_statistics(now=later + dt.timedelta(minutes=45)) == 1
    month = f"{timezone.localtime(closed):%Y-%m}"
    this_month = figures(unit_scope(known.county.vardcentral.pk), month)
    assert this_month[m.CLOSED] == 1
    assert this_month[m.closed_because("moved")] == 1
    assert figures(COUNTY, month)[m.CLOSED] == 1
    incremental = _all_figures()

    refresh_statistics(now=later + dt.timedelta(minutes=45), full=True)
    assert _all_figures() == incremental


def test_a_meeting_counts_as_held_once_it_has_started(known):
    """The discharge SIPs' meetings start a week from now, with no event when they do."""
    starts = sip_meeting(known.discharged[0]).starts_at
    for case in known.discharged:
        facts = CaseFacts.objects.get(case_id=case.pk)
        assert facts.meeting_at is None
        assert facts.next_change_at == starts
    refresh_statistics(now=timezone.now() + dt.timedelta(hours=1))  # today's events taken
    later = starts + dt.timedelta(minutes=1)
    assert refresh_statistics(now=later) == 2  # no event since: the two alone
    month = f"{timezone.localtime(starts):%Y-%m}"
    scope = unit_scope(known.county.vardcentral.pk)
    assert figures(scope, month)[m.MEETINGS_HELD] == 2
    # Called in March 2025: over a year, counted in the histogram's last day.
    assert lead(figures(scope, month), m.CALL_MEETING) == {m.LAST_DAY: 2}
