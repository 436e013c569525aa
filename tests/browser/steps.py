"""What a member of staff does in the browser, one step of the SIP at a time, in the language of
the page. Each step goes only through the pages (links, labels, buttons) and checks every page
state it reaches with axe-core (WCAG 2.2 A/AA) and, on a narrow screen, that nothing is wider
than the screen.

Texts are looked up in the same translation catalogue the server uses, so a step written with
the English text finds the Swedish label on a Swedish page, whatever the translators chose."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils import timezone, translation
from django.utils.functional import Promise
from playwright.sync_api import Locator, Page, expect

from samplan.cases import services
from samplan.cases.models import (
    Consent,
    Invitation,
    Meeting,
    PlanVersion,
    SipCase,
    State,
)
from samplan.directory.models import Assignment, Unit, User
from samplan.people.identity import make_identity_number
from tests import factories
from tests.browser.a11y import assert_accessible
from tests.two_factor import authenticator, code_now

PASSWORD = "correct horse battery"


class Staff:
    """One browser tab of one member of staff."""

    def __init__(self, page: Page, base_url: str, *, language: str = "sv", width: int = 0):
        self.page = page
        self.base_url = base_url
        self.language = language
        self.width = width  # the screen's width, to check nothing is wider; 0: not checked

    # -- the page's language --

    def t(self, text: str | Promise) -> str:
        """`text` as the page shows it: the server's own catalogue in the page's language."""
        with translation.override(self.language):
            return str(text) if isinstance(text, Promise) else translation.gettext(text)

    def state(self, state: State) -> str:
        return self.t(state.label)

    # -- finding things by what the user reads --

    def field(self, label: str | Promise, within: Locator | None = None) -> Locator:
        return (within or self.page).get_by_label(self.t(label), exact=True)

    def group(self, legend: str | Promise, within: Locator | None = None) -> Locator:
        return (within or self.page).get_by_role("group", name=self.t(legend), exact=True)

    def button(self, text: str | Promise, within: Locator | None = None) -> Locator:
        return (within or self.main()).get_by_role("button", name=self.t(text), exact=True)

    def link(self, text: str | Promise, within: Locator | None = None) -> Locator:
        return (within or self.main()).get_by_role("link", name=self.t(text), exact=True)

    def fill(self, label, value: str, within: Locator | None = None) -> None:
        self.field(label, within).fill(value)

    def choose(self, legend, option, within: Locator | None = None) -> None:
        self.field(option, self.group(legend, within)).check()

    # -- what the user sees --

    def arrive(self, heading: str) -> None:
        """The page (or page state) with this h1, checked."""
        expect(self.h1()).to_have_text(heading)
        self.check()

    def check(self) -> None:
        # htmx swaps a part of the page in place: check the page once it has settled.
        self.page.wait_for_function("() => !document.querySelector('.htmx-request')")
        expect(self.page.locator("html")).to_have_attribute("lang", self.language)
        if self.width:
            wide = self.page.evaluate("document.documentElement.scrollWidth")
            assert wide <= self.width, f"{self.page.url} is {wide} px wide at {self.width} px"
        assert_accessible(self.page)

    def message(self, text: str) -> None:
        banners = self.page.get_by_role("region", name=self.t("Message"))
        expect(banners.filter(has_text=text)).to_be_visible()

    def main(self) -> Locator:
        return self.page.get_by_role("main")

    def section(self, heading: str) -> Locator:
        """A section of the page, named by its heading."""
        return self.page.get_by_role("region", name=self.t(heading), exact=True)

    def h1(self) -> Locator:
        return self.page.get_by_role("heading", level=1)

    def header(self) -> Locator:
        return self.page.get_by_role("banner")

    # -- signing in and out, the language --

    def sign_in(self, username: str) -> None:
        """Password, then the code the member of staff's authenticator app shows now."""
        device = authenticator(User.objects.get(username=username))
        self.page.goto(f"{self.base_url}/konto/logga-in/")
        self.arrive(self.t("Sign in"))
        self.fill("User name", username)
        self.fill("Password", PASSWORD)
        self.button("Sign in").click()
        self.arrive(self.t("Enter your code"))
        self.fill("Code", code_now(device))
        self.button("Continue").click()
        expect(self.page).to_have_url(f"{self.base_url}/start/")
        self.arrive(self.t("To do"))

    def sign_out(self) -> None:
        self.header().get_by_role("button", name=self.t("Sign out")).click()
        expect(self.page).to_have_url(f"{self.base_url}/")
        self.check()

    def switch_to_english(self) -> None:
        self.header().get_by_role("button", name="In English").click()
        self.language = "en"
        expect(self.page.locator("html")).to_have_attribute("lang", "en")

    def open_case(self, person_name: str) -> None:
        """From the search page (the list of SIPs) through the main menu."""
        self.header().get_by_role("link", name=self.t("Search")).click()
        self.arrive(self.t("Search SIPs"))
        self.link(person_name).click()
        self.arrive(person_name)

    def next_step(self, text: str) -> None:
        """The case page's "next step" button, which says what to do now."""
        link = self.page.get_by_test_id("next-step-link")
        expect(link).to_have_text(self.t(text))
        link.click()

    def expect_state(self, state: State) -> None:
        expect(self.page.get_by_test_id("case-state")).to_contain_text(self.state(state))


