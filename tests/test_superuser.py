"""A superuser administers the directory but is not a staff member: without an assignment they
read no SIP, and with one they act only as that assignment allows. Django answers every object
permission with yes for an active superuser; here the rules answer (directory.User.has_perm)."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.contrib import admin
from django.contrib.auth.models import PermissionsMixin
from django.urls import reverse

from samplan.access.models import AuditEvent
from samplan.access.services import cases_visible_to
from samplan.cases import services
from samplan.cases.models import State
from samplan.directory.models import Assignment
from samplan.errors import DomainError, PermissionRefused
from tests.factories import PersonFactory, UserFactory, case_in_state

pytestmark = pytest.mark.django_db

SEARCH_URL = "/sip/sok/"
START_URL = "/start/"


@pytest.fixture
def root(county):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def case_url(case) -> str:
    return reverse("workspace:case_detail", args=[case.pk])


def test_a_superuser_without_assignment_gets_404_and_the_refusal_is_logged(client, county, root):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    client.force_login(root)
    assert client.get(case_url(case)).status_code == 404
    for url in ("workspace:plan_edit", "workspace:case_messages", "workspace:close_case"):
        assert client.get(reverse(url, args=[case.pk])).status_code == 404, url
    refusals = AuditEvent.objects.filter(user=root, case=case, outcome=AuditEvent.Outcome.REFUSED)
    assert refusals.count() == 4
    # Not even emergency access: no unit of theirs takes part.
    response = client.get(reverse("workspace:emergency_access", args=[case.pk]))
    assert response.status_code == 404


def test_a_superuser_without_assignment_finds_nothing_on_the_start_and_search_pages(
    client, county, root
):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    name = case.person.given_name
    client.force_login(root)
    searched = client.post(SEARCH_URL, {"q": name})
    assert searched.status_code == 200
    assert list(searched.context["rows"]) == []
    assert name not in searched.content.decode()
    listed = client.get(SEARCH_URL)
    assert list(listed.context["rows"]) == []
    start = client.get(START_URL)
    assert start.status_code == 200
    assert name not in start.content.decode()
    assert not cases_visible_to(root).exists()
    assert not AuditEvent.objects.filter(user=root, person=case.person).exists()


def test_the_services_refuse_a_superuser_without_assignment(county, root):
    case = case_in_state(county, State.CONSENTED)
    assert not root.has_perm("cases.view_sipcase_content", case)
    assert not root.has_perm("cases.take_part", case)
    assert not root.has_perm("cases.drive", case)
    # What Django itself would have answered, and every view asking has_perm would have shown.
    assert PermissionsMixin.has_perm(root, "cases.drive", case)
    with pytest.raises(PermissionRefused):
        services.start_preparation(case, actor=root, expected_version=case.lock_version)
    with pytest.raises(PermissionRefused):
        services.post_message(case, actor=root, body="Hej")
    with pytest.raises(PermissionRefused):
        services.close_case(case, actor=root, expected_version=case.lock_version, reason="other")
    with pytest.raises(DomainError):
        services.initiate_case(
            actor=root, person=PersonFactory(), initiating_unit=county.vardcentral
        )
    case.refresh_from_db()
    assert case.state == State.CONSENTED


def test_a_superuser_with_a_participant_assignment_sees_the_case_but_cannot_drive_it(
    client, county, root
):
    case = case_in_state(county, State.MEETING_CALLED)
    Assignment.objects.create(user=root, unit=county.hemtjanst, role=Assignment.Role.PARTICIPANT)
    client.force_login(root)
    response = client.get(case_url(case))
    assert response.status_code == 200
    assert response.context["may_take_part"] is True
    assert response.context["may_drive"] is False
    assert response.context["may_close"] is False
    assert response.context["next_step_link"] is None
    page = response.content.decode()
    assert reverse("workspace:close_case", args=[case.pk]) not in page
    assert root.has_perm("cases.take_part", case)
    assert not root.has_perm("cases.drive", case)
    with pytest.raises(PermissionRefused):
        services.close_case(case, actor=root, expected_version=case.lock_version, reason="other")
    case.refresh_from_db()
    assert case.state == State.MEETING_CALLED
    # Model permissions (what the admin asks) are still the superuser's.
    assert root.has_perm("directory.change_assignment")


def test_the_admin_shows_no_person_or_plan_on_any_page(client, county, root):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    person = case.person
    plan = case.valid_plan()
    secrets = [
        person.given_name,
        person.family_name,
        person.identity_number,
        person.display_identity,
        plan.needs_today,
        plan.goals.first().text,
    ]
    client.force_login(root)
    seen = 0
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        changelist = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        assert changelist.status_code == 200, meta.label
        pages = [changelist]
        first = model_admin.get_queryset(changelist.wsgi_request).first()
        if first is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
            pages.append(client.get(change))
        for page in pages:
            seen += 1
            text = page.content.decode()
            for secret in secrets:
                assert secret not in text, (meta.label, page.request["PATH_INFO"], secret)
    assert seen >= 8


def test_the_async_permission_check_answers_by_the_rules_too(county, root):
    case = case_in_state(county, State.CONSENTED)
    assert async_to_sync(root.ahas_perm)("cases.drive", case) is False
    assert async_to_sync(county.alice.ahas_perm)("cases.drive", case) is True
    assert async_to_sync(root.ahas_perm)("directory.change_assignment") is True
