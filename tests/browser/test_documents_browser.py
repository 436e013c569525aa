"""Issue 9's pages in real Chromium, axe-core (WCAG 2.2 AA) on every page visited: the plan as
PDF from the case page (on a 320 px phone), a protected person's print asking why first, the
blank forms and a contingency pack built on demand, the bell, and read-only mode; and the
refused (a unit not taking part, a participant without the pack role)."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.utils import timezone, translation
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from samplan.access.models import AuditEvent
from samplan.cases.models import CaseMessage, State
from samplan.documents.models import ContingencyPack
from samplan.maintenance.mode import is_read_only, switch_off, switch_on
from samplan.people.models import Person
from samplan.reminders.models import Kind, Notification
from tests.browser.steps import Staff
from tests.factories import PersonFactory, case_in_state

pytestmark = pytest.mark.browser

PHONE = {"width": 320, "height": 640}
REASON_MISSING_SV = "Skriv varför du skriver ut planen. Personen har skyddade personuppgifter."
READ_ONLY_SV = "Samplan är i läsläge för planerat underhåll"


def pdf_text(data: bytes) -> str:
    """The PDF's text on one line (pypdf breaks lines where the layout does)."""
    assert data.startswith(b"%PDF-"), data[:20]
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def download(staff: Staff, click) -> tuple[str, bytes]:
    """What `click` downloads: its file name and bytes."""
    with staff.page.expect_download() as info:
        click()
    got = info.value
    assert got.failure() is None, got.failure()
    with open(got.path(), "rb") as file:
        return got.suggested_filename, file.read()


def plural(singular: str, plural_: str, count: int, **values) -> str:
    with translation.override("sv"):
        return translation.ngettext(singular, plural_, count) % {
            "count": count,
            "counter": count,
            **values,
        }


def prints(case) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(case_id=case.pk, action=AuditEvent.Action.PRINT).order_by("seq")
    )


def pdf_link(staff: Staff, number: int, *, person: bool = False):
    text = (
        "Download version %(number)s as PDF in plain language, for the person"
        if person
        else "Download version %(number)s as PDF, for those who take part"
    )
    return staff.page.get_by_test_id("plan-pdf-links").get_by_role(
        "link", name=staff.t(text) % {"number": number}, exact=True
    )


def notify(user, case, count: int) -> list[Notification]:
    return [
        Notification.objects.create(
            user=user,
            case=case,
            key=f"reminder:{Kind.FOLLOW_UP_DUE}:{case.pk}:{n}",
            kind=Kind.FOLLOW_UP_DUE,
            reference=case.reference,
            due_on=timezone.localdate(),
        )
        for n in range(count)
    ]


def test_the_coordinator_downloads_both_plan_pdfs_from_the_case_page_on_a_phone(
    new_context, live_server, county
):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    alice = Staff(new_context(viewport=PHONE).new_page(), live_server.url, width=320)
    alice.sign_in("alice")
    alice.open_case(case.person.full_name)

    name, data = download(alice, pdf_link(alice, 1).click)
    assert name == f"{case.reference}-plan-v1.pdf"
    text = pdf_text(data)
    assert case.reference in text
    assert case.valid_plan().needs_today in text
    alice.check()  # still the case page, unchanged by the download

    name, data = download(alice, pdf_link(alice, 1, person=True).click)
    assert name == f"{case.reference}-plan-v1-person.pdf"
    assert case.reference in pdf_text(data)

    rows = prints(case)
    assert [row.detail for row in rows] == [
        "plan version 1, layout participants",
        "plan version 1, layout person",
    ]
    assert all(row.user_id == county.alice.pk for row in rows)


