"""The plan as PDF (issue 9): real PDFs rendered by WeasyPrint and read back with pypdf. Every
mandatory part, å ä ö, page numbers and the footer, version and approval, tagged PDF/UA with
fonts embedded; the staff download (a protected person's print asks why, and never has an
address) and Min SIP's, each audited as PRINT; and the refused."""

from __future__ import annotations

import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from pypdf import PdfReader

from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import PlanVersion, State
from samplan.documents.plan_pdf import plan_pdf
from samplan.people.models import Person, RelatedParty
from tests.citizens import make_identity_number, sign_in_as_person, sign_in_citizen
from tests.domain_helpers import audit_rows
from tests.factories import PersonFactory, case_in_state, complete_draft, related_party_of

ADDRESS = "Hemliga vägen 7, 987 65 Åby"


def read(data: bytes) -> PdfReader:
    assert data.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(data))


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in read(data).pages)


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def established(county):
    county.hemtjanst.phone = "0346-123 45"
    county.hemtjanst.save()
    county.vardcentral.phone = "035-98 76 54"
    county.vardcentral.save()
    return case_in_state(county, State.PLAN_ESTABLISHED)


def valid_plan(case) -> PlanVersion:
    return case.plan_versions.get(status=PlanVersion.Status.VALID)


# --- The document -----------------------------------------------------------------------------


def test_participants_layout_has_every_mandatory_part(established):
    plan = valid_plan(established)
    with translation.override("en"):
        text = one_line(text_of(plan_pdf(plan, layout="participants")))
    for part in (
        # Each mandatory part of SIP.md, with its heading and the plan's words (å ä ö included).
        "Needs today",
        "Kan inte duscha själv; ostadig gång.",
        "The person's own goals",
        "Jag vill kunna gå till affären själv till sommaren.",
        "Interventions",
        "Hemtjänst morgon och kväll",
        "Testby kommun, Hemtjänst Norr",  # responsible organisation and unit
        "Lena Berg",  # named contact
        "0346-123 45",  # with the unit's phone
        plan.interventions.get().starts_on.isoformat(),
        "Ses över om tre månader",  # the end, in words
        "Overall responsibility (huvudansvar)",
        "Vårdcentral Centrum, phone 035-98 76 54",
        "Vårdcentralen samordnar; veckovis avstämning per telefon.",
        f"The plan is followed up on {plan.follow_up_on.isoformat()}.",
        "När hon klarar sig med hemtjänst enbart.",
        "Gå med rollatorn dagligen.",
        "Dottern handlar varje vecka.",
        "Who took part",
        "Gunnel (personen)",
        "Lena Berg (Hemtjänst Norr)",
        established.person.full_name,
        established.person.display_identity,
    ):
        assert part in text, part
    # Version and approval: by whom as a role and a name, when, and how.
    approved = timezone.localdate(plan.approved_at).isoformat()
    assert f"Version 1. Approved {approved} by The person (Gunnel)." in text
    assert "Approved at the meeting or on paper; recorded by the SIP coordinator." in text


def test_every_page_has_its_number_and_the_footer(established):
    plan = valid_plan(established)
    with translation.override("en"):
        reader = read(plan_pdf(plan))
    pages = len(reader.pages)
    assert pages >= 2
    for number, page in enumerate(reader.pages, start=1):
        text = one_line(page.extract_text())
        assert f"Page {number} of {pages}" in text
        assert established.reference in text
        assert re.search(rf"{established.reference} · Version 1 · Printed \d{{4}}-\d\d-\d\d", text)


def test_swedish_by_default_with_a_a_o_right(established):
    text = one_line(text_of(plan_pdf(valid_plan(established))))
    assert "Behov i dag" in text
    assert "Den enskildes egna mål" in text
    assert "Förväntas av närstående" in text
    assert "Vilka som deltog" in text
    assert "Hemtjänst Norr" in text and "Åby" not in text


def test_pdf_is_tagged_titled_in_the_language_with_fonts_embedded(established):
    with translation.override("sv"):
        reader = read(plan_pdf(valid_plan(established)))
    catalog = reader.trailer["/Root"]
    assert "/StructTreeRoot" in catalog
    assert bool(catalog["/MarkInfo"]["/Marked"])
    assert catalog["/Lang"] == "sv"
    assert established.reference in reader.metadata.title
    descriptors = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for part in font.get("/DescendantFonts", [font]):
                descriptors.append(part.get_object()["/FontDescriptor"].get_object())
    assert descriptors
    for descriptor in descriptors:
        assert "/FontFile2" in descriptor or "/FontFile3" in descriptor, descriptor["/FontName"]
    assert any("DejaVu-Sans" in str(d["/FontName"]) for d in descriptors)


