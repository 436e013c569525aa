"""A plan agreed on the paper SIP form while Samplan was down, entered afterwards (issue 9):
it is approved at the time on the form, the timeline shows both that time and when it was
entered, and a time that does not fit the SIP's history is refused next to the field, in
Swedish and English, with what was typed kept."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import CaseEvent, Meeting, PlanVersion, SipCase, State
from samplan.errors import DomainError
from tests.factories import case_in_state, complete_draft
from tests.test_workspace_plan import english, field_error

pytestmark = pytest.mark.django_db


def establish_url(case: SipCase) -> str:
    return reverse("workspace:plan_establish", args=[case.pk])


def held_days_ago(county, days: int) -> SipCase:
    """A case initiated ten days ago whose SIP meeting was held `days` days ago at 09:00 (moved
    there directly: the services call meetings ahead only), with a complete draft."""
    case = case_in_state(county, State.MEETING_CALLED)
    now = timezone.localtime()
    SipCase.objects.filter(pk=case.pk).update(initiated_at=now - dt.timedelta(days=10))
    held = (now - dt.timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)
    Meeting.objects.filter(case=case).update(starts_at=held)
    case.refresh_from_db()
    services.save_plan_draft(
        case, actor=county.alice, expected_version=None, data=complete_draft(county)
    )
    return case


def paper(case: SipCase, when: dt.datetime | None, **fields) -> dict:
    data = {
        "version": case.draft_plan().lock_version,
        "approved_by": "person",
        "approved_by_name": "Gunnel",
        "agreed_on": f"{when:%Y-%m-%d}" if when else "",
        "agreed_time": f"{when:%H:%M}" if when else "",
    }
    return {**data, **fields}


def local(days_ago: int, hour: int, minute: int = 0) -> dt.datetime:
    moment = timezone.localtime() - dt.timedelta(days=days_ago)
    return moment.replace(hour=hour, minute=minute, second=0, microsecond=0)


def test_a_paper_plan_is_approved_at_the_time_on_the_form_and_the_timeline_shows_both(
    client, county
):
    case = held_days_ago(county, 3)
    agreed = local(3, 10, 30)
    client.force_login(county.alice)
    page = client.get(establish_url(case)).content.decode()
    assert 'name="agreed_on"' in page and 'name="agreed_time"' in page

    before = timezone.now()
    response = client.post(establish_url(case), paper(case, agreed))
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.PLAN_ESTABLISHED
    plan = case.valid_plan()
    assert plan.approved_at == agreed
    event = CaseEvent.objects.filter(case=case, action="establish_plan").get()
    assert event.happened_at == agreed
    assert event.at >= before  # entered now
    assert AuditEvent.objects.filter(
        case_id=case.pk, user=county.alice, what="plan", action=AuditEvent.Action.CHANGE
    ).exists()

    timeline = client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    assert f'<time datetime="{agreed.isoformat()}">{agreed:%Y-%m-%d %H:%M}</time>' in timeline
    entered = timezone.localtime(event.at)
    assert f"på pappersblanketten; registrerad {entered:%Y-%m-%d %H:%M:%S}" in timeline
    # Events entered the ordinary way show one time only.
    assert timeline.count('data-testid="event-entered"') == 1


def test_an_approval_given_now_has_no_paper_time(client, county):
    case = held_days_ago(county, 3)
    Meeting.objects.filter(case=case).update(starts_at=timezone.now() - dt.timedelta(hours=1))
    client.force_login(county.alice)
    assert client.post(establish_url(case), paper(case, None)).status_code == 302
    event = CaseEvent.objects.filter(case=case, action="establish_plan").get()
    assert event.happened_at is None
    assert abs(case.valid_plan().approved_at - event.at) < dt.timedelta(seconds=5)


def test_a_time_ahead_is_refused_at_the_date_in_swedish_and_english(client, county):
    case = held_days_ago(county, 3)
    ahead = timezone.localtime() + dt.timedelta(days=1)
    client.force_login(county.alice)
    response = client.post(establish_url(case), paper(case, ahead))
    assert response.status_code == 400
    assert "ligger framåt i tiden" in field_error(response, "id_agreed_on")
    body = response.content.decode()
    assert f'value="{ahead:%Y-%m-%d}"' in body and 'value="Gunnel"' in body  # what was typed
    assert '<details class="govuk-details" open>' in body  # the paper part stays open
    english(client)
    response = client.post(establish_url(case), paper(case, ahead))
    assert "lies ahead" in field_error(response, "id_agreed_on")
    assert case.draft_plan().status == PlanVersion.Status.DRAFT
    assert not CaseEvent.objects.filter(case=case, action="establish_plan").exists()


def test_a_time_before_the_meeting_started_is_refused(client, county):
    case = held_days_ago(county, 3)
    client.force_login(county.alice)
    response = client.post(establish_url(case), paper(case, local(3, 8, 30)))
    assert response.status_code == 400
    assert "Mötet där planen togs fram började" in field_error(response, "id_agreed_on")
    assert case.draft_plan() is not None


def test_a_time_before_the_sip_began_is_refused(client, county):
    case = held_days_ago(county, 3)
    Meeting.objects.filter(case=case).update(starts_at=local(20, 9))
    client.force_login(county.alice)
    response = client.post(establish_url(case), paper(case, local(15, 9)))
    assert response.status_code == 400
    assert "SIP:en inleddes" in field_error(response, "id_agreed_on")


def test_a_date_without_a_time_asks_for_the_time(client, county):
    case = held_days_ago(county, 3)
    client.force_login(county.alice)
    response = client.post(establish_url(case), paper(case, local(3, 10), agreed_time=""))
    assert response.status_code == 400
    assert field_error(response, "id_agreed_time")
    assert case.draft_plan().status == PlanVersion.Status.DRAFT


def test_a_new_version_cannot_be_approved_before_the_one_it_replaces(county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)  # version 1 approved now
    SipCase.objects.filter(pk=case.pk).update(initiated_at=timezone.now() - dt.timedelta(days=10))
    case.refresh_from_db()
    draft = services.save_plan_draft(
        case, actor=county.alice, expected_version=None, data=complete_draft(county)
    )
    with pytest.raises(DomainError) as refused:
        services.establish_plan(
            case,
            actor=county.alice,
            expected_version=draft.lock_version,
            approved_by="person",
            approved_by_name="Gunnel",
            agreed_at=timezone.now() - dt.timedelta(days=1),
        )
    assert refused.value.code == "before_valid_version"
    assert "Version 1" in refused.value.sv and "Version 1" in refused.value.en
    assert PlanVersion.objects.get(pk=draft.pk).status == PlanVersion.Status.DRAFT
