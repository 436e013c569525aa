"""What a private individual (the person, a guardian, a relative) does in Min SIP in the browser,
on a phone: the same finders as a member of staff (tests/browser/steps.py: texts looked up in the
server's own catalogue, so a step written in English finds the Swedish label), with every page
state checked by axe-core (WCAG 2.2 A/AA), for the page's language and for nothing wider than
the screen. Also the data the stories start from, made through the services."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from playwright.sync_api import Page, expect

from samplan.cases import services
from samplan.cases.models import PlanVersion, SipCase, State
from samplan.people.identity import make_identity_number
from samplan.people.models import Person
from tests import factories
from tests.browser.a11y import assert_accessible
from tests.browser.steps import Staff

PHONE = {"width": 320, "height": 640}


class Citizen(Staff):
    """One phone of one private individual signed in to Min SIP (or about to be)."""

    def __init__(
        self,
        page: Page,
        base_url: str,
        *,
        language: str = "sv",
        width: int = PHONE["width"],
        javascript: bool = True,
        checker: Page | None = None,
    ):
        super().__init__(page, base_url, language=language, width=width)
        self.javascript = javascript
        # axe-core cannot run in a page whose scripts are off: without JavaScript, each page
        # state is checked in `checker` (a page with scripts on, in a context of its own).
        assert javascript or checker is not None, "a page without JavaScript needs a checker"
        self.checker = checker

    def url(self, name: str, *args) -> str:
        return f"{self.base_url}{reverse(f'mypages:{name}', args=args)}"

    def check(self) -> None:
        if self.javascript:  # htmx swaps parts in place only when scripts run
            self.page.wait_for_function("() => !document.querySelector('.htmx-request')")
        expect(self.page.locator("html")).to_have_attribute("lang", self.language)
        if self.width:
            wide = self.page.evaluate("document.documentElement.scrollWidth")
            assert wide <= self.width, f"{self.page.url} is {wide} px wide at {self.width} px"
        if self.javascript:
            assert_accessible(self.page)
        else:
            self._check_as_served()

    def _check_as_served(self) -> None:
        """axe-core on exactly this page state, as the server sent it: its HTML served again at
        its own address (so the styles load as before) to the checker, whose copy runs none of
        the page's own scripts."""
        html, address = self.page.content(), self.page.url

        def serve(route):
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

        self.checker.route(lambda url: url == address, serve)
        self.checker.route("**/*.js", lambda route: route.abort())
        try:
            self.checker.goto(address)
            assert_accessible(self.checker)
        finally:
            self.checker.unroute_all()

    # -- signing in and out --

    def open_sign_in(self) -> None:
        self.page.goto(self.url("sign_in"))
        self.arrive(self.t("Sign in to My SIP"))

    def sign_in_with_e_identification(self, provider_user) -> None:
        """The sign-in page's button, the identity provider's own page (BankID or Freja in real
        life; the test provider on 127.0.0.1 here: not Samplan's page, so not checked), and
        back to My SIPs."""
        self.open_sign_in()
        self.button("Sign in with BankID or Freja e-identification").click()
        self.page.get_by_label("User name").fill(provider_user.username)
        self.page.get_by_label("Password").fill(provider_user.password)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page).to_have_url(self.url("home"))
        self.arrive(self.t("My SIPs"))

    def demo_sign_in(self, identity_number: str) -> None:
        """The sign-in page's clearly marked demo sign-in (fictitious people only)."""
        self.open_sign_in()
        demo = self.page.get_by_test_id("demo-sign-in")
        self.field("Who do you want to be?", demo).select_option(value=identity_number)
        self.button("Sign in as this person (demo)", demo).click()
        expect(self.page).to_have_url(self.url("home"))
        self.arrive(self.t("My SIPs"))

    def sign_out(self) -> None:
        self.header().get_by_role("button", name=self.t("Sign out")).click()
        expect(self.page).to_have_url(self.url("about"))
        self.check()

    # -- moving about --

    def open_sip(self, title: str) -> None:
        """From My SIPs: the card of one SIP, by its title ("Your SIP", "SIP for …")."""
        cards = self.page.get_by_test_id("open-sips")
        cards.get_by_role("link", name=title, exact=True).click()
        self.arrive(title)

    def open_part(self, text: str, heading: str) -> None:
        """From a SIP's overview: one of the pages the capacity opens."""
        self.link(text, self.page.get_by_test_id("sip-links")).click()
        self.arrive(heading)

    def back_to_sip(self, title: str) -> None:
        """The page's way back to the SIP's overview: its back link, or the breadcrumbs."""
        back = self.page.get_by_role("link", name=self.t("Back to the SIP"), exact=True)
        if back.count():
            back.first.click()
        else:
            crumbs = self.page.get_by_role("navigation", name=self.t("Breadcrumb"))
            crumbs.get_by_role("link", name=title, exact=True).click()
        self.arrive(title)

    def type_address(self, path: str):
        """A URL typed by hand; the response, to see its status."""
        return self.page.goto(f"{self.base_url}{path}")

    def expect_not_found(self, response) -> None:
        assert response.status == 404, f"{response.url}: {response.status}"
        self.arrive(self.t("Page not found"))


# --- Data the stories start from ---------------------------------------------------------------


def proposed_plan(county: factories.County, *, person: Person | None = None) -> SipCase:
    """A SIP coordinated by alice (Vårdcentral Centrum, the region) with bob's Hemtjänst Norr
    (the kommun) taking part and consent covering both; the SIP meeting has been held and alice
    has put a complete plan before the person for approval (services.propose_plan)."""
    case = factories.case_in_state(county, State.MEETING_CALLED, person=person)
    factories.ready_to_establish(case, county.alice)
    draft = services.save_plan_draft(
        case,
        actor=county.alice,
        expected_version=None,
        data=factories.complete_draft(
            county,
            goals=[
                "Jag vill kunna gå till affären själv till sommaren.",
                "Jag vill duscha själv utan att vara rädd.",
            ],
        ),
    )
    services.propose_plan(case, actor=county.alice, expected_version=draft.lock_version)
    case.refresh_from_db()
    return case


def proposal_of(case: SipCase) -> PlanVersion:
    return case.plan_versions.get(status=PlanVersion.Status.DRAFT)


def adult_number(serial: int) -> str:
    return make_identity_number(dt.date(1971, 4, 12), serial)
