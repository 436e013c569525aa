"""Min uppföljning: before a follow-up, the person (or one acting for them) says how each goal of
the valid plan is going, on a five-step scale with pictures and words, and may comment.

Every answer is a new row (`GoalRating`, append-only); the page shows the latest answer of each
goal, and staff see it beside their own evaluation at the follow-up. Only while the transition
table allows it (`rate_goals`: plan established, follow-up); otherwise the page says why in a
sentence and shows the latest answers read-only.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from samplan.access.citizen import get_case_for_citizen, role_words_for_person
from samplan.cases import services
from samplan.cases.models import GoalRating, PlanVersion, State
from samplan.cases.services.follow_up import RATING_COMMENT_MAX
from samplan.cases.transitions import TRANSITIONS
from samplan.workspace.actions import attempt

from ..decorators import citizen_required

Scale = GoalRating.Scale


class RatingForm(forms.Form):
    """Per goal: how it is going (`goal_<id>_rating`, a radio of the five steps) and a comment
    (`goal_<id>_comment`). Nothing is required here: a goal left alone is not rated, and the
    service names what is missing at its field, in both languages."""

    def __init__(self, data=None, *, goals, **kwargs):
        super().__init__(data, **kwargs)
        self.goals = list(goals)
        for goal in self.goals:
            self.fields[services.rating_field(goal.pk)] = forms.TypedChoiceField(
                label=gettext_lazy("How is it going?"),
                choices=Scale.choices,
                coerce=int,
                required=False,
                widget=forms.RadioSelect,
            )
            self.fields[services.rating_field(goal.pk, "comment")] = forms.CharField(
                label=gettext_lazy("Comment (if you want to)"),
                help_text=gettext_lazy("For example what helps, or what is hard right now."),
                required=False,
                max_length=RATING_COMMENT_MAX,
                widget=forms.Textarea(attrs={"rows": 3}),
            )

    @property
    def rows(self) -> list[dict]:
        rows = []
        for number, goal in enumerate(self.goals, start=1):
            field = self[services.rating_field(goal.pk)]
            chosen = str(field.value() or "")
            rows.append(
                {
                    "number": number,
                    "goal": goal,
                    "rating": field,
                    "choices": [
                        {
                            "value": value,
                            "label": label,
                            "id": f"{field.auto_id}_{index}",  # _0 first, as the summary links
                            "checked": chosen == str(value),
                        }
                        for index, (value, label) in enumerate(Scale.choices)
                    ],
                    "comment": self[services.rating_field(goal.pk, "comment")],
                }
            )
        return rows

    def ratings(self) -> list[tuple[int, int | None, str]]:
        """(goal id, rating, comment) of every goal the person answered something for."""
        found = []
        for goal in self.goals:
            rating = self.cleaned_data.get(services.rating_field(goal.pk))
            comment = self.cleaned_data.get(services.rating_field(goal.pk, "comment"), "")
            if rating in ("", None) and not comment.strip():
                continue
            found.append((goal.pk, rating if rating != "" else None, comment))
        return found


def _closed_sentence(case) -> str:
    """Why the goals cannot be rated now, in a sentence for the person."""
    if case.state == State.CLOSED:
        return _("This SIP has ended, so the goals can no longer be rated. The answers given stay.")
    return _(
        "You can say how the goals are going once the plan is in place. Until then there are no "
        "goals to rate."
    )


def _rated_by(rating: GoalRating, capacity) -> str:
    """Who gave an answer, as the reader of the page sees it ("you", "your guardian", ...)."""
    return role_words_for_person(rating.rated_by_role, capacity, rating.rated_by_party_id)


@citizen_required
@require_http_methods(["GET", "POST"])
def follow_up(request, case_id: int):
    case, capacity = get_case_for_citizen(
        request.citizen, case_id, part="steer", what="goal_rating"
    )
    plan = (
        case.plan_versions.filter(status=PlanVersion.Status.VALID).prefetch_related("goals").first()
    )
    goals = list(plan.goals.all()) if plan else []
    latest = services.latest_ratings(goals)
    for goal in goals:
        goal.latest_rating = latest.get(goal.pk)
        if goal.latest_rating is not None:
            goal.latest_rating.rated_by_words = _rated_by(goal.latest_rating, capacity)
    open_now = case.state in TRANSITIONS["rate_goals"].sources and bool(goals)
    form = RatingForm(request.POST if request.method == "POST" else None, goals=goals)
    status = 200
    if request.method == "POST":
        result = attempt(
            form, lambda: services.rate_goals(case, actor=capacity, ratings=form.ratings())
        )
        if result.ok:
            messages.success(
                request,
                _("Thank you. Your answers are saved, and the coordinator sees them."),
            )
            return redirect(reverse("mypages:follow_up", args=[case.pk]))
        status = result.status
    meeting = services.follow_up_meeting(case) if case.state == State.FOLLOW_UP else None
    return render(
        request,
        "mypages/follow_up/follow_up.html",
        {
            "case": case,
            "capacity": capacity,
            "plan": plan,
            "goals": goals,
            "form": form,
            "open_now": open_now,
            "closed_sentence": "" if open_now else _closed_sentence(case),
            "meeting": meeting,
            "scale": Scale.choices,
        },
        status=status,
    )


urlpatterns = [
    path("sip/<id:case_id>/uppfoljning/", follow_up, name="follow_up"),
]
