"""My SIPs (the start page of Min SIP) and the overview of one SIP: every SIP the citizen may see,
as far as their capacity reaches, what happens next, links only to what the capacity opens, a
constant number of queries, every row a logged read, and someone else's SIP never reached."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from samplan.access.citizen import Citizen
from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import Meeting, State
from samplan.people.identity import make_identity_number
from samplan.people.models import RelatedParty
from tests.citizens import sign_in_as_person, sign_in_citizen
from tests.factories import PersonFactory, case_in_state, complete_draft, minor, related_party_of

pytestmark = pytest.mark.django_db

HOME = "/mina-sidor/"


def number(serial: int) -> str:
    return make_identity_number(dt.date(1977, 8, 9), serial)


@pytest.fixture
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def case_url(case) -> str:
    return reverse("mypages:case", args=[case.pk])


def propose(county, case) -> None:
    draft = services.save_plan_draft(
        case, actor=county.alice, expected_version=None, data=complete_draft(county)
    )
    services.propose_plan(case, actor=county.alice, expected_version=draft.lock_version)


def test_home_is_at_mina_sidor_and_needs_a_sign_in(client):
    assert reverse("mypages:home") == HOME
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mypages:sign_in"))


def test_someone_with_no_sip_gets_a_friendly_page_that_explains_sip(english):
    sign_in_citizen(english, number(61), "Ny Person")
    response = english.get(HOME)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="no-sips"' in page
    assert "You have no SIP in Samplan right now." in page
    assert "A SIP is voluntary." in page
    assert f'href="{reverse("mypages:ask")}"' in page
    assert not AuditEvent.objects.filter(what="sip_case_list").exists()


def test_open_sips_come_first_and_closed_ones_apart(english, county):
    person = PersonFactory()
    old = case_in_state(county, State.CLOSED, person=person)
    current = case_in_state(county, State.PREPARATION, person=person)
    sign_in_as_person(english, current)
    response = english.get(HOME)
    page = response.content.decode()
    assert [s.case.pk for s in response.context["open_sips"]] == [current.pk]
    assert [s.case.pk for s in response.context["closed_sips"]] == [old.pk]
    assert page.index(case_url(current)) < page.index("Ended SIPs") < page.index(case_url(old))
    old.refresh_from_db()
    assert f"The SIP ended on {old.closed_at.astimezone(timezone.get_current_timezone()).day} " in (
        page
    )
    # Every row shown is a logged read, in the citizen's capacity.
    rows = AuditEvent.objects.filter(what="sip_case_list")
    assert sorted(r.case_id for r in rows) == sorted([old.pk, current.pk])
    assert {r.citizen_role for r in rows} == {"person"}


def test_a_guardian_sees_whose_sip_it_is_and_their_part_in_it(english, county):
    child = minor(given_name="Elias")
    case = case_in_state(county, State.PREPARATION, person=child)
    related_party_of(case, kind=RelatedParty.Kind.GUARDIAN, identity_number=number(62))
    sign_in_citizen(english, number(62))
    page = english.get(HOME).content.decode()
    assert f"SIP for Elias {child.family_name}" in page
    assert "You are Elias's guardian. You see everything and answer for Elias." in page


def test_a_relative_sees_what_they_were_granted_and_nothing_of_a_proposal(english, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED, person=PersonFactory(given_name="Gunnel"))
    propose(county, case)
    related_party_of(case, identity_number=number(63), may_see=RelatedParty.Sees.MEETINGS)
    sign_in_citizen(english, number(63))
    page = english.get(HOME).content.decode()
    assert "Gunnel lets you see: meeting times and places." in page
    assert "approval" not in page
    follow_up = case.valid_plan().follow_up_on
    assert f"followed up on {follow_up:%-d}" not in page  # the plan is not theirs to see
    assert "Nothing needs to be done right now." in page


def test_what_happens_next_follows_the_state_and_the_capacity(english, county):
    called = case_in_state(county, State.MEETING_CALLED)
    sign_in_as_person(english, called)
    meeting = Meeting.objects.get(case=called)
    when = timezone.localtime(meeting.starts_at)
    page = english.get(HOME).content.decode()
    assert f"SIP meeting on {when:%-d} {when:%B} at {when:%H:%M}." in page

    proposed = case_in_state(county, State.PLAN_ESTABLISHED)
    propose(county, proposed)
    sign_in_as_person(english, proposed)
    response = english.get(HOME)
    assert "A plan waits for your approval." in response.content.decode()
    assert f"{reverse('mypages:plan', args=[proposed.pk])}#proposal" in response.content.decode()


def test_the_home_page_makes_the_same_queries_for_one_sip_or_many(
    english, county, django_assert_max_num_queries
):
    person = PersonFactory()
    case = case_in_state(county, State.PLAN_ESTABLISHED, person=person)
    sign_in_as_person(english, case)
    english.get(HOME)  # the session settles on the first request
    with django_assert_max_num_queries(15) as one:
        english.get(HOME)
    case_in_state(county, State.MEETING_CALLED, person=person)
    case_in_state(county, State.CLOSED, person=person)
    propose(county, case)
    with django_assert_max_num_queries(15) as three:
        response = english.get(HOME)
    assert len(response.context["open_sips"]) == 2
    assert len(three.captured_queries) == len(one.captured_queries)


def test_the_overview_links_to_the_pages_the_person_may_open(
    english, county, django_assert_max_num_queries
):
    county.vardcentral.phone = "010-123 45 67"
    county.vardcentral.save()
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    sign_in_as_person(english, case)
    with django_assert_max_num_queries(15):
        response = english.get(case_url(case))
    assert response.status_code == 200
    page = response.content.decode()
    for name in (
        "plan",
        "meeting",
        "preferences",
        "consent",
        "follow_up",
        "log_extract",
        "end",
    ):
        assert f'href="{reverse(f"mypages:{name}", args=[case.pk])}"' in page, name
    assert "Vårdcentral Centrum" in page and 'href="tel:0101234567"' in page
    assert county.alice.get_full_name() in page
    read = AuditEvent.objects.get(case_id=case.pk, citizen_role="person")
    assert (read.action, read.what, read.outcome) == ("read", "sip_case", "allowed")


def test_a_relative_granted_the_plan_gets_only_the_plan_link(english, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    related_party_of(case, identity_number=number(64), may_see=RelatedParty.Sees.PLAN)
    sign_in_citizen(english, number(64))
    page = english.get(case_url(case)).content.decode()
    assert f'href="{reverse("mypages:plan", args=[case.pk])}"' in page
    for name in ("meeting", "preferences", "consent", "follow_up", "log_extract", "end"):
        assert reverse(f"mypages:{name}", args=[case.pk]) not in page, name


def test_a_young_person_with_their_own_view_steers_but_does_not_end_the_sip(english, county):
    child = minor(own_view=True)
    case = case_in_state(county, State.PLAN_ESTABLISHED, person=child)
    sign_in_as_person(english, case)
    page = english.get(case_url(case)).content.decode()
    assert reverse("mypages:follow_up", args=[case.pk]) in page
    assert reverse("mypages:end", args=[case.pk]) not in page
    assert "Your guardian approves the plan" in page


def test_a_closed_sip_can_be_read_but_not_ended(english, county):
    case = case_in_state(county, State.CLOSED)
    sign_in_as_person(english, case)
    response = english.get(case_url(case))
    assert response.status_code == 200
    page = response.content.decode()
    assert reverse("mypages:end", args=[case.pk]) not in page
    assert reverse("mypages:preferences", args=[case.pk]) not in page
    assert reverse("mypages:plan", args=[case.pk]) in page


def test_before_any_plan_there_is_no_plan_link(english, county):
    case = case_in_state(county, State.PREPARATION)
    sign_in_as_person(english, case)
    page = english.get(case_url(case)).content.decode()
    assert reverse("mypages:plan", args=[case.pk]) not in page
    assert reverse("mypages:preferences", args=[case.pk]) in page
    assert "Next: the meeting is prepared, and everyone is invited." in page


def test_someone_elses_sip_is_a_404_whether_it_exists_or_not_and_it_is_logged(client, county):
    case = case_in_state(county, State.PREPARATION)
    sign_in_citizen(client, number(65))
    assert client.get(case_url(case)).status_code == 404
    assert client.get(reverse("mypages:case", args=[case.pk + 999])).status_code == 404
    refused = AuditEvent.objects.filter(
        outcome=AuditEvent.Outcome.REFUSED, username=Citizen(number(65)).log_name
    ).order_by("seq")
    assert [r.case_id for r in refused] == [case.pk, None]


def test_a_sip_asked_for_without_a_coordinator_says_the_unit_will_call(english, county):
    case = case_in_state(county, State.INITIATED)
    type(case).objects.filter(pk=case.pk).update(coordinator=None)
    sign_in_as_person(english, case)
    page = english.get(case_url(case)).content.decode()
    assert "No SIP coordinator has been chosen yet. The unit will contact you." in page
    assert "Next: you get information about what a SIP is." in page


# --- A young person whose guardians see the SIP for them (review finding 8) ---------------------


def child_under_15():
    birth = timezone.localdate() - dt.timedelta(days=10 * 365)
    return PersonFactory(identity_number=make_identity_number(birth, 41), birth_date=birth)


@pytest.mark.parametrize("young", ["under_15", "15_without_own_view"])
def test_a_young_person_without_their_own_view_is_told_their_guardians_see_the_sip(
    english, county, young, django_assert_max_num_queries
):
    child = child_under_15() if young == "under_15" else minor(own_view=False)
    case_in_state(county, State.PREPARATION, person=child)
    sign_in_citizen(english, child.identity_number, child.full_name)
    # 9: one of them is read-only mode's state, read once per request (maintenance/).
    with django_assert_max_num_queries(9):
        response = english.get(HOME)
    page = response.content.decode()
    assert 'data-testid="guardians-see"' in page
    assert "Your guardians see your SIP for you." in page
    assert "You have no SIP in Samplan right now." not in page
    assert f'href="{reverse("mypages:ask")}"' not in page
    assert "Vårdcentral Centrum" not in page  # nothing of the SIP itself


def test_a_young_person_without_a_sip_or_with_their_own_view_gets_the_usual_page(english, county):
    no_sip = child_under_15()
    sign_in_citizen(english, no_sip.identity_number)
    page = english.get(HOME).content.decode()
    assert "You have no SIP in Samplan right now." in page
    assert 'data-testid="guardians-see"' not in page
    own = minor(own_view=True)
    case = case_in_state(county, State.PREPARATION, person=own)
    sign_in_as_person(english, case)
    page = english.get(HOME).content.decode()
    assert case_url(case) in page and 'data-testid="guardians-see"' not in page
