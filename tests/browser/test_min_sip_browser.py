"""Min SIP in real Chromium on a 320 px phone, through the pages only: the person signs in with
e-identification through a real OpenID Connect provider (tests/oidc.py), approves the plan the
coordinator proposed, changes the meeting wishes, rates a goal and stops sharing with one
organisation, whose staff then lose the SIP; a guardian approves for a child (in English); a
relative granted the meetings sees them and nothing more; another person's SIP is a 404 however
its address is typed; and stopping all sharing works without JavaScript. axe-core (WCAG 2.2
A/AA) checks every page state of Samplan's visited, and nothing is wider than the screen
(tests/browser/citizen_steps.py).

The data a story starts from is made through the services (the coordinator's side is tested in
test_whole_sip_browser.py); after that, nothing changes except through the pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from samplan.access.citizen import citizen_log_name
from samplan.access.models import AuditEvent
from samplan.access.services import cases_visible_to
from samplan.accounts.oidc import LOA3
from samplan.cases.models import (
    CaseEvent,
    ConsentScope,
    GoalRating,
    PlanVersion,
    Preparation,
    State,
)
from samplan.people.models import RelatedParty
from tests.browser.citizen_steps import (
    PHONE,
    Citizen,
    adult_number,
    proposal_of,
    proposed_plan,
)
from tests.factories import PersonFactory, case_in_state, minor, related_party_of

pytestmark = pytest.mark.browser

Action, Outcome = AuditEvent.Action, AuditEvent.Outcome
# The claim of the Swedish OIDC profile for e-identification (BankID and Freja brokers).
PERSONAL_IDENTITY_NUMBER = "https://id.oidc.se/claim/personalIdentityNumber"
GOALS = [
    "Jag vill kunna gå till affären själv till sommaren.",
    "Jag vill duscha själv utan att vara rädd.",
]


@pytest.fixture
def broker(settings, live_server, oidc_provider):
    """Min SIP registered at the provider as its own client, the person sign-in turned on."""
    client = oidc_provider.add_client([f"{live_server.url}/mina-sidor/oidc/callback/"])
    for name, value in oidc_provider.relying_party_settings(client).items():
        setattr(settings, f"SAMPLAN_PERSON_{name}", value)
    settings.SAMPLAN_PERSON_OIDC_ENABLED = True
    return oidc_provider


def test_a_person_signs_in_approves_the_plan_steers_it_and_stops_sharing_with_the_kommun(
    broker, new_context, live_server, county
):
    person = PersonFactory(given_name="Gunnel", family_name="Åberg")
    case = proposed_plan(county, person=person)
    assert cases_visible_to(county.bob).filter(pk=case.pk).exists()
    proposal = proposal_of(case)
    at_the_broker = broker.add_user(
        {
            "acr": LOA3,
            PERSONAL_IDENTITY_NUMBER: person.identity_number,
            "given_name": "Gunnel",
            "family_name": "Åberg",
        }
    )
    phone = new_context(viewport=PHONE).new_page()
    gunnel = Citizen(phone, live_server.url)
    your_sip = gunnel.t("Your SIP")

    # Signed in with e-identification; the SIP says an answer is needed.
    gunnel.sign_in_with_e_identification(at_the_broker)
    gunnel.open_sip(your_sip)
    waiting = phone.get_by_test_id("approval-waiting")
    expect(waiting).to_contain_text(gunnel.t("A plan waits for your approval."))

    # The proposal, read in plain words with who to call, then approved.
    gunnel.link("Read the plan and answer", waiting).click()
    gunnel.arrive(gunnel.t("My plan"))
    proposed = phone.get_by_test_id("plan-proposal")
    for goal in GOALS:
        expect(proposed.get_by_test_id("plan-goals")).to_contain_text(goal)
    expect(proposed.get_by_test_id("who-to-call")).to_contain_text("Lena Berg, Hemtjänst Norr")
    expect(proposed.get_by_test_id("plan-main-responsible")).to_contain_text("Vårdcentral Centrum")
    gunnel.button("Approve the plan", proposed).click()
    gunnel.arrive(gunnel.t("My plan"))
    gunnel.message(gunnel.t("You have approved the plan. It is now your plan."))
    expect(phone.get_by_test_id("plan-proposal")).to_have_count(0)
    expect(phone.get_by_test_id("plan-approval")).to_contain_text("Gunnel Åberg")
    gunnel.back_to_sip(your_sip)
    expect(phone.get_by_test_id("approval-waiting")).to_have_count(0)

    # The wishes for the next meeting, from the meeting page.
    gunnel.open_part("My meeting", gunnel.t("Your meeting"))
    gunnel.link("Tell us what suits you best at the meeting").click()
    gunnel.arrive(gunnel.t("Your wishes for the meeting"))
    gunnel.fill("Where would you like to meet?", "Hemma hos mig")
    gunnel.fill("What time of day suits you best?", "Förmiddag")
    gunnel.fill("How long can the meeting be at most, in minutes?", "60")
    gunnel.field("Picture support (bildstöd): pictures that help explain").check()
    gunnel.button("Save your wishes").click()
    gunnel.arrive(gunnel.t("Your wishes for the meeting"))
    gunnel.message(gunnel.t("Your wishes are saved. Your coordinator can see them now."))
    expect(gunnel.field("Where would you like to meet?")).to_have_value("Hemma hos mig")
    expect(gunnel.field("Picture support (bildstöd): pictures that help explain")).to_be_checked()
    phone.get_by_role("link", name=gunnel.t("Back to the meeting"), exact=True).click()
    gunnel.arrive(gunnel.t("Your meeting"))
    gunnel.back_to_sip(your_sip)

    # How the first goal is going: a face and words, and a comment.
    gunnel.open_part("My follow-up", gunnel.t("How are the goals going?"))
    first_goal = gunnel.t("How is it going with goal %(number)s?") % {"number": 1}
    gunnel.choose(first_goal, GoalRating.Scale.GOOD.label)
    gunnel.fill(
        gunnel.t("Comment on goal %(number)s (if you want to)") % {"number": 1},
        "Jag går till affären med rollatorn.",
    )
    gunnel.button("Send my answers").click()
    gunnel.arrive(gunnel.t("How are the goals going?"))
    gunnel.message(gunnel.t("Thank you. Your answers are saved, and the coordinator sees them."))
    expect(phone.get_by_test_id("latest-rating")).to_contain_text(
        gunnel.t(GoalRating.Scale.GOOD.label)
    )
    gunnel.back_to_sip(your_sip)

    # Sharing with the kommun stops, after a page that says what happens.
    gunnel.open_part("My consent", gunnel.t("Sharing information: your consent"))
    organisations = phone.get_by_test_id("consent-organisations")
    expect(organisations).to_contain_text(county.kommun.name)
    expect(organisations).to_contain_text(county.region.name)
    gunnel.link("Stop sharing").click()
    gunnel.arrive(gunnel.t("Stop sharing"))
    # The coordinator's own organisation can stop only together with everyone.
    expect(phone.get_by_test_id("holding-organisation")).to_contain_text(county.region.name)
    gunnel.choose("Who should stop sharing information about you?", county.kommun.name)
    gunnel.button("Continue").click()
    gunnel.arrive(gunnel.t("Are you sure you want to stop sharing?"))
    named = {"organisation": county.kommun.name}
    expect(phone.get_by_test_id("revocation-consequence")).to_contain_text(
        gunnel.t(
            "Sharing with %(organisation)s stops at once. Their staff can no longer see your SIP."
        )
        % named
    )
    gunnel.button(gunnel.t("Yes, stop sharing with %(organisation)s") % named).click()
    gunnel.arrive(gunnel.t("Sharing has stopped"))
    expect(phone.get_by_test_id("receipt")).to_contain_text(county.kommun.name)
    phone.get_by_role("link", name=gunnel.t("Read about your consent"), exact=True).click()
    gunnel.arrive(gunnel.t("Sharing information: your consent"))
    stopped = organisations.get_by_role("listitem").filter(has_text=county.kommun.name)
    expect(stopped.get_by_test_id("stopped")).to_be_visible()
    gunnel.sign_out()

    # What the record holds: the approval is the person's own, in Min SIP.
    case.refresh_from_db()
    assert case.state == State.PLAN_ESTABLISHED
    plan = case.valid_plan()
    assert plan.pk == proposal.pk
    assert (plan.approved_by, plan.approved_by_name, plan.approved_digitally) == (
        PlanVersion.ApprovedBy.PERSON,
        "Gunnel Åberg",
        True,
    )
    wishes = Preparation.objects.get(case=case)
    assert (wishes.preferred_place, wishes.preferred_time_of_day) == ("Hemma hos mig", "Förmiddag")
    assert (wishes.max_length_minutes, wishes.picture_support) == (60, True)
    [rating] = GoalRating.objects.filter(goal__plan_version=plan)
    assert (rating.goal.text, rating.rating, rating.rated_by_role) == (GOALS[0], 4, "person")
    assert rating.comment == "Jag går till affären med rollatorn."
    scopes = {
        scope.organisation_id: scope.revoked_at
        for scope in ConsentScope.objects.filter(consent__case=case)
    }
    assert scopes[county.kommun.pk] is not None and scopes[county.region.pk] is None
    assert set(
        CaseEvent.objects.filter(case=case, citizen_role="person").values_list("action", flat=True)
    ) == {"approve_plan", "update_preferences", "rate_goals", "revoke_consent_in_part"}
    # The kommun's staff lose the SIP at once; the region's coordinator keeps it.
    assert not cases_visible_to(county.bob).filter(pk=case.pk).exists()
    assert cases_visible_to(county.alice).filter(pk=case.pk).exists()
    # Every read of the person's was logged as theirs, under a pseudonym.
    reads = AuditEvent.objects.filter(case_id=case.pk, action=Action.READ, citizen_role="person")
    assert {"plan", "meeting", "preparation", "goal_rating", "consent"} <= set(
        reads.values_list("what", flat=True)
    )
    assert set(reads.values_list("username", flat=True)) == {
        citizen_log_name(person.identity_number)
    }


def test_a_guardian_approves_the_plan_for_a_child_in_english(new_context, live_server, county):
    child = minor(given_name="Elsa")
    case = proposed_plan(county, person=child)
    number = adult_number(61)
    related_party_of(
        case, kind=RelatedParty.Kind.GUARDIAN, identity_number=number, name="Maria Exempel"
    )
    phone = new_context(viewport=PHONE).new_page()
    maria = Citizen(phone, live_server.url)

    maria.open_sign_in()
    maria.switch_to_english()
    maria.check()
    # The child (15, no own view decided) is no one to sign in as: her guardian is.
    choices = maria.field("Who do you want to be?")
    expect(choices.locator(f"option[value='{number}']")).to_have_count(1)
    expect(choices.locator(f"option[value='{child.identity_number}']")).to_have_count(0)
    maria.demo_sign_in(number)

    title = maria.t("SIP for %(name)s") % {"name": child.full_name}
    maria.open_sip(title)
    expect(phone.get_by_test_id("sip-role")).to_have_text(
        "You are Elsa's guardian. You see everything and answer for Elsa."
    )
    maria.link("Read the plan and answer", phone.get_by_test_id("approval-waiting")).click()
    maria.arrive("The plan")
    proposed = phone.get_by_test_id("plan-proposal")
    expect(proposed).to_contain_text("Elsa's own goals, in Elsa's own words.")
    maria.button("Approve the plan", proposed).click()
    maria.arrive("The plan")
    maria.message("You have approved the plan. It now applies.")
    expect(phone.get_by_test_id("plan-approval")).to_contain_text("by Maria Exempel, in My SIP")

    plan = case.valid_plan()
    assert (plan.approved_by, plan.approved_by_name, plan.approved_digitally) == (
        PlanVersion.ApprovedBy.GUARDIAN,
        "Maria Exempel",
        True,
    )
    assert CaseEvent.objects.get(case=case, action="approve_plan").citizen_role == "guardian"


def test_a_relative_sees_only_the_meetings_and_no_one_reaches_a_plan_by_its_address(
    new_context, live_server, county
):
    case = case_in_state(county, State.PLAN_ESTABLISHED, person=PersonFactory(given_name="Gunnel"))
    stina_number = adult_number(71)
    related_party_of(
        case,
        kind=RelatedParty.Kind.RELATIVE,
        identity_number=stina_number,
        name="Stina Exempel",
        may_see=RelatedParty.Sees.MEETINGS,
    )
    other = case_in_state(county, State.PREPARATION, person=PersonFactory(given_name="Olle"))
    plan_address = f"/mina-sidor/sip/{case.pk}/plan/"
    phone = new_context(viewport=PHONE).new_page()

    # The relative: the meeting page yes; the plan neither linked nor open by its address.
    stina = Citizen(phone, live_server.url)
    stina.demo_sign_in(stina_number)
    title = stina.t("SIP for %(name)s") % {"name": case.person.full_name}
    stina.open_sip(title)
    expect(phone.get_by_test_id("sip-role")).to_have_text(
        stina.t("%(name)s lets you see: meeting times and places.") % {"name": "Gunnel"}
    )
    links = phone.get_by_test_id("sip-links")
    expect(links.get_by_role("link")).to_have_count(1)
    expect(stina.link("The plan", links)).to_have_count(0)
    stina.open_part("The meeting", stina.t("%(name)s's meeting") % {"name": "Gunnel"})
    expect(phone.get_by_test_id("preferences-link")).to_have_count(0)
    stina.expect_not_found(stina.type_address(plan_address))
    refused = AuditEvent.objects.filter(
        case_id=case.pk, what="plan", action=Action.READ, outcome=Outcome.REFUSED
    )
    assert list(refused.values_list("citizen_role", "username")) == [
        ("relative", citizen_log_name(stina_number))
    ]
    stina.type_address("/mina-sidor/")
    stina.arrive(stina.t("My SIPs"))
    stina.sign_out()

    # Another person, signed in to their own SIP, types the addresses of Gunnel's: 404, logged,
    # and a page that looks the same as for a SIP that does not exist.
    olle = Citizen(phone, live_server.url)
    olle.demo_sign_in(other.person.identity_number)
    olle.open_sip(olle.t("Your SIP"))
    olle.expect_not_found(olle.type_address(plan_address))
    guessed = olle.main().inner_text()
    olle.expect_not_found(olle.type_address(f"/mina-sidor/sip/{case.pk}/"))
    missing = case.pk + other.pk + 1000
    olle.expect_not_found(olle.type_address(f"/mina-sidor/sip/{missing}/plan/"))
    assert olle.main().inner_text() == guessed
    olle_rows = AuditEvent.objects.filter(
        username=citizen_log_name(other.person.identity_number), outcome=Outcome.REFUSED
    ).order_by("seq")
    assert [(row.what, row.case_id, row.person_id) for row in olle_rows] == [
        ("plan", case.pk, case.person_id),
        ("sip_case", case.pk, case.person_id),
        ("plan", None, None),
    ]
    assert not AuditEvent.objects.filter(
        case_id=case.pk,
        username=citizen_log_name(other.person.identity_number),
        outcome=Outcome.ALLOWED,
    ).exists()


def test_the_person_stops_all_sharing_without_javascript(new_context, live_server, county):
    case = case_in_state(county, State.PREPARATION, person=PersonFactory(given_name="Karl"))
    phone = new_context(viewport=PHONE, java_script_enabled=False).new_page()
    checker = new_context(viewport=PHONE).new_page()
    karl = Citizen(phone, live_server.url, javascript=False, checker=checker)

    karl.demo_sign_in(case.person.identity_number)
    karl.open_sip(karl.t("Your SIP"))
    karl.open_part("My consent", karl.t("Sharing information: your consent"))
    karl.link("Stop sharing").click()
    karl.arrive(karl.t("Stop sharing"))
    karl.button("Continue").click()  # nothing chosen: the error, next to the field
    karl.arrive(karl.t("Stop sharing"))
    expect(phone.locator(".govuk-error-summary")).to_contain_text(
        karl.t("Choose all, or one organisation.")
    )
    karl.choose(
        "Who should stop sharing information about you?",
        "Everyone: stop all sharing. The SIP ends.",
    )
    karl.button("Continue").click()
    karl.arrive(karl.t("Are you sure you want to stop sharing?"))
    expect(phone.get_by_test_id("revocation-consequence")).to_contain_text(
        karl.t("Your SIP ends. A meeting that is booked is cancelled.")
    )
    karl.button("Yes, stop all sharing").click()
    karl.arrive(karl.t("Sharing has stopped"))

    case.refresh_from_db()
    assert case.state == State.CLOSED
    consent = case.consents.get()
    assert consent.revoked_at is not None
    event = CaseEvent.objects.get(case=case, action="revoke_consent")
    assert (event.actor_id, event.citizen_role) == (None, "person")
