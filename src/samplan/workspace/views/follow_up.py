"""Uppföljning: evaluate each goal and intervention of the valid plan at the follow-up meeting,
compare two plan versions side by side, and show the latest evaluation and the closing note on
the case page.

Revising the plan into a new version and setting the next follow-up date happen in the plan
editor (views/plan.py); this page links there once the evaluation is recorded.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, Subquery
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from samplan.access.citizen import role_words
from samplan.access.services import get_case_for
from samplan.cases import services
from samplan.cases.models import Evaluation, Intervention, PlanVersion, State
from samplan.cases.transitions import check_transition
from samplan.errors import DomainError, StaleEdit, TransitionNotAllowed

from ..actions import attempt, with_version
from ..forms.follow_up import EvaluationForm, initial_from, result_label

_INTERVENTIONS = Prefetch(
    "interventions",
    queryset=Intervention.objects.select_related("unit", "organisation", "responsible_party"),
)


# --- Evaluation at the follow-up meeting ------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def follow_up(request, case_id: int):
    case = get_case_for(request.user, case_id, what="follow_up")
    meeting = services.follow_up_meeting(case) if case.state == State.FOLLOW_UP else None
    if meeting is None:
        return _no_follow_up(request, case)
    plan = (
        case.plan_versions.filter(status=PlanVersion.Status.VALID)
        .prefetch_related("goals", _INTERVENTIONS)
        .first()
    )
    recorded = _recorded(meeting)
    version = max((evaluation.pk for evaluation in recorded), default=0)
    goals = list(plan.goals.all()) if plan else []
    _attach_person_ratings(goals)
    interventions = list(plan.interventions.all()) if plan else []
    form = EvaluationForm(
        request.POST if request.method == "POST" else None,
        goals=goals,
        interventions=interventions,
        initial=initial_from(recorded, version),
    )
    status = 200
    if request.method == "POST":
        result = attempt(
            form,
            lambda: services.record_evaluation(
                meeting,
                actor=request.user,
                goals=form.goal_evaluations(),
                interventions=form.intervention_evaluations(),
                expected_version=form.cleaned_data["version"],
            ),
        )
        if result.ok:
            messages.success(
                request, _("The follow-up is recorded. Revise the plan or plan the next step.")
            )
            return redirect(reverse("workspace:follow_up", args=[case.pk]) + "#next-steps")
        status = result.status
        if result.stale:
            recorded = _recorded(meeting)
            version = max((evaluation.pk for evaluation in recorded), default=0)
            form = with_version(
                EvaluationForm, request.POST, version, goals=goals, interventions=interventions
            )
            form.add_error(None, StaleEdit().message)
    return render(
        request,
        "workspace/follow_up/evaluate.html",
        {
            "case": case,
            "meeting": meeting,
            "meeting_started": meeting.starts_at <= timezone.now(),
            "plan": plan,
            "form": form,
            "goals": goals,
            "person_rated": any(goal.person_rating for goal in goals),
            "recorded_goals": [e for e in recorded if e.goal_id],
            "recorded_interventions": [e for e in recorded if e.intervention_id],
            "stale": status == 409,
            "may_record": request.user.has_perm("cases.drive", case),
            "has_draft": case.plan_versions.filter(status=PlanVersion.Status.DRAFT).exists(),
        },
        status=status,
    )


def _attach_person_ratings(goals) -> None:
    """The person's own latest rating of each goal (Min SIP), shown beside the staff's field:
    `goal.person_rating`, with who gave it in words (one query, however many goals)."""
    latest = services.latest_ratings(goals)
    for goal in goals:
        rating = latest.get(goal.pk)
        if rating is not None:
            rating.rated_by_words = role_words(rating.rated_by_role)
        goal.person_rating = rating


def _recorded(meeting) -> list[Evaluation]:
    evaluations = list(
        meeting.evaluations.select_related("goal", "intervention", "recorded_by").order_by(
            "goal__position", "intervention__position", "pk"
        )
    )
    for evaluation in evaluations:
        evaluation.result_label = result_label(evaluation)
    return evaluations


def _no_follow_up(request, case):
    """No follow-up meeting is being held: say so, show the latest evaluation, and refuse a
    post with the transition table's own words."""
    context = {"case": case, **_latest_evaluation(case)}
    status = 200
    if request.method == "POST":
        try:
            check_transition("record_evaluation", case.state)
        except TransitionNotAllowed as error:
            context["refusal"] = error.message
        else:
            context["refusal"] = DomainError(
                "Det finns inget uppföljningsmöte att registrera uppföljningen för.",
                "There is no follow-up meeting to record the follow-up for.",
                "meeting",
                code="no_follow_up_meeting",
            ).message
        status = 400
    return render(request, "workspace/follow_up/no_follow_up.html", context, status=status)


