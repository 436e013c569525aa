"""Uppföljning: the evaluation of every goal and intervention of the valid plan at a follow-up."""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.utils.translation import gettext_lazy as _

from samplan.cases.models import Evaluation, Goal, Intervention
from samplan.cases.services.follow_up import GOAL, INTERVENTION, EvaluationData, evaluation_field

from . import VersionedForm

Result = Evaluation.Result

# One scale for both (Evaluation.Result), worded for what is judged: a goal is reached, an
# intervention works.
GOAL_RESULTS = list(Result.choices)
INTERVENTION_RESULTS = [
    (Result.REACHED, _("Worked")),
    (Result.PARTLY, _("Partly worked")),
    (Result.NOT_REACHED, _("Did not work")),
]


def result_label(evaluation: Evaluation) -> str:
    """The result as it reads for what was evaluated (goal: reached; intervention: worked)."""
    choices = GOAL_RESULTS if evaluation.goal_id else INTERVENTION_RESULTS
    return str(dict(choices).get(evaluation.result, evaluation.result))


class EvaluationForm(VersionedForm):
    """Three fields per goal and per intervention: result, comment, the person's own view.
    `version` is the meeting's evaluation version (services.evaluation_version). The result is
    not required here: the service names each one missing at its field, in both languages."""

    def __init__(
        self,
        data=None,
        *,
        goals: Iterable[Goal],
        interventions: Iterable[Intervention],
        **kwargs,
    ):
        super().__init__(data, **kwargs)
        self.goals = list(goals)
        self.interventions = list(interventions)
        for goal in self.goals:
            self._add_fields(GOAL, goal.pk, GOAL_RESULTS, _("Is the goal reached?"))
        for item in self.interventions:
            self._add_fields(
                INTERVENTION, item.pk, INTERVENTION_RESULTS, _("Did the intervention work?")
            )

    def _add_fields(self, kind: str, pk: int, choices, question) -> None:
        self.fields[evaluation_field(kind, pk)] = forms.ChoiceField(
            label=question, choices=choices, required=False, widget=forms.RadioSelect
        )
        self.fields[evaluation_field(kind, pk, "comment")] = forms.CharField(
            label=_("Comment"),
            required=False,
            widget=forms.Textarea(attrs={"rows": 3}),
            max_length=4000,
        )
        self.fields[evaluation_field(kind, pk, "person_view")] = forms.CharField(
            label=_("The person's own view, in their words"),
            required=False,
            widget=forms.Textarea(attrs={"rows": 3}),
            max_length=4000,
        )

    def _rows(self, kind: str, items) -> list[dict]:
        return [
            {
                "number": number,
                "item": item,
                "result": self[evaluation_field(kind, item.pk)],
                "comment": self[evaluation_field(kind, item.pk, "comment")],
                "person_view": self[evaluation_field(kind, item.pk, "person_view")],
            }
            for number, item in enumerate(items, start=1)
        ]

    @property
    def goal_rows(self) -> list[dict]:
        return self._rows(GOAL, self.goals)

    @property
    def intervention_rows(self) -> list[dict]:
        return self._rows(INTERVENTION, self.interventions)

    def _data_for(self, kind: str, pk: int) -> EvaluationData:
        return EvaluationData(
            result=self.cleaned_data.get(evaluation_field(kind, pk), ""),
            comment=self.cleaned_data.get(evaluation_field(kind, pk, "comment"), ""),
            person_view=self.cleaned_data.get(evaluation_field(kind, pk, "person_view"), ""),
        )

    def goal_evaluations(self) -> dict[int, EvaluationData]:
        return {goal.pk: self._data_for(GOAL, goal.pk) for goal in self.goals}

    def intervention_evaluations(self) -> dict[int, EvaluationData]:
        return {item.pk: self._data_for(INTERVENTION, item.pk) for item in self.interventions}


def initial_from(evaluations: Iterable[Evaluation], version: int) -> dict:
    """The form's initial values from the meeting's recorded evaluation."""
    initial: dict = {"version": version}
    for evaluation in evaluations:
        if evaluation.goal_id:
            kind, pk = GOAL, evaluation.goal_id
        else:
            kind, pk = INTERVENTION, evaluation.intervention_id
        initial[evaluation_field(kind, pk)] = evaluation.result
        initial[evaluation_field(kind, pk, "comment")] = evaluation.comment
        initial[evaluation_field(kind, pk, "person_view")] = evaluation.person_view
    return initial