# --- The steps of a SIP ------------------------------------------------------------------------


@dataclass
class NewPerson:
    """The person a new SIP is for, as the coordinator types them in."""

    given_name: str
    family_name: str
    identity_number: str

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @classmethod
    def make(cls, given_name: str, serial: int) -> NewPerson:
        return cls(given_name, "Exempel", make_identity_number(dt.date(1948, 3, 9), serial))


def start_a_new_sip(staff: Staff, person: NewPerson, reason: str) -> None:
    """Ny SIP from the main menu: the identity number (checked as it is typed), registering the
    person, the initiative; ends on the new SIP's page."""
    staff.header().get_by_role("link", name=staff.t("New SIP")).click()
    staff.arrive(staff.t("Who is the SIP for?"))
    number = f"{person.identity_number[:8]}-{person.identity_number[8:]}"
    staff.field("Identity number").press_sequentially(number)
    expect(staff.main().get_by_text(staff.t("The number is valid"))).to_be_visible()
    staff.check()
    staff.button("Find the person").click()

    staff.arrive(staff.t("Register the person"))
    expect(staff.field("Identity number")).to_have_value(number)
    staff.fill("Given name", person.given_name)
    staff.fill("Family name", person.family_name)
    staff.fill("Address (optional)", "Storgatan 1, Testby")
    staff.button("Register and continue").click()

    staff.arrive(staff.t("A SIP for %(name)s") % {"name": person.full_name})
    staff.message(staff.t("The person is registered."))
    staff.choose("Who took the initiative?", SipCase.InitiatedBy.STAFF.label)
    staff.fill("Why is a SIP needed?", reason)
    staff.choose("Kind of SIP", SipCase.Kind.STANDARD.label)
    staff.button("Start the SIP").click()

    staff.arrive(person.full_name)
    staff.message(staff.t("The SIP is started. Next: give the person information."))
    staff.expect_state(State.INITIATED)


def record_information(staff: Staff, person: NewPerson) -> None:
    staff.next_step("Record the information")
    staff.arrive(staff.t("Information given"))
    staff.fill("Note (optional)", "Muntligt och skriftligt vid hembesök.")
    staff.button("Record the information").click()
    staff.arrive(person.full_name)
    staff.message(staff.t("Information given is recorded."))
    staff.expect_state(State.INFORMED)


def record_consent(staff: Staff, person: NewPerson, *, add: str, covered: list[str]) -> None:
    """Consent given in writing by the person, for the organisations taking part and `add`,
    added from the directory with the page's own "add" button."""
    staff.next_step("Record the answer about consent")
    staff.arrive(staff.t("The person's answer about consent"))
    staff.choose("The person's answer", Consent.Decision.GIVEN.label)
    staff.field("Another organisation from the directory").select_option(label=add)
    staff.button("Add the organisation to the list").click()
    staff.arrive(staff.t("The person's answer about consent"))
    organisations = staff.group("Organisations that may exchange information")
    for name in covered:
        expect(staff.field(name, organisations)).to_be_checked()
    # What was chosen before adding is kept.
    expect(
        staff.field(Consent.Decision.GIVEN.label, staff.group("The person's answer"))
    ).to_be_checked()
    staff.fill("Which information may be shared", "Behov, insatser och planen.")
    staff.choose("How the answer was given", Consent.Method.WRITTEN.label)
    staff.choose("Who answered", Consent.GivenBy.PERSON.label)
    staff.fill("Name of the one who answered", person.full_name)
    staff.button("Record the answer").click()
    staff.arrive(person.full_name)
    staff.message(staff.t("Consent is recorded."))
    staff.expect_state(State.CONSENTED)
    for name in covered:
        expect(staff.page.get_by_test_id("consent")).to_contain_text(name)


