"""FHIR R4B over HTTP (issue 10, part 2): a region's system fetches a person's plan as a
self-contained CarePlan, by the person's identity number or by the CarePlan's id; only what the
system's unit may see, each read in the audit log, a protected person's address nowhere."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan

from samplan.access.models import AuditEvent
from samplan.cases.models import State
from samplan.fhir.export import PERSONNUMMER, case_bundle
from tests.factories import PersonFactory, case_in_state, ready_to_establish
from tests.test_api import system_for
from tests.test_fhir_export import establish

pytestmark = pytest.mark.django_db


def search(http, number: str, **params):
    return http.get(
        reverse("fhir:careplan_search"),
        {"patient.identifier": f"{PERSONNUMMER}|{number}", **params},
    )


def test_a_persons_current_plan_by_personnummer(county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    api_client, http = system_for(county.hemtjanst)
    response = search(http, case.person.identity_number)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    bundle = Bundle.model_validate(response.json())
    assert bundle.type == "searchset" and bundle.total == 1
    [entry] = bundle.entry
    plan = case.valid_plan()
    assert entry.fullUrl == f"http://testserver/fhir/CarePlan/{plan.fhir_id}"
    care_plan = CarePlan.model_validate(entry.resource.model_dump(mode="json"))
    assert care_plan.status == "active" and care_plan.id == str(plan.fhir_id)
    contained = {resource.id: resource for resource in care_plan.contained}
    # Everything it refers to travels inside it.
    patient = contained[care_plan.subject.reference.removeprefix("#")]
    assert patient.identifier[0].system == PERSONNUMMER
    assert patient.identifier[0].value == case.person.identity_number
    goal = contained[care_plan.goal[0].reference.removeprefix("#")]
    assert goal.description.text == "Jag vill kunna gå till affären själv till sommaren."
    assert "urn:uuid:" not in response.content.decode()
    row = AuditEvent.objects.get(what="fhir_careplan")
    assert (row.user, row.case_id, row.person_id) == (api_client.user, case.pk, case.person_id)


def test_read_by_id_is_the_same_careplan_as_the_export(county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    plan = case.valid_plan()
    _, http = system_for(county.hemtjanst)
    response = http.get(reverse("fhir:careplan", args=[plan.fhir_id]))
    assert response.status_code == 200
    served = CarePlan.model_validate(response.json())
    exported = next(
        entry.resource for entry in case_bundle(case).entry if entry.resource.id == served.id
    )
    # The plan's parts are the same; only the references are local.
    assert served.description == exported.description
    assert [a.detail.description for a in served.activity] == [
        a.detail.description for a in exported.activity
    ]
    assert [n.text for n in served.note] == [n.text for n in exported.note]


def test_a_revised_plan_refers_to_the_version_it_replaces_on_this_server(county):
    case = case_in_state(county, State.FOLLOW_UP)
    first = case.valid_plan()
    ready_to_establish(case, county.alice)
    establish(case, county)
    _, http = system_for(county.hemtjanst)
    bundle = search(http, case.person.identity_number).json()
    by_status = {entry["resource"]["status"]: entry["resource"] for entry in bundle["entry"]}
    assert set(by_status) == {"active", "revoked"}
    assert by_status["revoked"]["id"] == str(first.fhir_id)
    assert by_status["active"]["replaces"] == [{"reference": f"CarePlan/{first.fhir_id}"}]
    only_active = search(http, case.person.identity_number, status="active").json()
    assert [e["resource"]["status"] for e in only_active["entry"]] == ["active"]


def test_a_system_that_may_not_see_the_sip_finds_nothing_and_it_is_logged(county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    api_client, http = system_for(county.elsewhere)
    bundle = search(http, case.person.identity_number).json()
    assert bundle["total"] == 0 and bundle.get("entry", []) == []
    row = AuditEvent.objects.get(what="fhir_careplan", user=api_client.user)
    assert row.outcome == AuditEvent.Outcome.REFUSED and row.person_id == case.person_id
    response = http.get(reverse("fhir:careplan", args=[case.valid_plan().fhir_id]))
    assert response.status_code == 404
    assert AuditEvent.objects.filter(
        what="fhir_careplan", case_id=case.pk, outcome=AuditEvent.Outcome.REFUSED
    ).exists()


def test_an_unknown_careplan_id_is_404_and_logged(county):
    _, http = system_for(county.hemtjanst)
    response = http.get(reverse("fhir:careplan", args=["00000000-0000-0000-0000-000000000000"]))
    assert response.status_code == 404
    assert AuditEvent.objects.filter(
        what="fhir_careplan", outcome=AuditEvent.Outcome.REFUSED
    ).exists()


@pytest.mark.parametrize(
    "identifier",
    ["", "199001012384", "urn:oid:1.2.3|199001012384", f"{PERSONNUMMER}|19121212-1213"],
)
def test_a_bad_identifier_is_an_operation_outcome(county, identifier):
    _, http = system_for(county.hemtjanst)
    response = http.get(reverse("fhir:careplan_search"), {"patient.identifier": identifier})
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_without_a_token_the_fhir_endpoints_refuse_but_metadata_answers(county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    anonymous = Client()
    assert search(anonymous, case.person.identity_number).status_code == 401
    assert (
        anonymous.get(reverse("fhir:careplan", args=[case.valid_plan().fhir_id])).status_code == 401
    )
    metadata = anonymous.get(reverse("fhir:metadata"))
    assert metadata.status_code == 200
    assert metadata.json()["resourceType"] == "CapabilityStatement"


def test_a_protected_persons_address_is_never_served(county):
    person = PersonFactory(protection="sekretessmarkering", address="Hemliga gatan 1")
    case = case_in_state(county, State.PLAN_ESTABLISHED, person=person)
    _, http = system_for(county.hemtjanst)
    response = search(http, person.identity_number)
    text = response.content.decode()
    assert "Hemliga gatan" not in text and '"address"' not in text
    plan = response.json()["entry"][0]["resource"]
    assert plan["meta"]["security"][0]["code"] == "R"
    read = http.get(reverse("fhir:careplan", args=[case.valid_plan().fhir_id]))
    assert "Hemliga gatan" not in read.content.decode()
