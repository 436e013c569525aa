import pytest

from samplan.cases.models import PlanVersion, State
from tests.factories import case_in_state


@pytest.mark.django_db
@pytest.mark.parametrize("state", [s for s in State])
def test_case_reaches_every_state_through_the_services(county, state):
    case = case_in_state(county, state)
    case.refresh_from_db()
    assert case.state == state


@pytest.mark.django_db
def test_follow_up_makes_a_new_draft_copied_from_the_valid_plan(county):
    case = case_in_state(county, State.FOLLOW_UP)
    statuses = sorted(case.plan_versions.values_list("number", "status"))
    assert statuses == [(1, PlanVersion.Status.VALID), (2, PlanVersion.Status.DRAFT)]
    draft = case.draft_plan()
    assert [g.text for g in draft.goals.all()] == [g.text for g in case.valid_plan().goals.all()]
