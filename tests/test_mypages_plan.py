"""My plan in Min SIP: the valid plan in plain words with who to call, earlier versions, the
printable copy, and the person's answer to a proposal (approve_plan, request_plan_change): who
may answer, that the answer is to exactly the version read, and what staff then see."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from samplan.access.citizen import Citizen
from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import CaseEvent, PlanVersion, State
from samplan.errors import DomainError, PermissionRefused, StaleEdit
from samplan.people.identity import make_identity_number
from samplan.people.models import RelatedParty
from tests.citizens import sign_in_as_person, sign_in_citizen
from tests.factories import (
    case_in_state,
    complete_draft,
    minor,
    ready_to_establish,
    related_party_of,
)

pytestmark = pytest.mark.django_db

NEW_GOAL = "Jag vill kunna cykla till jobbet."


def number(serial: int) -> str:
    return make_identity_number(dt.date(1975, 3, 3), serial)


def capacity_of(identity_number: str, case, name: str = "Gunnel Exempel"):
    return Citizen(identity_number, name).capacities()[case.pk]


def proposed(county, state=State.MEETING_CALLED, *, person=None, meeting_started=True, **draft):
    """A case with a complete draft put before the person. In MEETING_CALLED the meeting has
    started (unless told otherwise); in PLAN_ESTABLISHED the draft is version 2 with a new goal
    and a new intervention."""
    case = case_in_state(county, state, person=person)
    if state == State.MEETING_CALLED and meeting_started:
        ready_to_establish(case, county.alice)
    if state == State.PLAN_ESTABLISHED and not draft:
        draft = {
            "goals": ["Jag vill kunna gå till affären själv till sommaren.", NEW_GOAL],
            "interventions": [
                *complete_draft(county).interventions,
                services.InterventionData(
                    description="Sjukgymnastik varje vecka",
                    unit=county.vardcentral,
                    contact_name="Sara Ek",
                    starts_on=timezone.localdate(),
                    ends_on=timezone.localdate() + dt.timedelta(weeks=10),
                ),
            ],
        }
    saved = services.save_plan_draft(
        case, actor=county.alice, expected_version=None, data=complete_draft(county, **draft)
    )
    services.propose_plan(case, actor=county.alice, expected_version=saved.lock_version)
    return case


def proposal_of(case) -> PlanVersion:
    return case.plan_versions.get(status=PlanVersion.Status.DRAFT)


@pytest.fixture
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


# --- The services ---------------------------------------------------------------------------


def test_the_person_approves_the_proposal_and_it_becomes_their_valid_plan(county):
    case = proposed(county)
    draft = proposal_of(case)
    capacity = capacity_of(case.person.identity_number, case, "Gunnel Exempel")
    plan = services.approve_plan(case, actor=capacity, expected_version=draft.lock_version)
    plan.refresh_from_db()
    case.refresh_from_db()
    assert plan.status == PlanVersion.Status.VALID
    assert (plan.approved_by, plan.approved_by_name) == ("person", "Gunnel Exempel")
    assert plan.approved_digitally is True
    assert plan.established_by_id is None
    assert plan.approved_at is not None
    assert case.state == State.PLAN_ESTABLISHED
    event = CaseEvent.objects.get(case=case, action="approve_plan")
    assert (event.actor_id, event.citizen_role, event.note) == (None, "person", "v1")
    change = AuditEvent.objects.get(case_id=case.pk, action="change", citizen_role="person")
    assert (change.user_id, change.what, change.person_id) == (None, "plan", case.person_id)


def test_a_new_version_approved_in_min_sip_supersedes_the_old_one(county):
    case = proposed(county, State.PLAN_ESTABLISHED)
    old = case.valid_plan()
    draft = proposal_of(case)
    services.approve_plan(
        case,
        actor=capacity_of(case.person.identity_number, case),
        expected_version=draft.lock_version,
    )
    old.refresh_from_db()
    assert old.status == PlanVersion.Status.SUPERSEDED
    assert case.valid_plan().pk == draft.pk
    assert [g.text for g in case.valid_plan().goals.all()][-1] == NEW_GOAL


def test_a_guardian_approves_for_a_child_in_their_own_name(county):
    child = minor()
    case = proposed(county, person=child)
    related_party_of(
        case, kind=RelatedParty.Kind.GUARDIAN, identity_number=number(51), name="Mamma Exempel"
    )
    services.approve_plan(
        case,
        actor=capacity_of(number(51), case, "M. Exempel"),
        expected_version=proposal_of(case).lock_version,
    )
    plan = case.valid_plan()
    assert (plan.approved_by, plan.approved_by_name, plan.approved_digitally) == (
        "guardian",
        "Mamma Exempel",
        True,
    )
    assert CaseEvent.objects.get(action="approve_plan").citizen_role == "guardian"


def test_a_god_man_whose_mandate_covers_it_approves_as_legal_representative(county):
    case = proposed(county)
    related_party_of(
        case,
        kind=RelatedParty.Kind.GOD_MAN,
        identity_number=number(52),
        name="Gode Man",
        may_act=True,
    )
    services.approve_plan(
        case, actor=capacity_of(number(52), case), expected_version=proposal_of(case).lock_version
    )
    assert case.valid_plan().approved_by == PlanVersion.ApprovedBy.LEGAL_REPRESENTATIVE


def test_the_persons_registered_name_is_used_when_the_identity_provider_gave_none(county):
    case = proposed(county)
    services.approve_plan(
        case,
        actor=capacity_of(case.person.identity_number, case, ""),
        expected_version=proposal_of(case).lock_version,
    )
    assert case.valid_plan().approved_by_name == case.person.full_name


def test_a_draft_not_proposed_cannot_be_approved(county):
    case = case_in_state(county, State.MEETING_CALLED)
    ready_to_establish(case, county.alice)
    draft = services.save_plan_draft(
        case, actor=county.alice, expected_version=None, data=complete_draft(county)
    )
    with pytest.raises(DomainError) as refused:
        services.approve_plan(
            case,
            actor=capacity_of(case.person.identity_number, case),
            expected_version=draft.lock_version,
        )
    assert refused.value.code == "not_proposed"
    assert case.valid_plan() is None
    assert not CaseEvent.objects.filter(action="approve_plan").exists()


def test_approving_twice_is_refused_and_only_one_approval_is_recorded(county):
    case = proposed(county)
    capacity = capacity_of(case.person.identity_number, case)
    version = proposal_of(case).lock_version
    services.approve_plan(case, actor=capacity, expected_version=version)
    with pytest.raises(DomainError) as refused:
        services.approve_plan(case, actor=capacity, expected_version=version)
    assert refused.value.code == "nothing_proposed"
    assert CaseEvent.objects.filter(action="approve_plan").count() == 1


def test_a_proposal_changed_since_it_was_read_is_stale_and_the_newer_one_is_given(county):
    case = proposed(county)
    read = proposal_of(case).lock_version
    # The coordinator changes the draft and proposes it again: the person has not seen this one.
    saved = services.save_plan_draft(
        case,
        actor=county.alice,
        expected_version=read,
        data=complete_draft(county, needs_today="Ny text"),
    )
    services.propose_plan(case, actor=county.alice, expected_version=saved.lock_version)
    with pytest.raises(StaleEdit) as stale:
        services.approve_plan(
            case, actor=capacity_of(case.person.identity_number, case), expected_version=read
        )
    assert stale.value.current.needs_today == "Ny text"
    assert case.valid_plan() is None


def test_staff_can_never_approve_a_plan_in_the_persons_place(county):
    case = proposed(county)
    with pytest.raises(PermissionRefused):
        services.approve_plan(
            case, actor=county.alice, expected_version=proposal_of(case).lock_version
        )
    assert case.valid_plan() is None
    refused = AuditEvent.objects.get(outcome=AuditEvent.Outcome.REFUSED, what="plan")
    assert refused.user_id == county.alice.pk


@pytest.mark.parametrize("who", ["relative", "young_person"])
def test_a_relative_or_a_young_person_with_their_own_view_cannot_approve(county, who):
    if who == "relative":
        case = proposed(county)
        related_party_of(case, identity_number=number(53), may_see=RelatedParty.Sees.EVERYTHING)
        capacity = capacity_of(number(53), case)
    else:
        child = minor(own_view=True)
        case = proposed(county, person=child)
        capacity = capacity_of(child.identity_number, case)
    version = proposal_of(case).lock_version
    for call in (
        lambda: services.approve_plan(case, actor=capacity, expected_version=version),
        lambda: services.request_plan_change(
            case, actor=capacity, expected_version=version, text="Ändra"
        ),
    ):
        with pytest.raises(PermissionRefused):
            call()
    draft = proposal_of(case)
    assert (draft.lock_version, draft.change_request, case.valid_plan()) == (version, "", None)
    assert AuditEvent.objects.filter(outcome=AuditEvent.Outcome.REFUSED).count() == 2


def test_before_the_meeting_has_started_the_person_is_told_when_they_can_approve(county):
    case = proposed(county, meeting_started=False)
    with pytest.raises(DomainError) as refused:
        services.approve_plan(
            case,
            actor=capacity_of(case.person.identity_number, case),
            expected_version=proposal_of(case).lock_version,
        )
    assert refused.value.code == "meeting_not_started"
    assert refused.value.en == (
        "You can approve the plan once the meeting has started. You go through it together then."
    )
    assert case.valid_plan() is None


def test_a_proposal_that_no_longer_holds_every_part_cannot_be_approved(county):
    case = proposed(county)
    PlanVersion.objects.filter(pk=proposal_of(case).pk).update(
        follow_up_on=timezone.localdate() - dt.timedelta(days=1)
    )
    with pytest.raises(DomainError) as refused:
        services.approve_plan(
            case,
            actor=capacity_of(case.person.identity_number, case),
            expected_version=proposal_of(case).lock_version,
        )
    assert refused.value.code == "plan_incomplete"
    assert "The follow-up date lies in the past" in refused.value.en


def test_asking_for_changes_withdraws_the_proposal_and_keeps_the_words(county):
    case = proposed(county)
    draft = proposal_of(case)
    services.request_plan_change(
        case,
        actor=capacity_of(case.person.identity_number, case),
        expected_version=draft.lock_version,
        text="  Jag vill ha hemtjänst även på lunchen.  ",
    )
    draft.refresh_from_db()
    assert draft.change_request == "Jag vill ha hemtjänst även på lunchen."
    assert draft.change_requested_at is not None
    assert draft.proposed_at is None
    event = CaseEvent.objects.get(action="request_plan_change")
    assert (event.citizen_role, event.note) == (
        "person",
        "v1: Jag vill ha hemtjänst även på lunchen.",
    )
    case.refresh_from_db()
    assert case.state == State.MEETING_CALLED


@pytest.mark.parametrize(
    ("text", "code"), [("   ", "required"), ("x" * 2001, "too_long")], ids=["empty", "long"]
)
def test_a_change_request_needs_words_and_at_most_2000_characters(county, text, code):
    case = proposed(county)
    draft = proposal_of(case)
    with pytest.raises(DomainError) as refused:
        services.request_plan_change(
            case,
            actor=capacity_of(case.person.identity_number, case),
            expected_version=draft.lock_version,
            text=text,
        )
    assert (refused.value.code, refused.value.field) == (code, "text")
    draft.refresh_from_db()
    assert draft.proposed_at is not None


def test_changes_can_be_asked_for_only_while_a_proposal_waits(county):
    case = proposed(county)
    capacity = capacity_of(case.person.identity_number, case)
    draft = proposal_of(case)
    services.request_plan_change(
        case, actor=capacity, expected_version=draft.lock_version, text="Fler mål"
    )
    draft.refresh_from_db()
    with pytest.raises(DomainError) as refused:
        services.request_plan_change(
            case, actor=capacity, expected_version=draft.lock_version, text="Igen"
        )
    assert refused.value.code == "not_proposed"


def test_the_request_stays_in_view_while_the_draft_is_reworked_until_the_next_proposal(county):
    case = proposed(county)
    draft = proposal_of(case)
    services.request_plan_change(
        case,
        actor=capacity_of(case.person.identity_number, case),
        expected_version=draft.lock_version,
        text="Fler besök",
    )
    draft.refresh_from_db()
    saved = services.save_plan_draft(
        case,
        actor=county.alice,
        expected_version=draft.lock_version,
        data=complete_draft(county, needs_today="Omarbetad"),
    )
    assert (saved.change_request, saved.proposed_at) == ("Fler besök", None)
    services.propose_plan(case, actor=county.alice, expected_version=saved.lock_version)
    saved.refresh_from_db()
    assert (saved.change_request, saved.change_requested_at) == ("", None)
    # The words stay in the timeline.
    assert CaseEvent.objects.get(action="request_plan_change").note == "v1: Fler besök"


def test_staff_still_establish_a_plan_with_an_approval_given_at_the_meeting(county):
    case = proposed(county)
    plan = services.establish_plan(
        case,
        actor=county.alice,
        expected_version=proposal_of(case).lock_version,
        approved_by=PlanVersion.ApprovedBy.PERSON,
        approved_by_name="Gunnel",
    )
    assert (plan.approved_digitally, plan.established_by_id) == (False, county.alice.pk)


# --- The pages ------------------------------------------------------------------------------


def plan_url(case) -> str:
    return reverse("mypages:plan", args=[case.pk])


def test_signing_in_is_needed(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    response = client.get(plan_url(case))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mypages:sign_in"))


def test_the_plan_says_who_does_what_and_who_to_call(
    english, county, django_assert_max_num_queries
):
    county.hemtjanst.phone = "0123-456 78"
    county.hemtjanst.save()
    county.vardcentral.phone = "0123-111 22"
    county.vardcentral.save()
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    sign_in_as_person(english, case)
    with django_assert_max_num_queries(15):
        response = english.get(plan_url(case))
    assert response.status_code == 200
    page = response.content.decode()
    assert "An insats is help or support you get" in page
    who_to_call = response.context["page"].valid.interventions.all()[0]
    assert who_to_call.contact_name == "Lena Berg"
    assert "Lena Berg, Hemtjänst Norr" in page
    assert 'href="tel:012345678"' in page
    assert "Vårdcentral Centrum" in page and 'href="tel:012311122"' in page
    follow_up = case.valid_plan().follow_up_on
    assert f"Everyone meets again on {follow_up.day} " in page
    assert "Gå med rollatorn dagligen." in page  # what is expected of me
    assert "Dottern handlar varje vecka." in page  # of my family
    assert "Jag vill kunna gå till affären själv till sommaren." in page
    assert "A copy to print" in page
    read = AuditEvent.objects.filter(case_id=case.pk, action="read", what="plan")
    assert read.get().citizen_role == "person"


def test_nothing_to_read_before_a_plan_is_made(english, county):
    case = case_in_state(county, State.PREPARATION)
    sign_in_as_person(english, case)
    response = english.get(plan_url(case))
    assert response.status_code == 200
    assert b'data-testid="no-plan"' in response.content


def test_a_proposal_waits_for_the_persons_answer_with_what_is_new(
    english, county, django_assert_max_num_queries
):
    case = proposed(county, State.PLAN_ESTABLISHED)
    sign_in_as_person(english, case)
    with django_assert_max_num_queries(15):
        response = english.get(plan_url(case))
    page = response.content.decode()
    assert 'data-testid="plan-proposal"' in page
    assert "When you approve, this becomes your plan." in page
    assert reverse("mypages:approve_plan", args=[case.pk]) in page
    assert reverse("mypages:request_change", args=[case.pk]) in page
    changes = response.context["page"].changes
    assert changes.goals_added == [NEW_GOAL]
    assert changes.interventions_added == ["Sjukgymnastik varje vecka"]
    assert changes.goals_removed == [] and changes.interventions_removed == []
    assert f"New goal: {NEW_GOAL}" in page
    assert "The plan that applies now" in page
    version = proposal_of(case).lock_version
    assert f'name="version" value="{version}"' in page


def test_approving_on_the_page_makes_it_the_plan(english, county):
    case = proposed(county)
    sign_in_as_person(english, case)
    version = proposal_of(case).lock_version
    response = english.post(
        reverse("mypages:approve_plan", args=[case.pk]), {"version": version}, follow=True
    )
    assert response.redirect_chain[-1][0] == plan_url(case)
    assert "You have approved the plan. It is now your plan." in response.content.decode()
    plan = case.valid_plan()
    assert plan.approved_digitally and plan.approved_by == "person"
    assert b'data-testid="plan-proposal"' not in response.content


def test_approving_a_proposal_changed_meanwhile_says_so_and_shows_the_newer_one(english, county):
    case = proposed(county)
    sign_in_as_person(english, case)
    read = proposal_of(case).lock_version
    saved = services.save_plan_draft(
        case,
        actor=county.alice,
        expected_version=read,
        data=complete_draft(county, goals=["Ett nytt mål från samordnaren"]),
    )
    services.propose_plan(case, actor=county.alice, expected_version=saved.lock_version)
    response = english.post(reverse("mypages:approve_plan", args=[case.pk]), {"version": read})
    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone else saved changes since you opened the page." in page
    assert "Ett nytt mål från samordnaren" in page
    newer = proposal_of(case).lock_version
    assert f'name="version" value="{newer}"' in page
    assert case.valid_plan() is None


def test_approving_a_proposal_taken_back_says_it_comes_back_when_ready(english, county):
    case = proposed(county)
    sign_in_as_person(english, case)
    read = proposal_of(case).lock_version
    services.save_plan_draft(
        case, actor=county.alice, expected_version=read, data=complete_draft(county)
    )
    response = english.post(reverse("mypages:approve_plan", args=[case.pk]), {"version": read})
    assert response.status_code == 409
    assert b'data-testid="proposal-withdrawn"' in response.content
    assert b'data-testid="plan-proposal"' not in response.content
    assert case.valid_plan() is None


def test_approving_before_the_meeting_has_started_explains_why(english, county):
    case = proposed(county, meeting_started=False)
    sign_in_as_person(english, case)
    response = english.post(
        reverse("mypages:approve_plan", args=[case.pk]),
        {"version": proposal_of(case).lock_version},
    )
    assert response.status_code == 400
    assert "You can approve the plan once the meeting has started." in response.content.decode()
    assert case.valid_plan() is None


def test_a_relative_granted_the_plan_sees_only_the_valid_plan_and_cannot_approve(english, county):
    case = proposed(county, State.PLAN_ESTABLISHED)
    related_party_of(case, identity_number=number(54), may_see=RelatedParty.Sees.PLAN)
    sign_in_citizen(english, number(54))
    response = english.get(plan_url(case))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Hemtjänst morgon och kväll" in page
    assert 'data-testid="plan-proposal"' not in page
    assert NEW_GOAL not in page
    assert reverse("mypages:approve_plan", args=[case.pk]) not in page
    version = proposal_of(case).lock_version
    refused = english.post(reverse("mypages:approve_plan", args=[case.pk]), {"version": version})
    assert refused.status_code == 403
    assert proposal_of(case).proposed_at is not None
    assert case.valid_plan().number == 1
    old = english.get(reverse("mypages:plan_version", args=[case.pk, 1]))
    assert old.status_code == 404


def test_a_relative_granted_meetings_only_does_not_reach_the_plan(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    related_party_of(case, identity_number=number(55), may_see=RelatedParty.Sees.MEETINGS)
    sign_in_citizen(client, number(55))
    assert client.get(plan_url(case)).status_code == 404
    assert client.get(reverse("mypages:plan_print", args=[case.pk])).status_code == 404


def test_someone_elses_plan_is_never_reached(client, county):
    case = proposed(county)
    sign_in_citizen(client, number(56))
    version = proposal_of(case).lock_version
    for response in (
        client.get(plan_url(case)),
        client.post(reverse("mypages:approve_plan", args=[case.pk]), {"version": version}),
        client.post(reverse("mypages:request_change", args=[case.pk]), {"version": version}),
        client.get(reverse("mypages:plan_print", args=[case.pk])),
    ):
        assert response.status_code == 404
    assert proposal_of(case).proposed_at is not None
    assert (
        AuditEvent.objects.filter(
            case_id=case.pk,
            outcome=AuditEvent.Outcome.REFUSED,
            username=Citizen(number(56)).log_name,
        ).count()
        == 4
    )


def test_a_young_person_with_their_own_view_reads_the_proposal_their_guardian_approves(
    english, county
):
    child = minor(own_view=True)
    case = proposed(county, person=child)
    sign_in_as_person(english, case)
    response = english.get(plan_url(case))
    page = response.content.decode()
    assert 'data-testid="plan-proposal"' in page
    assert "Your guardian approves the plan." in page
    assert reverse("mypages:approve_plan", args=[case.pk]) not in page
    refused = english.post(
        reverse("mypages:approve_plan", args=[case.pk]),
        {"version": proposal_of(case).lock_version},
    )
    assert refused.status_code == 403
    assert case.valid_plan() is None


def test_asking_for_changes_on_the_page(english, county, django_assert_max_num_queries):
    case = proposed(county)
    sign_in_as_person(english, case)
    url = reverse("mypages:request_change", args=[case.pk])
    with django_assert_max_num_queries(15):
        form = english.get(url)
    assert form.status_code == 200
    assert b'name="text"' in form.content
    version = proposal_of(case).lock_version
    empty = english.post(url, {"version": version, "text": "  "})
    assert empty.status_code == 400
    assert "Write what you want changed." in empty.content.decode()
    too_long = english.post(url, {"version": version, "text": "y" * 2001})
    assert too_long.status_code == 400
    assert "y" * 2001 in too_long.content.decode()  # what was typed stays
    done = english.post(url, {"version": version, "text": "Mer tid med sjukgymnast"}, follow=True)
    assert done.redirect_chain[-1][0] == plan_url(case)
    page = done.content.decode()
    assert "Your SIP coordinator has your request" in page
    assert 'data-testid="plan-change-asked"' in page and "Mer tid med sjukgymnast" in page
    assert proposal_of(case).proposed_at is None


def test_asking_for_changes_to_a_proposal_changed_meanwhile_keeps_the_words(english, county):
    case = proposed(county)
    sign_in_as_person(english, case)
    read = proposal_of(case).lock_version
    saved = services.save_plan_draft(
        case,
        actor=county.alice,
        expected_version=read,
        data=complete_draft(county, needs_today="Uppdaterade behov"),
    )
    services.propose_plan(case, actor=county.alice, expected_version=saved.lock_version)
    response = english.post(
        reverse("mypages:request_change", args=[case.pk]),
        {"version": read, "text": "Mina egna ord"},
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "Mina egna ord" in page
    assert "Uppdaterade behov" in page
    assert f'name="version" value="{proposal_of(case).lock_version}"' in page
    assert proposal_of(case).change_request == ""


def test_an_earlier_version_is_marked_old(english, county):
    case = proposed(county, State.PLAN_ESTABLISHED)
    sign_in_as_person(english, case)
    services.approve_plan(
        case,
        actor=capacity_of(case.person.identity_number, case),
        expected_version=proposal_of(case).lock_version,
    )
    plan = english.get(plan_url(case))
    assert reverse("mypages:plan_version", args=[case.pk, 1]) in plan.content.decode()
    old = english.get(reverse("mypages:plan_version", args=[case.pk, 1]))
    assert old.status_code == 200
    assert "This is an old version. It no longer applies." in old.content.decode()
    assert NEW_GOAL not in old.content.decode()
    current = english.get(reverse("mypages:plan_version", args=[case.pk, 2]))
    assert b'data-testid="old-version"' not in current.content
    assert english.get(reverse("mypages:plan_version", args=[case.pk, 3])).status_code == 404


def test_a_draft_is_never_shown_as_a_version(client, county):
    case = proposed(county)
    sign_in_as_person(client, case)
    number_of_draft = proposal_of(case).number
    response = client.get(reverse("mypages:plan_version", args=[case.pk, number_of_draft]))
    assert response.status_code == 404


def test_the_printable_copy_has_no_navigation_and_is_logged_as_printed(english, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    sign_in_as_person(english, case)
    response = english.get(reverse("mypages:plan_print", args=[case.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "samplan-header" not in page and "Sign out" not in page
    assert "Hemtjänst morgon och kväll" in page
    printed = AuditEvent.objects.get(action=AuditEvent.Action.PRINT)
    assert (printed.case_id, printed.person_id, printed.citizen_role) == (
        case.pk,
        case.person_id,
        "person",
    )


def test_the_staff_case_page_shows_a_plan_approved_in_min_sip_and_a_change_request(client, county):
    case = proposed(county)
    services.request_plan_change(
        case,
        actor=capacity_of(case.person.identity_number, case),
        expected_version=proposal_of(case).lock_version,
        text="Fler promenader",
    )
    client.force_login(county.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    assert "The person asked for changes" in page and "Fler promenader" in page
    draft = proposal_of(case)
    draft = services.propose_plan(case, actor=county.alice, expected_version=draft.lock_version)
    services.approve_plan(
        case,
        actor=capacity_of(case.person.identity_number, case),
        expected_version=draft.lock_version,
    )
    page = client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    assert 'data-testid="approved-digitally"' in page
    assert "Approved in Min SIP" in page