@dataclass
class Preferences:
    needs: str = "Hur Gunnel ska klara sig hemma efter fallet."
    place: str = "Hemma hos Gunnel"
    time_of_day: str = "förmiddag"
    longest: int = 60
    disturbances: str = "Många människor i rummet samtidigt."


def prepare(staff: Staff, person: NewPerson, *, invite: str, preferences: Preferences) -> None:
    """Start the preparation, add the unit the person wants invited, write the needs and the
    meeting preferences; ends on the preparation page."""
    staff.next_step("Start the preparation")
    staff.arrive(staff.t("Preparation"))
    staff.button("Start the preparation").click()
    staff.arrive(staff.t("Preparation"))
    staff.message(staff.t("The preparation has started."))
    staff.field("Add a unit the person wants invited").select_option(label=invite)
    staff.button("Add the unit").click()
    staff.arrive(staff.t("Preparation"))
    staff.message(staff.t("%(unit)s is added to the units taking part.") % {"unit": invite})
    units = staff.page.get_by_role("table", name=staff.t("Units taking part"))
    expect(units).to_contain_text(invite)

    staff.fill("What should the meeting discuss?", preferences.needs)
    staff.fill("Best place", preferences.place)
    staff.fill("Best time of day", preferences.time_of_day)
    staff.fill("Longest meeting, in minutes", str(preferences.longest))
    staff.fill("What may disturb the person", preferences.disturbances)
    staff.field("Picture support (bildstöd)").check()
    staff.button("Save the preparation").click()
    staff.arrive(staff.t("Preparation"))
    staff.message(staff.t("The preparation is saved."))
    expect(staff.field("What should the meeting discuss?")).to_have_value(preferences.needs)
    expect(staff.field("Picture support (bildstöd)")).to_be_checked()


def call_meeting(
    staff: Staff, person: NewPerson, when: dt.datetime, *, units: list[str], follow_up=False
) -> None:
    """Kallelse: a time, the place the person prefers (filled in from the preparation), the
    units taking part and the person; ends on the meeting's page."""
    title = "Call the follow-up meeting" if follow_up else "Call the SIP meeting"
    staff.arrive(staff.t(title))
    staff.fill("Date", f"{when:%Y-%m-%d}")
    staff.fill("Time", f"{when:%H:%M}")
    staff.fill("Length, in minutes", "45")
    who = staff.group("Units to call")
    for unit in units:
        expect(who.get_by_label(re.compile(rf"^{re.escape(unit)} \("))).to_be_checked()
    expect(staff.field("Invite the person")).to_be_checked()
    staff.fill("How the person's preferences are met", "Bildstöd finns med; högst fyra i rummet.")
    staff.check()
    staff.button("Call the follow-up meeting" if follow_up else "Call the meeting").click()
    kind = Meeting.Kind.FOLLOW_UP if follow_up else Meeting.Kind.SIP
    staff.arrive(f"{staff.t(kind.label)} {timezone.localtime(when):%Y-%m-%d %H:%M}")
    staff.message(
        staff.t("The follow-up meeting is called.")
        if follow_up
        else staff.t("The SIP meeting is called. Everyone called is obliged to attend.")
    )
    unanswered = staff.page.get_by_test_id("unanswered")
    for name in [*units, person.full_name]:
        expect(unanswered).to_contain_text(name)


def answer_the_call(staff: Staff, person: NewPerson, unit: str) -> None:
    """A participant finds the call to their unit on the start page and accepts it."""
    invitations = staff.page.get_by_test_id("section-invitations")
    expect(invitations).to_contain_text(person.full_name)
    expect(invitations).to_contain_text(
        staff.t("Answer the meeting call for %(unit)s") % {"unit": unit}
    )
    staff.link(person.full_name, invitations).click()
    staff.arrive(person.full_name)
    staff.link("Answer the call to your unit").click()
    expect(staff.h1()).to_contain_text(staff.t(Meeting.Kind.SIP.label))
    staff.check()
    form = staff.page.locator("form").filter(
        has=staff.page.get_by_role("heading", name=staff.t("Answer for %(name)s") % {"name": unit})
    )
    staff.choose("Answer", "Accepts, will attend", form)
    staff.button("Record the answer", form).click()
    staff.message(staff.t("The answer is recorded."))
    staff.check()
    row = staff.page.get_by_role("row").filter(has_text=unit)
    expect(row).to_contain_text(staff.t(Invitation.Answer.ACCEPTED.label))


