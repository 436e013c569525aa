"""A whole SIP in real Chromium, through the pages only: a coordinator at a kommun unit and a
participant at a region unit take a new SIP from the initiative to closing. Also: an outsider
refused, a stale edit in two browser contexts, a partial revocation, and the process at 320 px
in English. axe-core (WCAG 2.2 A/AA) checks every page state visited (tests/browser/steps.py).

After the data a test starts from, nothing is changed except through the pages; the one
exception is moving a meeting's time into the past, since time cannot pass in a test."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation
from playwright.sync_api import Page, expect

from samplan.access.models import AuditEvent
from samplan.cases.models import (
    CaseEvent,
    ConsentScope,
    Evaluation,
    Invitation,
    Meeting,
    Participant,
    PlanVersion,
    SipCase,
    State,
)
from samplan.directory.models import Assignment
from samplan.errors import StaleEdit
from samplan.people.models import Person
from tests.browser import steps
from tests.browser.steps import InterventionText, NewPerson, Preferences, Staff
from tests.factories import case_in_state, future, staff

pytestmark = pytest.mark.browser

Action, Outcome = AuditEvent.Action, AuditEvent.Outcome


def _move_into_the_past(case: SipCase, kind: str) -> None:
    # Time cannot pass in a test: the meeting "has been held" by moving its start two hours back.
    Meeting.objects.filter(case=case, kind=kind, cancelled_at__isnull=True).update(
        starts_at=timezone.now() - dt.timedelta(hours=2)
    )


def test_a_coordinator_and_a_participant_take_a_new_sip_from_initiative_to_closing(
    page: Page, live_server, county
):
    staff(
        county.hemtjanst,
        Assignment.Role.COORDINATOR,
        username="karin",
        first_name="Karin",
        last_name="Lund",
    )
    staff(
        county.vardcentral,
        Assignment.Role.PARTICIPANT,
        username="vera",
        first_name="Vera",
        last_name="Holm",
    )
    person = NewPerson.make("Gunnel", 123)
    hemtjanst, vardcentral = county.hemtjanst.name, county.vardcentral.name
    goals = [
        "Jag vill kunna gå till affären själv till sommaren.",
        "Jag vill duscha själv utan att vara rädd att ramla.",
    ]
    interventions = [
        InterventionText("Hemtjänst morgon och kväll", steps.unit_label(county.hemtjanst), "Lena"),
        InterventionText("Fysioterapi: gångträning", steps.unit_label(county.vardcentral), "Omar"),
    ]
    karin = Staff(page, live_server.url)

    # The coordinator at the kommun starts the SIP and takes it to the meeting call.
    karin.sign_in("karin")
    steps.start_a_new_sip(karin, person, "Hemtjänst och vårdcentral behöver samordna efter fall.")
    steps.record_information(karin, person)
    steps.record_consent(
        karin, person, add=county.region.name, covered=[county.kommun.name, county.region.name]
    )
    steps.prepare(karin, person, invite=vardcentral, preferences=Preferences())
    karin.link("Call the SIP meeting").click()
    meeting_at = future(days=7, hour=10)
    steps.call_meeting(karin, person, meeting_at, units=[hemtjanst, vardcentral])
    karin.sign_out()

    # The participant at the region finds the call on the start page and accepts it.
    vera = Staff(page, live_server.url)
    vera.sign_in("vera")
    steps.answer_the_call(vera, person, vardcentral)
    vera.sign_out()

    case = SipCase.objects.get(person__identity_number=person.identity_number)
    _move_into_the_past(case, Meeting.Kind.SIP)

    # The meeting is held: attendance, the plan with two goals and two interventions.
    karin.sign_in("karin")
    karin.open_case(person.full_name)
    steps.record_attendance(karin, person, [hemtjanst, vardcentral, person.full_name])
    karin.next_step("Write the plan")
    karin.arrive(karin.t("Write the plan"))
    expect(karin.page.get_by_test_id("attendees-suggested")).to_be_visible()
    steps.fill_plan(
        karin,
        needs="Ostadig gång efter fallet; klarar inte duschen själv.",
        goals=goals,
        interventions=interventions,
        main_responsible=steps.unit_label(county.hemtjanst),
        follow_up_on=timezone.localdate() + dt.timedelta(weeks=6),
    )
    steps.save_and_check_plan(karin, 1)
    steps.establish_plan(karin, person, 1)
    plan = karin.section("Current plan")
    for text in goals + [item.description for item in interventions]:
        expect(plan).to_contain_text(text)
    expect(karin.page.get_by_test_id("next-step-action")).to_have_text(
        karin.t("Call the follow-up of the plan")
    )

    # The follow-up: called, held, every goal and intervention evaluated.
    karin.next_step("Call the follow-up meeting")
    steps.call_meeting(
        karin, person, future(days=42, hour=10), units=[hemtjanst, vardcentral], follow_up=True
    )
    _move_into_the_past(case, Meeting.Kind.FOLLOW_UP)
    karin.link("Back to the SIP").click()
    karin.arrive(person.full_name)
    karin.expect_state(State.FOLLOW_UP)
    karin.next_step("Record the follow-up")
    steps.evaluate(
        karin,
        goals={goals[0]: Evaluation.Result.REACHED.label, goals[1]: Evaluation.Result.PARTLY.label},
        interventions={item.description: "Worked" for item in interventions},
    )

    # The plan revised into version 2, established, and compared with version 1.
    # Calling the follow-up started the draft of version 2 from version 1.
    karin.link("Revise the plan in the draft of the new version").click()
    karin.arrive(karin.t("Plan: draft of version %(number)s") % {"number": 2})
    revised_goal = "Jag vill duscha själv utan att vara rädd att ramla, med en pall."
    steps.write_goal(karin, 2, revised_goal)
    karin.fill("Follow-up date", f"{timezone.localdate() + dt.timedelta(weeks=12):%Y-%m-%d}")
    # Nobody answered the follow-up call, so the editor suggests no one: who took part is typed.
    steps.write_attendee(karin, 1, person.full_name, "personen")
    steps.save_and_check_plan(karin, 2)
    steps.establish_plan(karin, person, 2)
    expect(karin.section("Current plan")).to_contain_text(revised_goal)
    karin.link("Compare plan versions side by side").click()
    karin.arrive(karin.t("Compare plan versions"))
    expect(karin.page.get_by_test_id("compare-summary")).to_be_visible()
    changed = karin.page.get_by_test_id("item").filter(has_text="med en pall")
    expect(changed).to_have_attribute("data-status", "changed")
    expect(changed.get_by_role("insertion")).to_contain_text("med en pall")
    expect(changed.get_by_role("deletion")).to_contain_text("ramla.")
    karin.link("Back to the SIP").click()
    karin.arrive(person.full_name)

    # Closing, with the note on the case page.
    note = "Gunnel klarar sig nu med hemtjänst; ny SIP vid behov."
    steps.close(karin, person, SipCase.ClosingReason.GOALS_REACHED.label, note)
    karin.expect_state(State.CLOSED)
    expect(karin.page.get_by_test_id("case-state")).to_contain_text(
        karin.t(SipCase.ClosingReason.GOALS_REACHED.label)
    )
    expect(karin.page.get_by_test_id("closing-note")).to_contain_text(note)
    expect(karin.link("Close the SIP")).to_have_count(0)

    # What the database holds.
    case.refresh_from_db()
    registered = Person.objects.get(identity_number=person.identity_number)
    assert (registered.given_name, registered.family_name) == ("Gunnel", "Exempel")
    assert case.coordinating_unit == county.hemtjanst
    assert case.coordinator.username == "karin"
    assert case.state == State.CLOSED
    assert case.closing_reason == SipCase.ClosingReason.GOALS_REACHED
    assert case.closing_note == note
    assert set(
        ConsentScope.objects.filter(consent__case=case).values_list("organisation", flat=True)
    ) == {county.kommun.pk, county.region.pk}
    assert Participant.objects.get(case=case, unit=county.vardcentral).chosen_by_person
    invitation = Invitation.objects.get(
        meeting__case=case, meeting__kind=Meeting.Kind.SIP, unit=county.vardcentral
    )
    assert invitation.answer == Invitation.Answer.ACCEPTED
    assert invitation.answered_by.username == "vera"
    assert invitation.attended
    assert not Invitation.objects.filter(
        meeting__case=case, meeting__kind=Meeting.Kind.SIP, attended__isnull=True
    ).exists()
    first, second = case.plan_versions.order_by("number")
    assert first.status == PlanVersion.Status.SUPERSEDED
    assert [g.text for g in first.goals.order_by("position")] == goals
    assert [i.description for i in first.interventions.order_by("position")] == [
        item.description for item in interventions
    ]
    assert [g.text for g in second.goals.order_by("position")] == [goals[0], revised_goal]
    assert second.approved_by_name == person.full_name
    evaluations = Evaluation.objects.filter(meeting__case=case, meeting__kind="follow_up")
    assert evaluations.filter(goal__isnull=False).count() == 2
    assert evaluations.filter(intervention__isnull=False).count() == 2
    assert evaluations.exclude(person_view="").count() == 4

    timeline = list(CaseEvent.objects.filter(case=case).order_by("at", "pk"))
    actions = [event.action for event in timeline]
    for expected in [
        "initiate",
        "record_information",
        "give_consent",
        "start_preparation",
        "call_meeting",
        "record_attendance",
        "establish_plan",
        "call_follow_up",
        "record_evaluation",
        "establish_plan",
        "close",
    ]:
        assert expected in actions, (expected, actions)
        actions = actions[actions.index(expected) + 1 :]
    assert {event.actor.username for event in timeline} <= {"karin", "vera"}

    audit = AuditEvent.objects.filter(case=case)
    assert (
        audit.filter(username="karin", action=Action.CHANGE, outcome=Outcome.ALLOWED).count() >= 10
    )
    assert audit.filter(username="vera", action=Action.CHANGE, what="invitation").exists()
    assert audit.filter(username="vera", action=Action.READ, what="sip_case").exists()
    assert audit.filter(username="karin", action=Action.READ, what="sip_case").exists()
    assert not audit.filter(outcome=Outcome.REFUSED).exists()
    assert AuditEvent.objects.filter(
        username="karin", action=Action.CREATE, person=registered
    ).exists()
    assert set(audit.values_list("ip_address", flat=True)) == {"127.0.0.1"}


def test_an_outsider_is_refused(page: Page, live_server, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    person = case.person
    secrets = [person.full_name, person.identity_number, person.display_identity, case.reference]
    charlie = Staff(page, live_server.url)
    charlie.sign_in("charlie")
    expect(page.get_by_test_id("nothing-to-do")).to_be_visible()

    # Not even the full identity number finds the SIP outside the units taking part.
    charlie.header().get_by_role("link", name=charlie.t("Search")).click()
    charlie.arrive(charlie.t("Search SIPs"))
    charlie.fill("Personal identity number, SIP number or name", person.identity_number)
    charlie.button("Search").click()
    expect(page.get_by_test_id("no-results")).to_be_visible()
    charlie.check()

    pages = ["", "plan/", "samtycke/", "forberedelse/", "kallelse/"]
    for path in pages:
        response = page.goto(f"{live_server.url}/sip/{case.pk}/{path}")
        assert response.status == 404, path
        charlie.arrive(charlie.t("Page not found"))
        for secret in secrets:
            expect(page.locator("body")).not_to_contain_text(secret)
            assert secret not in page.title()

    refused = AuditEvent.objects.filter(
        username="charlie", case=case, action=Action.READ, outcome=Outcome.REFUSED
    )
    assert refused.count() == len(pages)
    assert set(refused.values_list("ip_address", flat=True)) == {"127.0.0.1"}
    assert not AuditEvent.objects.filter(
        username="charlie", case=case, outcome=Outcome.ALLOWED
    ).exists()


def test_a_stale_edit_in_two_browser_contexts_is_refused_and_nothing_is_overwritten(
    new_context, live_server, county
):
    case = case_in_state(county, State.MEETING_CALLED)
    staff(county.vardcentral, Assignment.Role.COORDINATOR, username="anna", first_name="Anna")
    name = case.person.full_name
    alice, anna = (Staff(new_context().new_page(), live_server.url) for _ in range(2))
    # Both open the plan editor before either saves.
    for who, username in ((alice, "alice"), (anna, "anna")):
        who.sign_in(username)
        who.open_case(name)
        who.link("Write the plan").click()
        who.arrive(who.t("Write the plan"))

    alice.fill("The person's needs today", "Alice: behöver hjälp med dusch och inköp.")
    steps.write_goal(alice, 1, "Alice: jag vill gå till affären själv.")
    alice.button("Save the draft").click()
    alice.arrive(alice.t("Plan: draft of version %(number)s") % {"number": 1})
    alice.message(alice.t("The plan draft is saved."))

    anna_needs, anna_goal = "Anna: ostadig gång, rädd att ramla.", "Anna: jag vill duscha själv."
    anna.fill("The person's needs today", anna_needs)
    steps.write_goal(anna, 1, anna_goal)
    with anna.page.expect_response(lambda r: r.request.method == "POST") as posted:
        anna.button("Save the draft").click()
    assert posted.value.status == 409
    with translation.override(anna.language):
        stale = StaleEdit().message
    expect(anna.page.get_by_role("alert")).to_contain_text(stale)
    newer = anna.page.get_by_test_id("newer-plan")
    expect(newer).to_contain_text("Alice: behöver hjälp med dusch och inköp.")
    expect(newer).to_contain_text("Alice: jag vill gå till affären själv.")
    expect(anna.field("The person's needs today")).to_have_value(anna_needs)
    goal = anna.group(anna.t("Goal %(number)s") % {"number": 1})
    expect(anna.field("In the person's own words", goal)).to_have_value(anna_goal)
    anna.check()

    draft = PlanVersion.objects.get(case=case)
    assert draft.status == PlanVersion.Status.DRAFT
    assert draft.needs_today == "Alice: behöver hjälp med dusch och inköp."
    assert [g.text for g in draft.goals.all()] == ["Alice: jag vill gå till affären själv."]
    assert not AuditEvent.objects.filter(
        username="anna", what="plan", action=Action.CHANGE
    ).exists()

    # Saving again, now on top of what Alice saved, is accepted.
    anna.button("Save the draft").click()
    anna.message(anna.t("The plan draft is saved."))
    anna.check()
    draft.refresh_from_db()
    assert draft.needs_today == anna_needs
    assert AuditEvent.objects.filter(username="anna", what="plan", action=Action.CHANGE).exists()


def test_a_partial_revocation_cuts_one_organisation_off(page: Page, live_server, county):
    sip = steps.kommun_led_case(county)
    case, name = sip.case, sip.case.person.full_name
    region, kommun = county.region.name, county.kommun.name

    # Before: the region's participant sees the SIP.
    vera = Staff(page, live_server.url)
    vera.sign_in("vera")
    vera.open_case(name)
    vera.sign_out()

    karin = Staff(page, live_server.url)
    karin.sign_in("karin")
    karin.open_case(name)
    karin.link("Revoke consent, for one organisation or all").click()
    karin.arrive(karin.t("Revoke consent"))
    karin.field(region, karin.group("Revoke the consent for")).check()
    karin.fill("Note (optional)", "Gunnel ringde: vårdcentralen ska inte få se planen.")
    karin.button("Continue").click()
    karin.arrive(karin.t("Confirm the revocation"))
    consequence = page.get_by_test_id("revocation-consequence")
    expect(consequence).to_contain_text(region)
    expect(consequence).not_to_contain_text(kommun)
    karin.button("Yes, revoke the consent").click()
    karin.arrive(name)
    karin.message(
        karin.t(
            "The consent is revoked for the chosen organisations; their units no longer have "
            "access."
        )
    )
    karin.expect_state(State.MEETING_CALLED)
    revoked = karin.t("Consent revoked")
    participants = page.get_by_test_id("participants").get_by_role("listitem")
    expect(participants.filter(has_text=county.vardcentral.name)).to_contain_text(revoked)
    expect(participants.filter(has_text=county.hemtjanst.name)).not_to_contain_text(revoked)
    scopes = page.get_by_test_id("consent").get_by_role("listitem")
    expect(scopes.filter(has_text=region)).to_contain_text(revoked)
    expect(scopes.filter(has_text=kommun)).not_to_contain_text(revoked)
    karin.sign_out()

    # After: the region's participant no longer sees the SIP, on the start page or by its
    # address, where only emergency access is offered (tests/test_emergency_access.py).
    vera.sign_in("vera")
    expect(vera.main()).not_to_contain_text(name)
    response = page.goto(f"{live_server.url}/sip/{case.pk}/")
    assert response.status == 403
    vera.arrive(vera.t("The consent does not cover your organisation"))
    expect(page.locator("body")).not_to_contain_text(name)

    case.refresh_from_db()
    assert case.state == State.MEETING_CALLED
    scopes_left = ConsentScope.objects.filter(consent__case=case)
    assert set(
        scopes_left.filter(revoked_at__isnull=False).values_list("organisation", flat=True)
    ) == {county.region.pk}
    assert set(
        scopes_left.filter(revoked_at__isnull=True).values_list("organisation", flat=True)
    ) == {county.kommun.pk}
    event = CaseEvent.objects.get(case=case, action="revoke_consent_in_part")
    assert event.actor == sip.karin
    assert region in event.note
    assert AuditEvent.objects.filter(
        username="karin", case=case, what="consent", action=Action.CHANGE, outcome=Outcome.ALLOWED
    ).exists()
    assert AuditEvent.objects.filter(
        username="vera", case=case, action=Action.READ, outcome=Outcome.REFUSED
    ).exists()


def test_the_whole_process_at_320_px_in_english(new_context, live_server, county):
    staff(county.hemtjanst, Assignment.Role.COORDINATOR, username="karin", first_name="Karin")
    page = new_context(viewport={"width": 320, "height": 640}).new_page()
    karin = Staff(page, live_server.url, width=320)
    page.goto(f"{live_server.url}/konto/logga-in/")
    karin.arrive(karin.t("Sign in"))
    karin.switch_to_english()
    karin.arrive("Sign in")
    karin.sign_in("karin")
    person = NewPerson.make("Gunnel", 321)
    steps.start_a_new_sip(karin, person, "Home care and the health centre must work together.")
    steps.record_information(karin, person)
    steps.record_consent(
        karin, person, add=county.region.name, covered=[county.kommun.name, county.region.name]
    )
    steps.prepare(karin, person, invite=county.vardcentral.name, preferences=Preferences())
    karin.link("Call the SIP meeting").click()
    steps.call_meeting(
        karin,
        person,
        future(days=7, hour=10),
        units=[county.hemtjanst.name, county.vardcentral.name],
    )
    karin.link("Back to the SIP").click()
    karin.arrive(person.full_name)
    karin.expect_state(State.MEETING_CALLED)

    karin.link("Write the plan").click()
    karin.arrive("Write the plan")
    karin.fill("The person's needs today", "Unsteady walking after the fall.")
    steps.write_goal(karin, 1, "I want to walk to the shop on my own.")
    karin.button("Add another goal").click()
    expect(karin.group("Goal 2")).to_be_visible()
    karin.check()
    steps.write_goal(karin, 2, "I want to shower on my own.")
    karin.button("Save the draft").click()
    karin.arrive("Plan: draft of version 1")
    karin.message("The plan draft is saved.")
    karin.link("Back to the SIP").click()
    karin.arrive(person.full_name)
    expect(karin.section("Current plan")).to_contain_text("Draft of version 1")

    case = SipCase.objects.get(person__identity_number=person.identity_number)
    draft = case.plan_versions.get()
    assert [g.text for g in draft.goals.order_by("position")] == [
        "I want to walk to the shop on my own.",
        "I want to shower on my own.",
    ]
