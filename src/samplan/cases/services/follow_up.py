"""Uppföljning: at a follow-up meeting, how each goal and each intervention of the valid plan went.

Every goal and every intervention is evaluated, in the staff's words and in the person's own.
Saving again replaces the meeting's earlier evaluation (delete and create in one transaction):
the evaluation is the record of one meeting, the timeline and the audit log keep that it was
recorded twice. Because new rows always get higher ids, the newest evaluation id of the meeting
is the version a form was based on (`evaluation_version`), so a second evaluator never silently
overwrites the first.

Errors name the form field of the goal or intervention they concern: `goal_<id>_result`,
`intervention_<id>_result` (see `evaluation_field`).

Before a follow-up the person (or one acting for them) rates in Min SIP how each goal is going
(`rate_goals`): append-only `GoalRating` rows, shown to staff beside their own evaluation.
Errors name `goal_<id>_rating` and `goal_<id>_comment` (see `rating_field`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from samplan.errors import DomainError, StaleEdit

from ..models import Evaluation, Goal, GoalRating, Intervention, Meeting, PlanVersion, State
from ._core import _changing, _raise_all

GOAL = "goal"
INTERVENTION = "intervention"


@dataclass
class EvaluationData:
    """One goal's or intervention's evaluation as the meeting agreed on it."""

    result: str = ""
    comment: str = ""
    person_view: str = ""  # the person's own view, in their words


def evaluation_field(kind: str, pk: int, part: str = "result") -> str:
    """The form field an evaluation error is shown at, e.g. `goal_12_result`."""
    return f"{kind}_{pk}_{part}"


def evaluation_version(meeting: Meeting) -> int:
    """The version of a meeting's evaluation: its newest row id, 0 when none is recorded."""
    return meeting.evaluations.aggregate(newest=Max("pk"))["newest"] or 0


def follow_up_meeting(case) -> Meeting | None:
    """The follow-up meeting being held: the latest one that is not cancelled."""
    return (
        case.meetings.filter(kind=Meeting.Kind.FOLLOW_UP, cancelled_at__isnull=True)
        .order_by("-starts_at", "-pk")
        .first()
    )