def test_person_layout_speaks_plain_words(established):
    plan = valid_plan(established)
    with translation.override("en"):
        to_person = one_line(text_of(plan_pdf(plan, layout="person")))
        about_person = one_line(text_of(plan_pdf(plan, layout="person", for_person=False)))
    for words in (
        "My plan",
        "Your own goals, in your own words.",
        "Who to call",
        "What is expected of you",
        "What is expected of the family",
        "Everyone meets again on",
        "One unit has the main responsibility (huvudansvar) for the plan.",
        "Hemtjänst morgon och kväll",
        "Lena Berg",
        "0346-123 45",
        "Ses över om tre månader",
        "Gå med rollatorn dagligen.",
        "Gunnel (personen)",
    ):
        assert words in to_person, words
    assert "Version 1. Approved on" in to_person
    assert "The person's own goals" not in to_person  # the formal wording is the other layout
    name = established.person.given_name
    assert f"What is expected of {name}" in about_person
    assert "What is expected of you" not in about_person


def test_a_draft_says_it_is_not_approved(county, established):
    draft = services.save_plan_draft(
        established,
        actor=county.alice,
        expected_version=None,
        data=complete_draft(county, needs_today="Behöver hjälp med maten."),
    )
    with translation.override("en"):
        text = one_line(text_of(plan_pdf(draft, layout="participants")))
    assert "Draft of version 2, not yet approved." in text
    assert "Behöver hjälp med maten." in text


def test_an_unknown_layout_is_refused(established):
    with pytest.raises(ValueError):
        plan_pdf(valid_plan(established), layout="poster")


# --- The staff download -----------------------------------------------------------------------


def pdf_url(case, number: int = 1, layout: str = "") -> str:
    url = reverse("workspace:plan_pdf", args=[case.pk, number])
    return f"{url}?layout={layout}" if layout else url


def prints(case):
    return audit_rows(case, action=AuditEvent.Action.PRINT)


def test_staff_download_a_plan_and_the_print_is_audited(client, county, established):
    client.force_login(county.bob)  # a participating unit's staff
    response = client.get(pdf_url(established))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{established.reference}-plan-v1.pdf"' in response["Content-Disposition"]
    assert "Hemtjänst morgon och kväll" in one_line(text_of(response.content))
    person = client.get(pdf_url(established, layout="person"))
    assert person.status_code == 200
    rows = list(prints(established).order_by("seq"))
    assert [row.detail for row in rows] == [
        "plan version 1, layout participants",
        "plan version 1, layout person",
    ]
    assert {(row.username, row.what, row.outcome) for row in rows} == {
        ("bob", "plan", AuditEvent.Outcome.ALLOWED)
    }
    assert rows[0].person_id == established.person_id
    assert rows[0].unit_id == county.hemtjanst.pk


def test_case_page_links_to_the_pdfs(client, county, established):
    client.force_login(county.alice)
    page = client.get(reverse("workspace:case_detail", args=[established.pk])).content.decode()
    assert f'href="{pdf_url(established)}"' in page
    assert f'href="{pdf_url(established, layout="person")}"' in page


def test_a_missing_version_or_layout_is_a_404_and_prints_nothing(client, county, established):
    client.force_login(county.alice)
    assert client.get(pdf_url(established, number=9)).status_code == 404
    assert client.get(pdf_url(established, layout="poster")).status_code == 404
    assert not prints(established).exists()


def test_staff_of_another_unit_are_refused_like_any_case_page(client, county, established):
    client.force_login(county.charlie)
    assert client.get(pdf_url(established)).status_code == 404
    assert (
        client.post(pdf_url(established), {"layout": "person", "reason": "Nyfiken."}).status_code
        == 404
    )
    assert not prints(established).exists()
    refused = audit_rows(established, user=county.charlie, outcome=AuditEvent.Outcome.REFUSED)
    assert refused.filter(action=AuditEvent.Action.READ, what="plan").count() == 2


def test_anonymous_is_sent_to_sign_in(client, established):
    response = client.get(pdf_url(established))
    assert response.status_code == 302
    assert "/pdf/" not in response["Location"].split("?")[0]