def test_a_protected_persons_plan_asks_why_before_the_pdf(page: Page, live_server, county):
    person = PersonFactory(protection=Person.Protection.SKYDDAD_FOLKBOKFORING)
    case = case_in_state(county, State.PLAN_ESTABLISHED, person=person)
    alice = Staff(page, live_server.url)
    alice.sign_in("alice")
    alice.open_case(person.full_name)

    pdf_link(alice, 1).click()
    alice.arrive(alice.t("Print version %(number)s of the plan") % {"number": 1})
    expect(page).to_have_url(f"{live_server.url}/sip/{case.pk}/plan/1/pdf/")
    expect(page.get_by_test_id("protected-print-warning")).to_be_visible()
    reason = alice.field("Why do you print the plan?")
    expect(reason).to_have_value("")
    assert prints(case) == []  # the form alone prints nothing

    # Empty: refused, the error next to the field (and in the summary), nothing logged.
    alice.button("Download the plan as PDF").click()
    alice.arrive(alice.t("Print version %(number)s of the plan") % {"number": 1})
    expect(page.locator("#id_reason-error")).to_contain_text(REASON_MISSING_SV)
    expect(reason).to_have_accessible_description(re.compile(re.escape(REASON_MISSING_SV)))
    expect(page.locator(".govuk-error-summary")).to_contain_text(REASON_MISSING_SV)
    assert prints(case) == []

    # With a reason: the PDF, and a PRINT row with the reason.
    reason.fill("Till SIP-mötet i morgon.")
    name, data = download(alice, alice.button("Download the plan as PDF").click)
    assert name == f"{case.reference}-plan-v1.pdf"
    assert case.reference in pdf_text(data)
    (row,) = prints(case)
    assert row.user_id == county.alice.pk
    assert row.person_id == person.pk
    assert row.detail == "plan version 1, layout participants; reason: Till SIP-mötet i morgon."
    assert row.outcome == AuditEvent.Outcome.ALLOWED