# --- Comparing two versions of the plan -------------------------------------------------------

STATUS_LABELS = {
    "changed": gettext_lazy("Changed"),
    "new": gettext_lazy("New"),
    "removed": gettext_lazy("Removed"),
    "unchanged": gettext_lazy("Unchanged"),
}
# Words with the space after them, so a run of changed words is marked as one.
_TOKENS = re.compile(r"\s+|\S+\s*")


@dataclass
class Side:
    """One column of a compared part: the text as segments (`equal`, `insert`, `delete`)."""

    segments: list[tuple[str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(text.strip() for _, text in self.segments)


@dataclass
class Row:
    """One part of the plan (or one field of a goal or intervention) in both versions."""

    label: str
    left: Side
    right: Side
    status: str

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])


@dataclass
class Item:
    """A goal, intervention or participant matched across the two versions."""

    label: str
    status: str
    rows: list[Row]

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])


def _merge(segments: list[tuple[str, str]]) -> list[tuple[str, str]]:
    merged: list[tuple[str, str]] = []
    for op, text in segments:
        if merged and merged[-1][0] == op:
            merged[-1] = (op, merged[-1][1] + text)
        elif text:
            merged.append((op, text))
    return merged


def compare_text(old: str, new: str) -> Row:
    """Word by word: removed words marked in the left column, added words in the right."""
    old, new = old or "", new or ""
    if old == new:
        return Row("", Side([("equal", old)]), Side([("equal", new)]), "unchanged")
    if not old.strip():
        return Row("", Side(), Side([("insert", new)]), "new")
    if not new.strip():
        return Row("", Side([("delete", old)]), Side(), "removed")
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    left: list[tuple[str, str]] = []
    right: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            left.append(("equal", "".join(a[i1:i2])))
            right.append(("equal", "".join(b[j1:j2])))
        else:
            left.append(("delete", "".join(a[i1:i2])))
            right.append(("insert", "".join(b[j1:j2])))
    return Row("", Side(_merge(left)), Side(_merge(right)), "changed")


def _row(label, old: str, new: str) -> Row:
    row = compare_text(old, new)
    row.label = str(label)
    return row


def _intervention_fields(item: Intervention | None) -> list[tuple[str, str]]:
    if item is None:
        return [(label, "") for label in _INTERVENTION_LABELS]
    ends = item.ends_on.isoformat() if item.ends_on else item.ends_note
    values = [
        item.description,
        item.responsible_name,
        item.contact_name,
        item.starts_on.isoformat() if item.starts_on else "",
        ends,
    ]
    return list(zip(_INTERVENTION_LABELS, values, strict=True))


_INTERVENTION_LABELS = (
    gettext_lazy("Intervention"),
    gettext_lazy("Responsible"),
    gettext_lazy("Contact"),
    gettext_lazy("Starts"),
    gettext_lazy("Ends"),
)


