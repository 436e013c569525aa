"""The coordinator is told of the person's answers in Min SIP: "From the person" on the start page
(what was done there in the last 30 days, newest first, in words, with a link), a plan the person
asked to change shown as needing action instead of "waiting", a SIP asked for in Min SIP shown as
an initiative for its unit with its deadline, and the case page's timeline naming the capacity
("the person (Min SIP)") instead of a staff member. Every SIP shown is a logged read, and the
number of queries does not grow with the events."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from samplan.access.citizen import Citizen
from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import CaseEvent, SipCase, State
from samplan.cases.services._core import _changing
from samplan.cases.services.initiative import request_sip
from samplan.people.identity import make_identity_number
from samplan.people.models import RelatedParty
from tests.factories import (
    case_in_state,
    complete_draft,
    minor,
    related_party_of,
    staff,
)
from tests.test_start_page import rows, section

pytestmark = pytest.mark.django_db

START_URL = "/start/"


def english(client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def person_of(case) -> Citizen:
    return Citizen(case.person.identity_number, case.person.full_name)


def capacity_of(citizen: Citizen, case):
    citizen.forget()
    return citizen.capacities()[case.pk]


def rate_first_goal(case, citizen: Citizen, value: int = 4) -> None:
    goal = case.valid_plan().goals.first()
    services.rate_goals(case, actor=capacity_of(citizen, case), ratings=[(goal.pk, value, "")])


def taken_in_min_sip(case, action: str, citizen: Citizen) -> None:
    """A step of Min SIP through the one path of every change (`_changing`), for steps whose
    service another part of Min SIP owns; what is tested here is what staff are told."""
    with _changing(case, action, capacity_of(citizen, case), None):
        pass


def from_person(response) -> str:
    return section(response, "from_person")


# --- From the person ----------------------------------------------------------------------------


def test_steps_taken_in_min_sip_show_newest_first_in_words_with_a_link(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    citizen = person_of(case)
    rate_first_goal(case, citizen)
    taken_in_min_sip(case, "update_preferences", citizen)
    taken_in_min_sip(case, "request_plan_change", citizen)
    client.force_login(county.alice)
    english(client)

    html = from_person(client.get(START_URL))
    found = rows(html)
    assert len(found) == 3
    assert "The person asked for changes to the plan" in found[0]
    assert 'data-testid="needs-action"' in found[0]
    assert "The person changed their meeting preferences" in found[1]
    assert "The person rated their goals" in found[2]
    assert all("needs-action" not in row for row in found[1:])
    assert all("By the person (Min SIP)" in row for row in found)
    assert case.person.full_name in found[0]
    detail = reverse("workspace:case_detail", args=[case.pk])
    assert f'href="{detail}#plan"' in found[0]
    assert f'href="{detail}#uppfoljning"' in found[2]
    assert "What happened" in html and "When" in html


def test_a_guardians_step_says_it_was_the_guardian(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED, person=minor())
    number = make_identity_number(dt.date(1979, 4, 4), 71)
    related_party_of(case, kind=RelatedParty.Kind.GUARDIAN, identity_number=number, name="Pappa")
    rate_first_goal(case, Citizen(number, "Pappa"))
    client.force_login(county.alice)
    english(client)
    html = from_person(client.get(START_URL))
    assert "By guardian (Min SIP)" in html
    assert "Pappa" not in html


def test_staff_steps_and_old_steps_are_not_news_from_the_person(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    rate_first_goal(case, person_of(case))
    CaseEvent.objects.filter(action="rate_goals").update(at=timezone.now() - dt.timedelta(days=31))
    client.force_login(county.alice)
    response = client.get(START_URL)
    assert from_person(response) == ""  # staff steps (the whole history of the case) never show
    assert response.context["sections"][1].key == "from_person"
    assert response.context["sections"][1].items == []

    rate_first_goal(case, person_of(case))
    assert len(rows(from_person(client.get(START_URL)))) == 1


def test_a_sip_the_person_ended_shows_although_it_is_closed(client, county):
    case = case_in_state(county, State.PREPARATION)
    taken_in_min_sip(case, "end_sip", person_of(case))
    client.force_login(county.alice)
    english(client)
    html = from_person(client.get(START_URL))
    assert "The person ended the SIP" in html
    assert case.person.full_name in html


def test_only_the_coordinators_sips_show_and_my_unit_view_adds_the_colleagues(client, county):
    mine = case_in_state(county, State.PLAN_ESTABLISHED)
    colleague = staff(county.vardcentral, username="dagny")
    theirs = case_in_state(county, State.PLAN_ESTABLISHED)
    SipCase.objects.filter(pk=theirs.pk).update(coordinator=colleague)
    for case in (mine, theirs):
        rate_first_goal(case, person_of(case))

    client.force_login(county.alice)
    html = from_person(client.get(START_URL))
    assert mine.person.full_name in html
    assert theirs.person.full_name not in html
    unit_html = from_person(client.get(START_URL, {"view": "unit"}))
    assert mine.person.full_name in unit_html and theirs.person.full_name in unit_html

    # Charlie's unit takes no part; bob's hemtjänst only takes part, it does not coordinate.
    for outsider in (county.charlie, county.bob):
        client.force_login(outsider)
        for view in ("mine", "unit"):
            assert from_person(client.get(START_URL, {"view": view})) == ""


def test_each_sip_shown_from_the_person_is_a_logged_read(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    rate_first_goal(case, person_of(case))
    rate_first_goal(case, person_of(case), value=5)
    client.force_login(county.alice)
    with CaptureQueriesContext(connection) as queries:
        client.get(START_URL)
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "access_auditevent"')]
    assert len(inserts) == 1
    read = AuditEvent.objects.get(user=county.alice, what="start_page", case=case)
    assert (read.person_id, read.unit_id) == (case.person_id, county.vardcentral.pk)


def test_start_page_queries_stay_the_same_with_more_steps_from_persons(
    client, county, django_assert_max_num_queries
):
    first = case_in_state(county, State.PLAN_ESTABLISHED)
    rate_first_goal(first, person_of(first))
    client.force_login(county.alice)
    client.get(START_URL)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(START_URL).status_code == 200
        return len(queries)

    one = count()
    for _ in range(4):
        case = case_in_state(county, State.PLAN_ESTABLISHED)
        rate_first_goal(case, person_of(case))
        taken_in_min_sip(case, "update_preferences", person_of(case))
    assert count() == one
    assert len(client.get(START_URL).context["sections"][1].items) >= 5
    with django_assert_max_num_queries(25):
        client.get(START_URL)


# --- Plans the person answered -----------------------------------------------------------------


def proposed_case(county) -> SipCase:
    case = case_in_state(county, State.MEETING_CALLED)
    draft = services.save_plan_draft(
        case, actor=county.alice, expected_version=None, data=complete_draft(county)
    )
    services.propose_plan(case, actor=county.alice, expected_version=draft.lock_version)
    return case


def test_a_plan_the_person_asked_to_change_says_so_instead_of_waiting(client, county):
    waiting = proposed_case(county)
    changed = proposed_case(county)
    draft = changed.draft_plan()
    services.request_plan_change(
        changed,
        actor=capacity_of(person_of(changed), changed),
        expected_version=draft.lock_version,
        text="Jag vill ha hemtjänst på eftermiddagen i stället.",
    )
    client.force_login(county.alice)
    english(client)
    approval = section(client.get(START_URL), "approval")
    found = rows(approval)
    assert len(found) == 2
    by_person = {
        case.person.full_name: next(row for row in found if case.person.full_name in row)
        for case in (waiting, changed)
    }
    assert "Record the person's approval of plan version 1" in by_person[waiting.person.full_name]
    assert "needs-action" not in by_person[waiting.person.full_name]
    changed_row = by_person[changed.person.full_name]
    assert "The person asked for changes to plan version 1" in changed_row
    assert "Record the person's approval" not in changed_row
    assert 'data-testid="needs-action"' in changed_row

    # Proposed again (the coordinator revised it): waiting for the person once more.
    draft = changed.draft_plan()
    services.propose_plan(changed, actor=county.alice, expected_version=draft.lock_version)
    approval = section(client.get(START_URL), "approval")
    assert "The person asked for changes" not in approval
    assert approval.count("Record the person's approval of plan version 1") == 2


# --- A SIP asked for in Min SIP -----------------------------------------------------------------


def test_a_sip_asked_for_in_min_sip_is_an_initiative_of_its_unit_with_its_deadline(client, county):
    asker = Citizen(make_identity_number(dt.date(1958, 8, 8), 72), "Sven Svensson")
    case = request_sip(asker, unit=county.vardcentral, reason="Jag behöver hjälp hemma.")
    assert case.coordinator_id is None
    assert case.call_deadline is not None
    client.force_login(county.alice)
    english(client)
    response = client.get(START_URL)

    initiative = section(response, "consent")
    row = next(row for row in rows(initiative) if "Sven" in row)
    assert "The person asked for this SIP in Min SIP" in row
    assert f'datetime="{timezone.localtime(case.call_deadline).isoformat()}"' in row
    news = from_person(response)
    assert "The person asked for a SIP" in news and "Sven" in news

    # Bob takes part at another unit; Charlie's unit was not asked.
    for outsider in (county.bob, county.charlie):
        client.force_login(outsider)
        assert "Sven" not in client.get(START_URL, {"view": "unit"}).content.decode()


# --- The case page's timeline -------------------------------------------------------------------


def test_the_timeline_names_the_capacity_not_a_staff_member(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED, person=minor())
    number = make_identity_number(dt.date(1979, 4, 4), 73)
    related_party_of(case, kind=RelatedParty.Kind.GUARDIAN, identity_number=number, name="Pappa")
    rate_first_goal(case, Citizen(number, "Pappa"))
    client.force_login(county.alice)
    english(client)
    response = client.get(reverse("workspace:case_detail", args=[case.pk]))
    timeline = re.search(
        r'data-testid="timeline">(.*?)</ol>', response.content.decode(), re.S
    ).group(1)
    entry = next(li for li in re.findall(r"<li>(.*?)</li>", timeline, re.S) if "rated" in li)
    assert "The person rated their goals" in entry
    assert "guardian (Min SIP)" in entry
    assert "Pappa" not in entry
    assert county.alice.get_full_name() not in entry
    staff_entry = next(
        li for li in re.findall(r"<li>(.*?)</li>", timeline, re.S) if "initiated" in li
    )
    assert county.alice.get_full_name() in staff_entry


def test_the_case_page_stays_within_its_budget_with_steps_from_min_sip(
    client, county, django_assert_max_num_queries
):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    citizen = person_of(case)
    for value in (1, 2, 3, 4):
        rate_first_goal(case, citizen, value)
    client.force_login(county.alice)
    # 25, +1 the read-only mode's state (maintenance), +1 the bell's unread count (reminders).
    with django_assert_max_num_queries(27):
        assert client.get(reverse("workspace:case_detail", args=[case.pk])).status_code == 200


# --- Units that can no longer see a SIP stopped in Min SIP ----------------------------------------


def stopped(response) -> str:
    return section(response, "stopped")


def revoke_in_min_sip(case, organisations=()) -> None:
    citizen = person_of(case)
    services.revoke_consent(
        case,
        actor=capacity_of(citizen, case),
        expected_version=None,
        organisations=organisations,
    )


def test_a_unit_that_loses_the_sip_to_a_revocation_is_told_without_a_name(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    client.force_login(county.bob)
    english(client)
    assert stopped(client.get(START_URL)) == ""  # bob's hemtjänst still sees it: nothing to tell

    revoke_in_min_sip(case, organisations=[county.kommun])
    html = stopped(client.get(START_URL))
    found = rows(html)
    assert len(found) == 1
    assert case.reference in found[0]
    assert "revoked in Min SIP for one or more organisations. Your units can no" in found[0]
    assert case.person.full_name not in html and case.person.given_name not in html
    assert "href" not in html  # no link into a SIP bob may not open
    read = AuditEvent.objects.get(user=county.bob, what="start_page_notice")
    assert (read.case_id, read.person_id, read.unit_id) == (
        case.pk,
        case.person_id,
        county.hemtjanst.pk,
    )

    # The coordinator still sees the SIP: told by name under "From the person", not here.
    client.force_login(county.alice)
    response = client.get(START_URL)
    assert stopped(response) == ""
    assert "Consent revoked for an organisation" in from_person(response)
    # A unit that never took part is told nothing.
    client.force_login(county.charlie)
    assert stopped(client.get(START_URL, {"view": "unit"})) == ""
    assert not AuditEvent.objects.filter(user=county.charlie, what="start_page_notice").exists()


def test_all_consent_revoked_and_old_news_and_staff_recorded_revocations(client, county):
    by_person = case_in_state(county, State.PLAN_ESTABLISHED)
    revoke_in_min_sip(by_person)
    by_staff = case_in_state(county, State.PLAN_ESTABLISHED)
    services.revoke_consent(by_staff, actor=county.alice, expected_version=None)
    client.force_login(county.bob)
    english(client)
    html = stopped(client.get(START_URL, {"view": "unit"}))
    assert by_person.reference in html
    assert "All consent was revoked in Min SIP. The SIP has ended." in html
    # Told in Min SIP only: a revocation staff recorded was told to the coordinator by the person.
    assert by_staff.reference not in html

    CaseEvent.objects.filter(action="revoke_consent").update(
        at=timezone.now() - dt.timedelta(days=31)
    )
    assert stopped(client.get(START_URL)) == ""


def test_a_unit_removed_before_the_revocation_is_not_told(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    Participant = case.participants.model
    Participant.objects.filter(case=case, unit=county.hemtjanst).update(
        removed_at=timezone.now() - dt.timedelta(days=2)
    )
    revoke_in_min_sip(case)
    client.force_login(county.bob)
    assert stopped(client.get(START_URL)) == ""


def test_stopped_sips_keep_the_start_pages_queries_constant(
    client, county, django_assert_max_num_queries
):
    revoke_in_min_sip(case_in_state(county, State.PLAN_ESTABLISHED), [county.kommun])
    client.force_login(county.bob)
    client.get(START_URL)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(START_URL).status_code == 200
        return len(queries)

    one = count()
    for _ in range(4):
        revoke_in_min_sip(case_in_state(county, State.PLAN_ESTABLISHED), [county.kommun])
    assert count() == one
    assert len(client.get(START_URL).context["stopped"]) == 5
    with django_assert_max_num_queries(25):
        client.get(START_URL)
