"""Blank SIP forms for downtime (issue 9): real PDFs with a real form field for every part of
the plan, read back with pypdf; the children's form has the child's own view and the guardians;
tagged, fonts embedded; served to signed-in staff only, and nothing is logged (no personal data)."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from samplan.access.models import AuditEvent
from samplan.documents.blank_forms import ATTENDEE_ROWS, INTERVENTION_ROWS, blank_form_pdf

# Every part of a plan (SIP.md; PlanVersion and its parts), as the form's field names.
PLAN_PARTS = {
    "person_name",
    "person_identity",
    "sip_number",
    "meeting_date",
    "coordinator",
    "needs_today",
    "goals",
    "main_responsible",
    "coordination",
    "follow_up_on",
    "cooperation_ends",
    "expected_of_person",
    "expected_of_relatives",
    "approved_by",
    "approved_on",
}
INTERVENTION_FIELDS = {
    f"intervention_{n}_{column}"
    for n in range(1, INTERVENTION_ROWS + 1)
    for column in ("what", "responsible", "contact", "starts", "ends")
}
ATTENDEE_FIELDS = {
    f"attendee_{n}_{column}"
    for n in range(1, ATTENDEE_ROWS + 1)
    for column in ("name", "represents")
}
CHILD_ONLY = {
    "child_views",
    "guardian_1_name",
    "guardian_1_phone",
    "guardian_2_name",
    "guardian_2_phone",
}


@pytest.fixture(scope="module")
def forms():
    with translation.override("en"):
        return {kind: PdfReader(io.BytesIO(blank_form_pdf(kind))) for kind in ("adult", "child")}


def text_of(reader) -> str:
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_the_adult_form_has_a_field_for_every_part_of_the_plan(forms):
    fields = forms["adult"].get_fields()
    assert set(fields) == PLAN_PARTS | INTERVENTION_FIELDS | ATTENDEE_FIELDS
    assert all(field["/FT"] == "/Tx" for field in fields.values())
    # Several lines where the plan has words to write, one where it has a name or a date.
    multiline = 1 << 12
    assert int(fields["needs_today"].get("/Ff", 0)) & multiline
    assert not int(fields["follow_up_on"].get("/Ff", 0)) & multiline
    # Each field is named for assistive technology (/TU, from the label).
    assert fields["needs_today"]["/TU"] == "Needs today"
    assert fields["intervention_3_contact"]["/TU"] == "Intervention 3: named contact and phone"


def test_the_childrens_form_has_the_childs_view_and_the_guardians(forms):
    fields = forms["child"].get_fields()
    assert set(fields) == PLAN_PARTS | INTERVENTION_FIELDS | ATTENDEE_FIELDS | CHILD_ONLY
    assert fields["guardian_2_phone"]["/TU"] == "Guardian 2: phone"
    text = text_of(forms["child"])
    for words in (
        "My SIP: blank form for children and young people",
        "My guardians",
        "What I think and want, in my own words",
        "What I need help with now",
        "My goals",
        "What my guardians and family will do",
        "Signature of guardian 1",
        "Signature of guardian 2",
    ):
        assert words in text, words
    assert "What I think" not in text_of(forms["adult"])


def test_the_forms_are_tagged_with_fonts_embedded_and_page_numbers(forms):
    for reader in forms.values():
        catalog = reader.trailer["/Root"]
        assert "/StructTreeRoot" in catalog and "/MarkInfo" in catalog
        assert "/AcroForm" in catalog
        assert reader.metadata.title.startswith("Coordinated individual plan (SIP): blank form")
        pages = len(reader.pages)
        assert pages >= 2
        for number, page in enumerate(reader.pages, start=1):
            assert f"Page {number} of {pages}" in " ".join(page.extract_text().split())
            for font in page["/Resources"]["/Font"].values():
                for part in font.get_object().get("/DescendantFonts", [font]):
                    descriptor = part.get_object()["/FontDescriptor"]
                    assert "/FontFile2" in descriptor or "/FontFile3" in descriptor


def test_the_swedish_form_prints_a_a_o(county):
    with translation.override("sv"):
        text = text_of(PdfReader(io.BytesIO(blank_form_pdf("adult"))))
    assert "Behov i dag" in text and "Den enskildes egna mål" in text


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        blank_form_pdf("poster")


def test_staff_download_the_blank_forms_from_the_start_page(client, county):
    client.force_login(county.bob)
    start = client.get(reverse("workspace:start")).content.decode()
    before = AuditEvent.objects.count()
    for kind in ("adult", "child"):
        url = reverse("workspace:blank_form", args=[kind])
        assert f'href="{url}"' in start
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert PdfReader(io.BytesIO(response.content)).get_fields()
    assert AuditEvent.objects.count() == before  # no personal data, nothing to log
    assert client.get(reverse("workspace:blank_form", args=["poster"])).status_code == 404


def test_the_blank_forms_are_for_signed_in_staff(client, db):
    response = client.get(reverse("workspace:blank_form", args=["adult"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