def _short(text: str, length: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[:length].rsplit(" ", 1)[0] + "…"


def _missing_goal(index: int, goal: Goal) -> DomainError:
    return DomainError(
        f"Mål {index} (”{_short(goal.text)}”) är inte utvärderat. Välj uppnått, delvis uppnått "
        "eller inte uppnått.",
        f"Goal {index} (“{_short(goal.text)}”) is not evaluated. Choose reached, partly reached "
        "or not reached.",
        evaluation_field(GOAL, goal.pk),
        code="goal_not_evaluated",
    )


def _missing_intervention(index: int, item: Intervention) -> DomainError:
    return DomainError(
        f"Insats {index} (”{_short(item.description)}”) är inte utvärderad. Välj fungerade, "
        "fungerade delvis eller fungerade inte.",
        f"Intervention {index} (“{_short(item.description)}”) is not evaluated. Choose worked, "
        "partly worked or did not work.",
        evaluation_field(INTERVENTION, item.pk),
        code="intervention_not_evaluated",
    )


def _not_in_plan(kind: str, pk: int) -> DomainError:
    sv = "Målet" if kind == GOAL else "Insatsen"
    en = "The goal" if kind == GOAL else "The intervention"
    return DomainError(
        f"{sv} hör inte till den giltiga planen som följs upp.",
        f"{en} is not part of the valid plan being followed up.",
        "",
        code="not_in_plan",
    )


def evaluation_problems(
    plan: PlanVersion,
    goals: dict[int, EvaluationData],
    interventions: dict[int, EvaluationData],
) -> list[DomainError]:
    """Every goal and intervention of the plan left unevaluated, each named at its field."""
    problems: list[DomainError] = []
    plan_goals = list(plan.goals.all())
    plan_interventions = list(plan.interventions.all())
    for index, goal in enumerate(plan_goals, start=1):
        data = goals.get(goal.pk)
        if data is None or data.result not in Evaluation.Result.values:
            problems.append(_missing_goal(index, goal))
    for index, item in enumerate(plan_interventions, start=1):
        data = interventions.get(item.pk)
        if data is None or data.result not in Evaluation.Result.values:
            problems.append(_missing_intervention(index, item))
    known_goals = {goal.pk for goal in plan_goals}
    known_interventions = {item.pk for item in plan_interventions}
    problems += [_not_in_plan(GOAL, pk) for pk in goals if pk not in known_goals]
    problems += [
        _not_in_plan(INTERVENTION, pk) for pk in interventions if pk not in known_interventions
    ]
    return problems


def record_evaluation(
    meeting: Meeting,
    *,
    actor,
    goals: dict[int, EvaluationData],
    interventions: dict[int, EvaluationData],
    expected_version: int | None = None,
) -> list[Evaluation]:
    """Record the follow-up (uppföljning) of the valid plan at `meeting`: every goal and every
    intervention evaluated. Keys are goal and intervention ids. `expected_version` is the
    `evaluation_version` the form was based on (None: do not check). Replaces the meeting's
    earlier evaluation."""
    with _changing(meeting.case, "record_evaluation", actor, None, what="evaluation") as change:
        case = change.case
        if meeting.kind != Meeting.Kind.FOLLOW_UP:
            raise DomainError(
                "Uppföljningen registreras för ett uppföljningsmöte i denna SIP.",
                "The follow-up is recorded for a follow-up meeting of this SIP.",
                "meeting",
                code="not_a_follow_up_meeting",
            )
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if meeting.cancelled_at is not None:
            raise DomainError(
                "Uppföljningsmötet är inställt. Kalla till ett nytt uppföljningsmöte först.",
                "The follow-up meeting is cancelled. Call a new follow-up meeting first.",
                "meeting",
                code="meeting_cancelled",
            )
        if meeting.starts_at > timezone.now():
            raise DomainError(
                f"Uppföljningen kan registreras först när uppföljningsmötet har börjat "
                f"({timezone.localtime(meeting.starts_at):%Y-%m-%d %H:%M}).",
                f"The follow-up can be recorded only once the follow-up meeting has started "
                f"({timezone.localtime(meeting.starts_at):%Y-%m-%d %H:%M}).",
                "meeting",
                code="future_meeting",
            )
        if expected_version is not None and evaluation_version(meeting) != expected_version:
            raise StaleEdit(current=meeting)
        plan = case.plan_versions.filter(status=PlanVersion.Status.VALID).first()
        if plan is None:
            raise DomainError(
                "Det finns ingen giltig plan att följa upp.",
                "There is no valid plan to follow up.",
                "meeting",
                code="no_valid_plan",
            )
        _raise_all(evaluation_problems(plan, goals, interventions))
        meeting.evaluations.all().delete()
        now = timezone.now()
        evaluations = Evaluation.objects.bulk_create(
            [
                Evaluation(
                    meeting=meeting,
                    goal_id=pk,
                    result=data.result,
                    comment=data.comment.strip(),
                    person_view=data.person_view.strip(),
                    recorded_by=actor,
                    recorded_at=now,
                )
                for pk, data in goals.items()
            ]
            + [
                Evaluation(
                    meeting=meeting,
                    intervention_id=pk,
                    result=data.result,
                    comment=data.comment.strip(),
                    person_view=data.person_view.strip(),
                    recorded_by=actor,
                    recorded_at=now,
                )
                for pk, data in interventions.items()
            ]
        )
        change.note = f"v{plan.number}"
    return evaluations


# --- The person's own follow-up (Min SIP) ---------------------------------------------------

RATING_COMMENT_MAX = 2000


def rating_field(goal_id: int, part: str = "rating") -> str:
    """The form field a rating error is shown at, e.g. `goal_12_rating`."""
    return f"goal_{goal_id}_{part}"


def latest_ratings(goals) -> dict[int, GoalRating]:
    """Goal id → the newest rating of that goal, for these goals (one query, however many)."""
    goal_ids = [goal.pk for goal in goals]
    if not goal_ids:
        return {}
    newest = (
        GoalRating.objects.filter(goal_id=OuterRef("goal_id"))
        .order_by("-rated_at", "-id")
        .values("pk")[:1]
    )
    return {
        rating.goal_id: rating
        for rating in GoalRating.objects.filter(goal_id__in=goal_ids, pk=Subquery(newest))
    }


def _rating_problems(
    goals: dict[int, tuple[int, Goal]], ratings: list[tuple[int, int | None, str]]
) -> list[DomainError]:
    problems: list[DomainError] = []
    seen: set[int] = set()
    for goal_id, rating, comment in ratings:
        if goal_id not in goals or goal_id in seen:
            problems.append(
                DomainError(
                    "Målet hör inte till den giltiga planen.",
                    "The goal is not part of the valid plan.",
                    "",
                    code="not_in_plan",
                )
            )
            continue
        seen.add(goal_id)
        index, goal = goals[goal_id]
        if rating not in GoalRating.Scale.values:
            problems.append(
                DomainError(
                    f"Välj hur det går med mål {index} (”{_short(goal.text)}”).",
                    f"Choose how goal {index} (“{_short(goal.text)}”) is going.",
                    rating_field(goal_id),
                    code="rating_required",
                )
            )
        if len(comment) > RATING_COMMENT_MAX:
            problems.append(
                DomainError(
                    f"Kommentaren får vara högst {RATING_COMMENT_MAX} tecken.",
                    f"The comment can be at most {RATING_COMMENT_MAX} characters.",
                    rating_field(goal_id, "comment"),
                    code="too_long",
                )
            )
    return problems


def rate_goals(case, *, actor, ratings: list[tuple[int, int | None, str]]) -> list[GoalRating]:
    """The person's own rating (Min SIP) of how goals of the valid plan are going: `ratings` is
    a list of (goal id, 1–5 on `GoalRating.Scale`, comment). `actor` is the citizen's Capacity;
    the transition needs STEER (the person, a young person with their own view, or one acting
    for them). Adds rows, never changes earlier ones; they belong to the follow-up meeting when
    one is called."""
    with _changing(case, "rate_goals", actor, None, what="goal_rating") as change:
        case = change.case
        plan = case.plan_versions.filter(status=PlanVersion.Status.VALID).first()
        if plan is None:
            raise DomainError(
                "Det finns ingen giltig plan med mål att skatta.",
                "There is no valid plan with goals to rate.",
                "",
                code="no_valid_plan",
            )
        goals = {goal.pk: (index, goal) for index, goal in enumerate(plan.goals.all(), start=1)}
        cleaned = [
            (goal_id, rating, (comment or "").strip()) for goal_id, rating, comment in ratings
        ]
        if not cleaned:
            raise DomainError(
                "Välj hur det går med minst ett av målen.",
                "Choose how at least one of the goals is going.",
                "",
                code="nothing_rated",
            )
        _raise_all(_rating_problems(goals, cleaned))
        meeting = follow_up_meeting(case) if case.state == State.FOLLOW_UP else None
        now = timezone.now()
        party = getattr(actor, "party", None)
        return GoalRating.objects.bulk_create(
            [
                GoalRating(
                    goal_id=goal_id,
                    meeting=meeting,
                    rating=rating,
                    comment=comment,
                    rated_by_role=actor.role,
                    rated_by_party=party,
                    rated_at=now,
                )
                for goal_id, rating, comment in cleaned
            ]
        )
