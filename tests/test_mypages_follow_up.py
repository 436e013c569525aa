"""Min SIP, my own follow-up: the person (or one acting for them) rates how each goal of the valid
plan is going on a scale with pictures and words and may comment; every answer is a new row, the
latest is shown; only while the plan is established or followed up; and staff see the person's
latest rating beside their own evaluation at the follow-up."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import CaseEvent, GoalRating, Meeting, PlanVersion, State
from samplan.errors import DomainError, PermissionRefused
from samplan.people.identity import make_identity_number
from samplan.people.models import RelatedParty
from tests.citizens import sign_in_as_person, sign_in_citizen
from tests.factories import case_in_state, complete_draft, future, minor, related_party_of

pytestmark = pytest.mark.django_db

GOALS = [
    "Jag vill kunna gå till affären själv till sommaren.",
    "Jag vill träffa mina barnbarn varje vecka.",
]


def planned_case(county, *, goals=GOALS, person=None):
    """A SIP whose plan with these goals is established (the meeting moved an hour back: the
    services call meetings ahead only)."""
    case = case_in_state(county, State.MEETING_CALLED, person=person)
    Meeting.objects.filter(case=case).update(starts_at=timezone.now() - dt.timedelta(hours=1))
    draft = services.save_plan_draft(
        case,
        actor=county.alice,
        expected_version=None,
        data=complete_draft(county, goals=list(goals)),
    )
    minor_person = case.person.is_minor
    services.establish_plan(
        case,
        actor=county.alice,
        expected_version=draft.lock_version,
        approved_by=PlanVersion.ApprovedBy.GUARDIAN
        if minor_person
        else PlanVersion.ApprovedBy.PERSON,
        approved_by_name="Gunnel",
    )
    case.refresh_from_db()
    return case


def goals_of(case):
    return list(case.valid_plan().goals.all())


def url(case) -> str:
    return reverse("mypages:follow_up", args=[case.pk])


def english(client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def group_of(html: str, field: str) -> str:
    """The HTML from a field's form group to the next goal's section (or the end)."""
    start = html.index(f'id="id_{field}')
    begin = html.rfind('<div class="govuk-form-group', 0, start)
    end = html.find("</fieldset>", start)
    end = html.find("</div>", start) if end == -1 else end
    return html[begin:end]


# --- Rating -------------------------------------------------------------------------------------


def test_the_person_rates_a_goal_and_it_is_added_timelined_and_audited(client, county):
    case = planned_case(county)
    first, second = goals_of(case)
    sign_in_as_person(client, case)
    english(client)

    page = client.get(url(case))
    html = page.content.decode()
    assert page.status_code == 200
    assert first.text in html and second.text in html
    for words in ("Very badly", "Badly", "So-so", "Well", "Very well"):
        assert f"</svg> {words}</label>" in html  # the words are the label, beside the face
    assert html.count('<svg class="samplan-rating__face" aria-hidden="true"') == 10
    assert html.count(f'name="goal_{first.pk}_rating" type="radio"') == 5

    response = client.post(
        url(case), {f"goal_{first.pk}_rating": "4", f"goal_{first.pk}_comment": "Bättre nu."}
    )
    assert response.status_code == 302
    rating = GoalRating.objects.get()
    assert (rating.goal_id, rating.rating, rating.comment) == (first.pk, 4, "Bättre nu.")
    assert (rating.rated_by_role, rating.rated_by_party_id, rating.meeting_id) == (
        "person",
        None,
        None,
    )
    event = CaseEvent.objects.get(case=case, action="rate_goals")
    assert (event.actor_id, event.citizen_role) == (None, "person")
    change = AuditEvent.objects.get(action=AuditEvent.Action.CHANGE, what="goal_rating")
    assert (change.case_id, change.person_id, change.citizen_role, change.user_id) == (
        case.pk,
        case.person_id,
        "person",
        None,
    )
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.READ, what="goal_rating", case=case, citizen_role="person"
    ).exists()

    html = client.get(url(case)).content.decode()
    assert "Thank you. Your answers are saved" in html
    latest = re.findall(r'data-testid="latest-rating">(.*?)</div>', html, re.S)
    assert len(latest) == 1
    assert "Latest answer: Well" in latest[0] and "by you" in latest[0]
    assert "Bättre nu." in latest[0]


def test_answering_again_adds_a_row_and_the_latest_is_shown(client, county):
    case = planned_case(county)
    first, _second = goals_of(case)
    sign_in_as_person(client, case)
    english(client)
    client.post(url(case), {f"goal_{first.pk}_rating": "2"})
    client.post(
        url(case), {f"goal_{first.pk}_rating": "5", f"goal_{first.pk}_comment": "Nu går det!"}
    )

    assert list(GoalRating.objects.order_by("pk").values_list("rating", flat=True)) == [2, 5]
    html = client.get(url(case)).content.decode()
    assert "Latest answer: Very well" in html
    assert "Latest answer: Badly" not in html
    with pytest.raises(DomainError):
        rating = GoalRating.objects.first()
        rating.rating = 1
        rating.save()  # append-only


def test_at_a_follow_up_the_rating_belongs_to_the_follow_up_meeting(client, county):
    case = planned_case(county)
    meeting = services.call_follow_up(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=future(14), duration_minutes=45, place="Hemma", units=[county.hemtjanst]
        ),
    )
    first, _second = goals_of(case)
    sign_in_as_person(client, case)
    english(client)
    html = client.get(url(case)).content.decode()
    assert "The follow-up meeting is on" in html

    client.post(url(case), {f"goal_{first.pk}_rating": "3"})
    assert GoalRating.objects.get().meeting_id == meeting.pk


def test_a_comment_without_a_rating_is_named_at_its_field_and_what_was_typed_stays(client, county):
    case = planned_case(county)
    first, second = goals_of(case)
    sign_in_as_person(client, case)
    english(client)

    response = client.post(
        url(case),
        {
            f"goal_{first.pk}_rating": "4",
            f"goal_{second.pk}_comment": "Jag hinner inte träffa dem.",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert not GoalRating.objects.exists()
    assert 'class="govuk-error-summary"' in html
    assert f'href="#id_goal_{second.pk}_rating_0"' in html  # the summary links to the field
    group = group_of(html, f"goal_{second.pk}_rating")
    assert "Choose how goal 2" in group and "is going" in group
    assert "Jag hinner inte träffa dem.</textarea>" in html
    assert re.search(rf'name="goal_{first.pk}_rating" type="radio" value="4" checked', html)


def test_the_same_error_reads_in_swedish_by_default(client, county):
    case = planned_case(county)
    _first, second = goals_of(case)
    sign_in_as_person(client, case)
    response = client.post(url(case), {f"goal_{second.pk}_comment": "Svårt."})
    assert response.status_code == 400
    assert "Välj hur det går med mål 2" in response.content.decode()


def test_nothing_chosen_or_a_value_off_the_scale_is_refused(client, county):
    case = planned_case(county)
    first, _second = goals_of(case)
    sign_in_as_person(client, case)
    english(client)

    nothing = client.post(url(case), {})
    assert nothing.status_code == 400
    assert "Choose how at least one of the goals is going." in nothing.content.decode()
    off_scale = client.post(url(case), {f"goal_{first.pk}_rating": "9"})
    assert off_scale.status_code == 400
    assert f"id_goal_{first.pk}_rating-error" in off_scale.content.decode()
    assert not GoalRating.objects.exists()
    assert not CaseEvent.objects.filter(action="rate_goals").exists()


def test_a_comment_longer_than_2000_characters_is_refused_at_its_field(client, county):
    case = planned_case(county)
    first, _second = goals_of(case)
    sign_in_as_person(client, case)
    english(client)
    response = client.post(
        url(case), {f"goal_{first.pk}_rating": "3", f"goal_{first.pk}_comment": "x" * 2001}
    )
    assert response.status_code == 400
    assert f"id_goal_{first.pk}_comment-error" in response.content.decode()
    assert not GoalRating.objects.exists()
    with pytest.raises(DomainError) as error:
        services.rate_goals(
            case,
            actor=sign_in_as_person(client, case).capacities()[case.pk],
            ratings=[(first.pk, 3, "x" * 2001)],
        )
    assert error.value.field == f"goal_{first.pk}_comment"


# --- When it cannot be done ---------------------------------------------------------------------


def test_before_the_plan_the_page_says_so_and_a_post_is_refused(client, county):
    case = case_in_state(county, State.PREPARATION)
    sign_in_as_person(client, case)
    english(client)
    page = client.get(url(case))
    assert page.status_code == 200
    assert "once the plan is in place" in page.content.decode()
    assert "Send my answers" not in page.content.decode()

    refused = client.post(url(case), {"goal_1_rating": "3"})
    assert refused.status_code == 400
    assert not GoalRating.objects.exists()


def test_after_the_sip_ended_the_latest_answers_stay_readable_but_none_are_taken(client, county):
    case = planned_case(county)
    first, _second = goals_of(case)
    sign_in_as_person(client, case)
    english(client)
    client.post(url(case), {f"goal_{first.pk}_rating": "4", f"goal_{first.pk}_comment": "Bra."})
    services.close_case(
        case, actor=county.alice, expected_version=case.lock_version, reason="goals_reached"
    )

    html = client.get(url(case)).content.decode()
    assert "This SIP has ended" in html
    assert "Latest answer: Well" in html
    assert "Send my answers" not in html
    refused = client.post(url(case), {f"goal_{first.pk}_rating": "1"})
    assert refused.status_code == 400
    assert "The SIP is closed" in refused.content.decode()
    assert GoalRating.objects.count() == 1


# --- Who may rate -------------------------------------------------------------------------------


def test_a_guardian_rates_for_a_child_and_the_rating_says_so(client, county):
    case = planned_case(county, person=minor())
    first, _second = goals_of(case)
    number = make_identity_number(dt.date(1980, 2, 2), 61)
    mother = related_party_of(
        case, kind=RelatedParty.Kind.GUARDIAN, identity_number=number, name="Mamma"
    )
    sign_in_citizen(client, number, "Mamma")
    english(client)
    page = client.get(url(case))
    assert "You answer for" in page.content.decode()

    client.post(url(case), {f"goal_{first.pk}_rating": "5"})
    rating = GoalRating.objects.get()
    assert (rating.rated_by_role, rating.rated_by_party_id) == ("guardian", mother.pk)
    assert CaseEvent.objects.get(action="rate_goals").citizen_role == "guardian"


def test_who_answered_is_said_to_each_reader_in_their_own_words_never_by_name(client, county):
    case = planned_case(county, person=minor(own_view=True))
    first, _second = goals_of(case)
    mother_number = make_identity_number(dt.date(1980, 2, 2), 62)
    father_number = make_identity_number(dt.date(1979, 3, 3), 63)
    related_party_of(
        case, kind=RelatedParty.Kind.GUARDIAN, identity_number=mother_number, name="Mamma"
    )
    related_party_of(
        case, kind=RelatedParty.Kind.GUARDIAN, identity_number=father_number, name="Pappa"
    )
    sign_in_citizen(client, mother_number, "Mamma")
    english(client)
    client.post(url(case), {f"goal_{first.pk}_rating": "5"})
    assert GoalRating.objects.count() == 1

    def said_by() -> str:
        page = client.get(url(case)).content.decode()
        return re.search(r", by ([^<]+)</p>", page).group(1).strip()

    assert said_by() == "you"
    client.cookies.clear()
    sign_in_citizen(client, father_number, "Pappa")
    english(client)
    assert said_by() == "a guardian"  # the other guardian: not "you"
    client.cookies.clear()
    sign_in_as_person(client, case)
    english(client)
    assert said_by() == "your guardian"


def test_a_relative_and_a_stranger_get_404_and_nothing_is_rated(client, county):
    case = planned_case(county)
    first, _second = goals_of(case)
    relative = make_identity_number(dt.date(1985, 6, 6), 62)
    related_party_of(case, identity_number=relative, may_see=RelatedParty.Sees.EVERYTHING)
    stranger = make_identity_number(dt.date(1986, 7, 7), 63)
    for number in (relative, stranger):
        client.cookies.clear()
        sign_in_citizen(client, number)
        assert client.get(url(case)).status_code == 404
        assert client.post(url(case), {f"goal_{first.pk}_rating": "1"}).status_code == 404
    assert not GoalRating.objects.exists()
    assert (
        AuditEvent.objects.filter(
            case=case, what="goal_rating", outcome=AuditEvent.Outcome.REFUSED
        ).count()
        == 4
    )


def test_signed_out_visitors_are_sent_to_sign_in(client, county):
    case = planned_case(county)
    response = client.get(url(case))
    assert response.status_code == 302
    assert response.url.startswith(reverse("mypages:sign_in"))


def test_staff_may_never_rate_for_the_person(county):
    case = planned_case(county)
    first, _second = goals_of(case)
    with pytest.raises(PermissionRefused):
        services.rate_goals(case, actor=county.alice, ratings=[(first.pk, 3, "")])
    assert not GoalRating.objects.exists()
    assert AuditEvent.objects.filter(
        user=county.alice, what="goal_rating", outcome=AuditEvent.Outcome.REFUSED
    ).exists()


def test_the_service_refuses_a_goal_of_another_plan(client, county):
    case = planned_case(county)
    other = planned_case(county)
    foreign = goals_of(other)[0]
    capacity = sign_in_as_person(client, case).capacities()[case.pk]
    with pytest.raises(DomainError) as error:
        services.rate_goals(case, actor=capacity, ratings=[(foreign.pk, 3, "")])
    assert error.value.code == "not_in_plan"
    assert not GoalRating.objects.exists()


def test_the_page_makes_the_same_number_of_queries_for_one_goal_and_many(
    client, county, django_assert_max_num_queries
):
    small = planned_case(county, goals=["Ett mål"])
    large = planned_case(county, goals=[f"Mål nummer {n}" for n in range(8)])

    def count(case) -> int:
        client.cookies.clear()
        sign_in_as_person(client, case)
        for goal in goals_of(case):
            client.post(url(case), {f"goal_{goal.pk}_rating": "3"})
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url(case)).status_code == 200
        return len(queries)

    assert count(small) == count(large)
    with django_assert_max_num_queries(15):
        client.get(url(large))


# --- Staff see it beside their own evaluation ---------------------------------------------------


def followed_up_case(county):
    case = planned_case(county)
    meeting = services.call_follow_up(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=future(14), duration_minutes=45, place="Hemma", units=[county.hemtjanst]
        ),
    )
    return case, meeting


def test_staff_see_the_persons_latest_rating_beside_their_field(client, county):
    case, meeting = followed_up_case(county)
    first, second = goals_of(case)
    capacity = sign_in_as_person(client, case).capacities()[case.pk]
    services.rate_goals(case, actor=capacity, ratings=[(first.pk, 1, "Det var svårt först.")])
    services.rate_goals(case, actor=capacity, ratings=[(first.pk, 4, "Nu går det bättre.")])
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now() - dt.timedelta(hours=1))
    client.cookies.clear()
    client.force_login(county.alice)
    english(client)

    html = client.get(reverse("workspace:follow_up", args=[case.pk])).content.decode()
    fieldset = re.search(rf'id="goal-{first.pk}">(.*?)</fieldset>\s*</div>', html, re.S).group(1)
    rating = re.search(r'data-testid="person-rating">(.*?)</div>', fieldset, re.S).group(1)
    assert "The person's own rating: Well" in rating and "4 of 5" in rating
    assert "by the person (Min SIP)" in rating
    assert "Nu går det bättre." in rating and "Det var svårt först." not in rating
    # beside the staff's own field for that goal
    assert fieldset.index("person-rating") < fieldset.index(f'name="goal_{first.pk}_result"')
    other = re.search(rf'id="goal-{second.pk}">(.*?)</fieldset>\s*</div>', html, re.S).group(1)
    assert "has not rated this goal" in other


def test_a_participant_who_reads_the_follow_up_sees_the_ratings_too(client, county):
    case, meeting = followed_up_case(county)
    first, _second = goals_of(case)
    guardian_free = sign_in_as_person(client, case).capacities()[case.pk]
    services.rate_goals(case, actor=guardian_free, ratings=[(first.pk, 2, "")])
    client.cookies.clear()
    client.force_login(county.bob)
    english(client)
    html = client.get(reverse("workspace:follow_up", args=[case.pk])).content.decode()
    assert "The person's own rating of the goals" in html
    assert "The person's own rating: Badly" in html


def test_the_staff_follow_up_page_queries_do_not_grow_with_ratings(client, county):
    case, meeting = followed_up_case(county)
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now() - dt.timedelta(hours=1))
    client.force_login(county.alice)
    staff_url = reverse("workspace:follow_up", args=[case.pk])

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(staff_url).status_code == 200
        return len(queries)

    client.get(staff_url)
    none = count()
    capacity = sign_in_citizen(type(client)(), case.person.identity_number).capacities()[case.pk]
    for value in (1, 3, 5):
        services.rate_goals(
            case, actor=capacity, ratings=[(goal.pk, value, "") for goal in goals_of(case)]
        )
    assert count() == none