@pytest.fixture
def protected(county):
    county.hemtjanst.phone = "0346-123 45"
    county.hemtjanst.save()
    # sekretessmarkering: the address is stored (skyddad folkbokföring never stores it).
    person = PersonFactory(protection=Person.Protection.SEKRETESSMARKERING, address=ADDRESS)
    return case_in_state(county, State.PLAN_ESTABLISHED, person=person)


def test_a_protected_persons_plan_asks_why_before_printing(client, county, protected):
    client.force_login(county.alice)
    response = client.get(pdf_url(protected, layout="person"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert 'data-testid="protected-print-warning"' in page
    assert 'name="reason"' in page
    assert 'value="person" checked' in page  # the layout asked for is chosen
    assert ADDRESS not in page
    assert not prints(protected).exists()


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("sv", "Skriv varför du skriver ut planen. Personen har skyddade personuppgifter."),
        ("en", "Say why you print the plan. The person has protected personal data."),
    ],
)
def test_printing_without_a_reason_is_refused_next_to_the_field(
    client, county, protected, language, message
):
    client.force_login(county.alice)
    response = client.post(
        pdf_url(protected), {"layout": "person", "reason": "   "}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 400
    page = response.content.decode()
    error = re.search(r'<p id="id_reason-error" class="govuk-error-message">(.*?)</p>', page, re.S)
    assert error and message in error.group(1)
    assert 'value="person" checked' in page  # what was chosen stays
    assert not prints(protected).exists()


def test_a_too_short_reason_is_refused_and_kept(client, county, protected):
    client.force_login(county.alice)
    response = client.post(pdf_url(protected), {"layout": "participants", "reason": "ok"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "minst 5 tecken" in page
    assert ">ok</textarea>" in page
    assert not prints(protected).exists()


def test_with_a_reason_the_plan_prints_without_address_and_the_reason_is_logged(
    client, county, protected
):
    client.force_login(county.alice)
    response = client.post(
        pdf_url(protected), {"layout": "participants", "reason": "Till SIP-mötet i morgon."}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = one_line(text_of(response.content))
    assert "Hemtjänst morgon och kväll" in text
    for part in ("Hemliga", "vägen", "987 65", "Åby"):
        assert part not in text
    row = prints(protected).get()
    assert row.detail == "plan version 1, layout participants; reason: Till SIP-mötet i morgon."
    assert row.username == "alice"
    # The person layout has no address either.
    person = client.post(pdf_url(protected), {"layout": "person", "reason": "Till personen."})
    assert "Hemliga" not in text_of(person.content)


def test_skyddad_folkbokforing_asks_why_too(client, county):
    person = PersonFactory(protection=Person.Protection.SKYDDAD_FOLKBOKFORING)
    case = case_in_state(county, State.PLAN_ESTABLISHED, person=person)
    client.force_login(county.alice)
    assert client.get(pdf_url(case))["Content-Type"].startswith("text/html")
    assert not prints(case).exists()


def test_case_page_of_a_protected_person_never_shows_the_address(client, county, protected):
    """What the browser prints is the page: no address on it, on screen or on paper."""
    client.force_login(county.alice)
    page = client.get(reverse("workspace:case_detail", args=[protected.pk])).content.decode()
    assert protected.person.full_name in page
    assert "Hemliga" not in page
    assert 'data-testid="person-address"' in page


# --- Min SIP ----------------------------------------------------------------------------------


def test_the_person_downloads_their_plan_in_plain_words(client, established):
    sign_in_as_person(client, established)
    plan_page = client.get(reverse("mypages:plan", args=[established.pk])).content.decode()
    url = reverse("mypages:plan_pdf", args=[established.pk])
    assert f'href="{url}"' in plan_page
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = one_line(text_of(response.content))
    assert "My plan" in text and "Who to call" in text and "Lena Berg" in text
    row = prints(established).get()
    assert row.citizen_role == "person"
    assert row.detail == "plan version 1, layout person"


def test_a_relative_without_the_plan_is_refused_in_min_sip(client, established):
    relative = related_party_of(
        established,
        kind=RelatedParty.Kind.RELATIVE,
        identity_number=make_identity_number(__import__("datetime").date(1970, 1, 1), 321),
        may_see=RelatedParty.Sees.MEETINGS,
    )
    sign_in_citizen(client, relative.identity_number)
    assert client.get(reverse("mypages:plan_pdf", args=[established.pk])).status_code == 404
    assert not prints(established).exists()


def test_min_sip_without_a_valid_plan_is_a_404(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    sign_in_as_person(client, case)
    assert client.get(reverse("mypages:plan_pdf", args=[case.pk])).status_code == 404
    assert not prints(case).exists()
