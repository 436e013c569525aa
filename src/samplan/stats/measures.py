"""The names of the measures in the monthly figures (MonthlyFigures.figures), in one place.

A count is a plain name ("initiated"); a breakdown adds its value after a colon
("closed:goals_reached", "initiated_by:person"); a lead time is a histogram in whole days
("lead_initiative_call:4"), its last day (LAST_DAY) holding everything from then on.
"""

from __future__ import annotations

LAST_DAY = 365

INITIATED = "initiated"
INITIATED_DISCHARGE = "initiated_discharge"
DECLINED = "declined"
CONSENTED = "consented"
MEETINGS_HELD = "meetings_held"
PERSON_TOOK_PART = "person_took_part"
PLANS_ESTABLISHED = "plans_established"
APPROVED_BY_PERSON = "approved_by_person"
CLOSED = "closed"
DISCHARGE_WITHIN_DEADLINE = "discharge_within_deadline"
FOLLOW_UPS_DUE = "follow_ups_due"
FOLLOW_UPS_ON_TIME = "follow_ups_on_time"

INITIATIVE_CALL = "initiative_call"
DISCHARGE_CALL = "discharge_call"
CALL_MEETING = "call_meeting"
MEETING_PLAN = "meeting_plan"
LEAD_TIMES = (INITIATIVE_CALL, DISCHARGE_CALL, CALL_MEETING, MEETING_PLAN)

GOAL_RESULTS = ("reached", "partly", "not_reached")
RATINGS = (1, 2, 3, 4, 5)
GOOD_RATINGS = (4, 5)  # "well" and "very well" on GoalRating.Scale


def initiated_by(who: str) -> str:
    return f"initiated_by:{who}"


def closed_because(reason: str) -> str:
    return f"closed:{reason}"


def lead(which: str, days: int) -> str:
    return f"lead_{which}:{days}"


def goal(result: str) -> str:
    return f"goal:{result}"


def own_rating(value: int) -> str:
    return f"own_rating:{value}"
