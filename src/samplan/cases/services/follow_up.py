"""Uppföljning: at a follow-up meeting, how each goal and each intervention of the valid plan went.

Every goal and every intervention is evaluated, in the staff's words and in the person's own.
Saving again replaces the meeting's earlier evaluation (delete and create in one transaction):
the evaluation is the record of one meeting, the timeline and the audit log keep that it was
recorded twice. Because new rows always get higher ids, the newest evaluation id of the meeting
is the version a form was based on (`evaluation_version`), so a second evaluator never silently
overwrites the first.

Errors name the form field of the goal or intervention they concern: `goal_<id>_result`,
`intervention_<id>_result` (see `evaluation_field`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Max
from django.utils import timezone

from samplan.errors import DomainError, StaleEdit

from ..models import Evaluation, Goal, Intervention, Meeting, PlanVersion
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
