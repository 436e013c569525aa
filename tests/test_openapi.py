"""The committed OpenAPI schema (docs/openapi.yaml) is what the code describes: a change of the
API without `make openapi` fails here, and so in CI. The schema itself validates (drf-spectacular
checks it against the OpenAPI 3 meta-schema) and generates without a warning."""

from __future__ import annotations

from pathlib import Path

from django.core.management import call_command

COMMITTED = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"


def test_the_committed_schema_is_what_the_code_describes(tmp_path):
    generated = tmp_path / "openapi.yaml"
    call_command(
        "spectacular", "--lang", "en", "--validate", "--fail-on-warn", "--file", str(generated)
    )
    assert generated.read_text() == COMMITTED.read_text(), (
        "docs/openapi.yaml differs from the code's schema: run `make openapi` and commit it"
    )


def test_every_api_route_is_in_the_schema():
    text = COMMITTED.read_text()
    for route in (
        "/api/v1/sips/:",
        "/api/v1/sips/{case_id}/:",
        "/api/v1/sips/{case_id}/plan/:",
        "/api/v1/sips/{case_id}/plan/versions/:",
        "/api/v1/sips/{case_id}/plan/versions/{number}/:",
        "/api/v1/sips/{case_id}/meetings/:",
        "/api/v1/sips/{case_id}/invitations/{invitation_id}/answer/:",
        "/api/v1/sips/{case_id}/messages/:",
        "/api/v1/sips/{case_id}/messages/{message_id}/acknowledge/:",
        "/fhir/CarePlan:",
        "/fhir/CarePlan/{fhir_id}:",
        "/fhir/metadata:",
    ):
        assert f"\n  {route}\n" in text, route