def record_attendance(staff: Staff, person: NewPerson, present: list[str]) -> None:
    """From the case page: the meeting, "record who came"; those who never answered are
    confirmed as having come without answering."""
    kind = re.escape(staff.t(Meeting.Kind.SIP.label))
    staff.main().get_by_role("link", name=re.compile(rf"^{kind} \d{{4}}-")).click()
    expect(staff.h1()).to_contain_text(staff.t(Meeting.Kind.SIP.label))
    staff.check()
    staff.link("Record who came").click()
    staff.arrive(staff.t("Who came"))
    for name in present:
        staff.field(name).check()
        unanswered = staff.t("{name} came without answering").format(name=name)
        if staff.field(unanswered).count():
            staff.field(unanswered).check()
    staff.button("Record attendance").click()
    staff.message(staff.t("Attendance is recorded."))
    staff.check()
    staff.link("Back to the SIP").click()
    staff.arrive(person.full_name)


@dataclass
class InterventionText:
    description: str
    responsible: str  # the option as the editor lists it
    contact: str
    ends: str = "Vid uppföljningen"


def _numbered(staff: Staff, text: str, number: int) -> str:
    return staff.t(text) % {"number": number}


def write_goal(staff: Staff, number: int, text: str) -> None:
    goal = staff.group(_numbered(staff, "Goal %(number)s", number))
    staff.fill("In the person's own words", text, goal)


def write_intervention(staff: Staff, number: int, item: InterventionText) -> None:
    row = staff.group(_numbered(staff, "Intervention %(number)s", number))
    staff.fill("Intervention", item.description, row)
    staff.field("Responsible", row).select_option(label=item.responsible)
    staff.fill("Named contact", item.contact, row)
    staff.fill("Starts", f"{timezone.localdate():%Y-%m-%d}", row)
    staff.fill("Or when it ends, in words", item.ends, row)


def write_attendee(staff: Staff, number: int, name: str, represents: str) -> None:
    row = staff.group(_numbered(staff, "Attendee %(number)s", number))
    staff.fill("Name", name, row)
    staff.fill("Represents", represents, row)


def fill_plan(
    staff: Staff,
    *,
    needs: str,
    goals: list[str],
    interventions: list[InterventionText],
    main_responsible: str,
    follow_up_on: dt.date,
) -> None:
    """Every part of the plan; a second goal and intervention are added with the editor's own
    buttons (htmx swaps the part in place; what was typed stays)."""
    staff.fill("The person's needs today", needs)
    write_goal(staff, 1, goals[0])
    for number, text in enumerate(goals[1:], start=2):
        staff.button("Add another goal").click()
        expect(staff.group(_numbered(staff, "Goal %(number)s", number))).to_be_visible()
        staff.check()
        write_goal(staff, number, text)
    write_intervention(staff, 1, interventions[0])
    for number, item in enumerate(interventions[1:], start=2):
        staff.button("Add another intervention").click()
        expect(staff.group(_numbered(staff, "Intervention %(number)s", number))).to_be_visible()
        staff.check()
        write_intervention(staff, number, item)
    # Adding rows kept everything typed before.
    expect(staff.field("The person's needs today")).to_have_value(needs)
    goal_one = staff.group(_numbered(staff, "Goal %(number)s", 1))
    expect(staff.field("In the person's own words", goal_one)).to_have_value(goals[0])
    staff.field("Overall responsibility (huvudansvar)").select_option(label=main_responsible)
    staff.fill("How the interventions are coordinated", "Avstämning per telefon varje vecka.")
    staff.fill("Follow-up date", f"{follow_up_on:%Y-%m-%d}")
    staff.fill("When the cooperation ends", "När Gunnel klarar sig med hemtjänst enbart.")
    staff.fill("What is expected of the person", "Gå med rollatorn varje dag.")
    staff.fill("What is expected of relatives", "Dottern handlar varje vecka.")


def save_and_check_plan(staff: Staff, version: int) -> None:
    staff.button("Save and check what is missing").click()
    staff.arrive(_numbered(staff, "Plan: draft of version %(number)s", version))
    staff.message(staff.t("The plan draft is saved."))
    expect(staff.page.get_by_test_id("plan-complete")).to_be_visible()