def test_a_unit_not_taking_part_gets_404_for_the_plan_pdf(page: Page, live_server, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    charlie = Staff(page, live_server.url)
    charlie.sign_in("charlie")
    for url in (f"/sip/{case.pk}/plan/1/pdf/", f"/sip/{case.pk}/plan/1/pdf/?layout=person"):
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 404
        assert response.headers["content-type"].startswith("text/html")
        expect(charlie.main()).not_to_contain_text(case.reference)
        expect(charlie.main()).not_to_contain_text(case.person.full_name)
        charlie.check()
    assert prints(case) == []
    refused = AuditEvent.objects.filter(user=county.charlie, outcome=AuditEvent.Outcome.REFUSED)
    assert refused.filter(case_id=case.pk).exists()


def test_blank_forms_and_a_contingency_pack_built_on_demand(page: Page, live_server, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    alice = Staff(page, live_server.url)
    alice.sign_in("alice")  # ends on the start page

    forms = page.get_by_test_id("blank-forms")
    for label, kind, title in (
        ("Blank SIP form for adults (PDF)", "adult", "blankett för vuxna"),
        (
            "Blank SIP form for children and young people (PDF)",
            "child",
            "blankett för barn och unga",
        ),
    ):
        name, data = download(alice, alice.link(label, forms).click)
        assert name == f"samplan-blank-sip-form-{kind}.pdf"
        assert title in pdf_text(data)
        assert PdfReader(io.BytesIO(data)).get_fields()  # a form with real fields
        assert case.reference not in pdf_text(data)

    alice.link("Contingency packs: your unit's plans on paper if Samplan is down").click()
    expect(page).to_have_url(f"{live_server.url}/beredskap/")
    alice.arrive(alice.t("Contingency packs"))
    unit = page.get_by_test_id(f"unit-{county.vardcentral.pk}")
    expect(unit.get_by_test_id("no-pack")).to_be_visible()

    unit.get_by_role(
        "button", name=re.compile("^" + re.escape(alice.t("Build a new pack now")))
    ).click()
    alice.arrive(alice.t("Contingency packs"))
    alice.message(
        plural(
            "A new contingency pack for %(unit)s is ready, with %(count)d plan.",
            "A new contingency pack for %(unit)s is ready, with %(count)d plans.",
            1,
            unit=county.vardcentral.name,
        )
    )
    pack = ContingencyPack.objects.get(unit=county.vardcentral)
    newest = unit.get_by_test_id(f"pack-{pack.pk}").get_by_role(
        "link", name=re.compile("^" + re.escape(alice.t("Download the newest pack")))
    )
    exported = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, case_id=case.pk)
    assert not exported.exists()
    name, data = download(alice, newest.click)
    assert name == pack.file_name
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = set(archive.namelist())
        assert {
            "blanketter/SIP-blankett-vuxna.pdf",
            "blanketter/SIP-blankett-barn-och-unga.pdf",
            "index.csv",
            f"planer/{case.reference}-v1.pdf",
        } <= files
        assert case.reference in pdf_text(archive.read(f"planer/{case.reference}-v1.pdf"))
        child = archive.read("blanketter/SIP-blankett-barn-och-unga.pdf")
        assert "blankett för barn och unga" in pdf_text(child)
        index = archive.read("index.csv").decode("utf-8-sig")
        number = case.person.identity_number
        assert f"{case.reference};{case.person.full_name};{number[:8]}-{number[8:]};" in index
    assert exported.filter(user=county.alice).count() == 1  # the download is logged per SIP


def test_a_participant_without_the_pack_role_is_refused_the_packs(page: Page, live_server, county):
    bob = Staff(page, live_server.url)
    bob.sign_in("bob")
    expect(page.get_by_test_id("contingency-link")).to_have_count(0)
    expect(page.get_by_test_id("blank-forms")).to_be_visible()  # blank forms are for everyone
    response = page.goto(f"{live_server.url}/beredskap/")
    assert response.status == 403
    bob.check()
    assert AuditEvent.objects.filter(
        user=county.bob, what="contingency_pack", outcome=AuditEvent.Outcome.REFUSED
    ).exists()


def test_the_bell_in_the_header_leads_to_the_notifications(page: Page, live_server, county):
    case = case_in_state(county, State.MEETING_CALLED)
    notify(county.alice, case, 3)
    notify(county.bob, case, 1)  # another user's: not counted, not listed
    alice = Staff(page, live_server.url)
    alice.sign_in("alice")

    bell = alice.header().get_by_test_id("bell")
    count = plural("%(counter)s unread", "%(counter)s unread", 3)
    expect(bell.locator(".samplan-bell-count")).to_be_visible()
    expect(bell.locator(".samplan-bell-count")).to_have_text(count)
    bell.click()
    expect(page).to_have_url(f"{live_server.url}/notiser/")
    alice.arrive(alice.t("Notifications"))
    expect(bell).to_have_attribute("aria-current", "page")
    items = page.get_by_test_id("notification")
    expect(items).to_have_count(3)
    for item in items.all():
        expect(item).to_contain_text(case.reference)
        expect(item).not_to_contain_text(case.person.full_name)

    alice.button("Mark all as read").click()
    alice.arrive(alice.t("Notifications"))
    expect(bell.locator(".samplan-bell-count")).to_have_count(0)
    expect(items).to_have_count(3)
    assert not Notification.objects.filter(user=county.alice, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=county.bob, read_at__isnull=True).count() == 1

    # A notification leads to its SIP's page.
    items.first.get_by_role("link").click()
    alice.arrive(case.person.full_name)


def test_read_only_mode_shows_a_banner_and_refuses_writes(page: Page, live_server, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    notify(county.alice, case, 1)
    alice = Staff(page, live_server.url)
    alice.sign_in("alice")
    banner = page.get_by_role("region", name=alice.t("Read-only: planned maintenance"))
    expect(banner).to_have_count(0)

    assert switch_on("browser test", "Klart kl. 06.00")
    try:
        page.goto(f"{live_server.url}/start/")
        alice.arrive(alice.t("To do"))
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("Klart kl. 06.00")

        alice.open_case(case.person.full_name)
        expect(banner).to_be_visible()

        # A form on the case page: refused with the message, what was typed kept.
        form = page.get_by_test_id("message-form")
        body = alice.field("Message", form)
        body.fill("Skrivet under underhållet.")
        alice.button("Send message", form).click()
        thread = page.get_by_test_id("messages")
        expect(thread.locator(".govuk-error-summary")).to_contain_text(READ_ONLY_SV)
        expect(alice.field("Message", form)).to_have_value("Skrivet under underhållet.")
        alice.check()
        assert not CaseMessage.objects.filter(case=case).exists()

        # A write no form catches: the read-only page, nothing saved.
        alice.header().get_by_test_id("bell").click()
        alice.arrive(alice.t("Notifications"))
        alice.button("Mark all as read").click()
        alice.arrive(alice.t("Nothing was saved"))
        expect(alice.main()).to_contain_text(READ_ONLY_SV)
        assert Notification.objects.filter(user=county.alice, read_at__isnull=True).count() == 1
    finally:
        switch_off("browser test")
    assert not is_read_only()

    # Off again: no banner, and the same message is sent.
    alice.open_case(case.person.full_name)
    expect(banner).to_have_count(0)
    form = page.get_by_test_id("message-form")
    alice.field("Message", form).fill("Skrivet efter underhållet.")
    alice.button("Send message", form).click()
    expect(page.get_by_test_id("message-thread")).to_contain_text("Skrivet efter underhållet.")
    alice.check()
    assert CaseMessage.objects.filter(case=case).count() == 1