def _match(old: list, new: list, key) -> list[tuple[object | None, object | None]]:
    """Pairs of (old, new): the same text first; among the rest, by position when the texts
    are alike (a reworded goal); what has no partner is removed or new."""
    pairs: list[tuple[object | None, object | None]] = []
    old_keys, new_keys = [key(x) for x in old], [key(x) for x in new]
    matcher = difflib.SequenceMatcher(None, old_keys, new_keys, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pairs += zip(old[i1:i2], new[j1:j2], strict=True)
            continue
        removed, added = [], []
        for index in range(max(i2 - i1, j2 - j1)):
            before = old[i1 + index] if i1 + index < i2 else None
            after = new[j1 + index] if j1 + index < j2 else None
            if before is not None and after is not None and _alike(key(before), key(after)):
                pairs.append((before, after))
            else:
                removed += [(before, None)] if before is not None else []
                added += [(None, after)] if after is not None else []
        pairs += removed + added
    return pairs


def _alike(old: str, new: str) -> bool:
    """At least half the words in common (goals in the person's words share "Jag vill")."""
    matcher = difflib.SequenceMatcher(None, old.split(), new.split(), autojunk=False)
    return matcher.ratio() >= 0.5


def _items(kind_label, pairs, fields) -> list[Item]:
    items = []
    for number, (old, new) in enumerate(pairs, start=1):
        rows = [
            _row(label, old_value, new_value)
            for (label, old_value), (_label, new_value) in zip(
                fields(old), fields(new), strict=True
            )
        ]
        if old is None:
            status = "new"
        elif new is None:
            status = "removed"
        elif any(row.status != "unchanged" for row in rows):
            status = "changed"
        else:
            status = "unchanged"
        items.append(Item(f"{kind_label} {number}", status, rows))
    return items


def compare_versions(old: PlanVersion, new: PlanVersion) -> dict:
    """Every part of the plan in both versions, with what changed marked."""
    parts = [
        _row(_("Needs today"), old.needs_today, new.needs_today),
        _row(
            _("Overall responsibility"),
            old.main_responsible_unit.name if old.main_responsible_unit else "",
            new.main_responsible_unit.name if new.main_responsible_unit else "",
        ),
        _row(_("How the interventions are coordinated"), old.coordination, new.coordination),
        _row(
            _("Follow-up date"),
            old.follow_up_on.isoformat() if old.follow_up_on else "",
            new.follow_up_on.isoformat() if new.follow_up_on else "",
        ),
        _row(_("When the cooperation ends"), old.cooperation_ends, new.cooperation_ends),
        _row(_("Expected of the person"), old.expected_of_person, new.expected_of_person),
        _row(_("Expected of relatives"), old.expected_of_relatives, new.expected_of_relatives),
    ]
    goals = _items(
        _("Goal"),
        _match(list(old.goals.all()), list(new.goals.all()), lambda goal: goal.text.strip()),
        lambda goal: [(_("Goal"), goal.text if goal else "")],
    )
    interventions = _items(
        _("Intervention"),
        _match(
            list(old.interventions.all()),
            list(new.interventions.all()),
            lambda item: item.description.strip(),
        ),
        _intervention_fields,
    )
    attendees = _items(
        _("Participant"),
        _match(list(old.attendees.all()), list(new.attendees.all()), lambda a: a.name.strip()),
        lambda a: [
            (_("Name"), a.name if a else ""),
            (_("Represents"), a.represents if a else ""),
        ],
    )
    groups = [
        (_("The person's own goals"), goals),
        (_("Interventions"), interventions),
        (_("Took part"), attendees),
    ]
    changed = sum(row.status != "unchanged" for row in parts) + sum(
        item.status != "unchanged" for _label, items in groups for item in items
    )
    return {"parts": parts, "groups": groups, "changed_count": changed}


def _default_pair(versions: list[PlanVersion]) -> tuple[int | None, int | None]:
    """The valid version against the draft, or else the two latest."""
    by_status = {version.status: version.number for version in versions}
    if PlanVersion.Status.VALID in by_status and PlanVersion.Status.DRAFT in by_status:
        return by_status[PlanVersion.Status.VALID], by_status[PlanVersion.Status.DRAFT]
    numbers = sorted(version.number for version in versions)
    if len(numbers) >= 2:
        return numbers[-2], numbers[-1]
    return (numbers[0], None) if numbers else (None, None)


def _number(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@login_required
@require_http_methods(["GET"])
def plan_compare(request, case_id: int):
    case = get_case_for(request.user, case_id, what="plan_compare")
    versions = list(
        case.plan_versions.only("pk", "case_id", "number", "status", "approved_at").order_by(
            "number"
        )
    )
    numbers = {version.number for version in versions}
    default_a, default_b = _default_pair(versions)
    asked_a, asked_b = _number(request.GET.get("a")), _number(request.GET.get("b"))
    problem = ""
    if (request.GET.get("a") or request.GET.get("b")) and (
        asked_a not in numbers or asked_b not in numbers or asked_a == asked_b
    ):
        problem = _("Choose two different versions of this plan. The default pair is shown.")
        asked_a = asked_b = None
    a = asked_a if asked_a is not None else default_a
    b = asked_b if asked_b is not None else default_b
    chosen = {
        version.number: version
        for version in case.plan_versions.filter(number__in=[n for n in (a, b) if n])
        .select_related("main_responsible_unit")
        .prefetch_related("goals", "attendees", _INTERVENTIONS)
    }
    old, new = chosen.get(a), chosen.get(b)
    context = {
        "case": case,
        "versions": versions,
        "a": a,
        "b": b,
        "old": old,
        "new": new,
        "problem": problem,
        "comparison": compare_versions(old, new) if old and new else None,
    }
    status = 400 if problem else 200
    return render(request, "workspace/follow_up/compare.html", context, status=status)


urlpatterns = [
    path("sip/<id:case_id>/uppfoljning/", follow_up, name="follow_up"),
    path("sip/<id:case_id>/plan/jamfor/", plan_compare, name="plan_compare"),
]


# --- On the case page -------------------------------------------------------------------------


def _latest_evaluation(case) -> dict:
    """The evaluation of the latest follow-up meeting that has one (one query): how each goal
    and intervention went, the latest judgement of each."""
    latest_meeting = (
        Evaluation.objects.filter(meeting__case=case)
        .order_by("-meeting__starts_at", "-meeting_id")
        .values("meeting_id")[:1]
    )
    shown = list(
        Evaluation.objects.filter(meeting_id=Subquery(latest_meeting))
        .select_related("meeting", "goal", "intervention")
        .order_by("goal__position", "intervention__position", "pk")
    )
    for evaluation in shown:
        evaluation.result_label = result_label(evaluation)
    goals = [evaluation for evaluation in shown if evaluation.goal_id]
    return {
        "evaluation_meeting": shown[0].meeting if shown else None,
        "goal_evaluations": goals,
        "intervention_evaluations": [e for e in shown if e.intervention_id],
        "goals_reached": sum(e.result == Evaluation.Result.REACHED for e in goals),
    }


def case_page_context(request, case, context: dict) -> dict:
    """What the case page needs from this step (constant number of queries): the latest
    evaluation, links to the follow-up and to the comparison, and who closed the SIP and why
    (from the timeline the case page already has)."""
    versions = [
        plan
        for plan in [context.get("valid_plan"), context.get("draft_plan")]
        + list(context.get("earlier_plans") or [])
        if plan
    ]
    closing_event = None
    if case.is_closed:
        closing_event = next(
            (e for e in reversed(context.get("events") or []) if e.to_state == State.CLOSED),
            None,
        )
    return {
        **_latest_evaluation(case),
        "follow_up_open": case.state == State.FOLLOW_UP,
        "may_compare_plans": len(versions) >= 2,
        "closing_event": closing_event,
    }