def establish_plan(staff: Staff, person: NewPerson, version: int) -> None:
    """From the checked draft: the person's approval, recorded by the coordinator."""
    staff.page.get_by_test_id("plan-complete").get_by_role(
        "link", name=staff.t("Go on to the person's approval")
    ).click()
    staff.arrive(staff.t("Establish the plan"))
    staff.choose("Who approved the plan?", PlanVersion.ApprovedBy.PERSON.label)
    staff.fill("Name of the one who approved", person.full_name)
    staff.button("Establish the plan").click()
    staff.arrive(person.full_name)
    staff.message(staff.t("Version %(number)s of the plan is established.") % {"number": version})
    staff.expect_state(State.PLAN_ESTABLISHED)


def evaluate(staff: Staff, goals: dict[str, Promise], interventions: dict[str, str]) -> None:
    """The follow-up page: every goal and intervention judged, with the person's own view."""
    staff.arrive(staff.t("Follow-up"))
    for number, (text, result) in enumerate(goals.items(), start=1):
        goal = staff.page.get_by_role("group", name=_numbered(staff, "Goal %(number)s", number))
        expect(goal.first).to_contain_text(text)
        staff.choose("Is the goal reached?", result, goal.first)
        staff.fill("Comment", "Går till affären med rollator.", goal.first)
        staff.fill("The person's own view, in their words", "Jag klarar mig bättre nu.", goal.first)
    for number, (text, result) in enumerate(interventions.items(), start=1):
        row = staff.page.get_by_role(
            "group", name=_numbered(staff, "Intervention %(number)s", number)
        ).first
        expect(row).to_contain_text(text)
        staff.choose("Did the intervention work?", result, row)
        staff.fill("The person's own view, in their words", "Bra att de kommer i tid.", row)
    staff.button("Save the follow-up").click()
    staff.arrive(staff.t("Follow-up"))
    staff.message(staff.t("The follow-up is recorded. Revise the plan or plan the next step."))
    expect(staff.page.get_by_role("heading", name=staff.t("Next steps"))).to_be_visible()
    # The form shows what was recorded.
    for number, result in enumerate(goals.values(), start=1):
        goal = staff.page.get_by_role("group", name=_numbered(staff, "Goal %(number)s", number))
        expect(staff.field(result, staff.group("Is the goal reached?", goal.first))).to_be_checked()


def close(staff: Staff, person: NewPerson, reason: Promise, note: str) -> None:
    staff.link("Close the SIP").click()
    staff.arrive(staff.t("Close the SIP"))
    staff.choose("Why is the SIP closed?", reason)
    staff.fill("Note", note)
    staff.button("Close the SIP").click()
    staff.arrive(person.full_name)
    staff.message(staff.t("The SIP is closed. Everything recorded stays readable."))


# --- Data made through the services, for the tests that start in the middle ------------------


@dataclass
class KommunLed:
    """A SIP coordinated by a kommun unit (karin, coordinator at Hemtjänst Norr) with a region
    unit taking part (vera, participant at Vårdcentral Centrum), consent covering both, and the
    SIP meeting called."""

    case: SipCase
    karin: User
    vera: User


def kommun_led_case(county) -> KommunLed:
    karin = factories.staff(
        county.hemtjanst, Assignment.Role.COORDINATOR, username="karin", first_name="Karin"
    )
    vera = factories.staff(
        county.vardcentral, Assignment.Role.PARTICIPANT, username="vera", first_name="Vera"
    )
    case = services.initiate_case(
        actor=karin,
        person=factories.PersonFactory(given_name="Gunnel"),
        initiating_unit=county.hemtjanst,
        coordinator=karin,
    )
    services.record_information(case, actor=karin, expected_version=case.lock_version)
    factories.consent_to(case, karin, [county.kommun, county.region])
    services.start_preparation(case, actor=karin, expected_version=case.lock_version)
    services.add_participant(case, actor=karin, unit=county.vardcentral, chosen_by_person=True)
    services.call_meeting(
        case,
        actor=karin,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=factories.future(),
            duration_minutes=45,
            place="Hemma",
            units=[county.hemtjanst, county.vardcentral],
        ),
    )
    case.refresh_from_db()
    return KommunLed(case, karin, vera)


def unit_label(unit: Unit) -> str:
    """A unit as the plan editor lists it."""
    return f"{unit.name}, {unit.organisation.name}"
