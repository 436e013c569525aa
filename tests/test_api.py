"""The REST API (issue 10, part 1): a system of a unit sees and does what staff of that unit in a
participant's role see and do, through the same access functions and services, every call in
the audit log; refused without a valid bearer token, whatever else it holds."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from samplan.access.models import AuditEvent
from samplan.api import services as api_services
from samplan.api.models import ApiClient, hash_token
from samplan.cases import services
from samplan.cases.models import CaseEvent, Invitation, SipCase, State
from samplan.maintenance import mode
from tests.factories import PersonFactory, case_in_state

pytestmark = pytest.mark.django_db


def system_for(unit, name: str = "Journalsystemet") -> tuple[ApiClient, Client]:
    api_client, token = api_services.create_client(name=name, unit=unit, created_by="test")
    http = Client(headers={"Authorization": f"Bearer {token}"})
    return api_client, http


@pytest.fixture
def hemtjanst_system(county):
    """The kommun's system: its unit takes part in the county's SIPs."""
    return system_for(county.hemtjanst)


@pytest.fixture
def outsider_system(county):
    """Another kommun's system: its unit takes part in none."""
    return system_for(county.elsewhere, "Annanby verksamhetssystem")


def rows(what: str, **filters):
    return AuditEvent.objects.filter(what=what, **filters)


# --- Sign-in -----------------------------------------------------------------------------------


def test_no_token_is_401_with_the_bearer_challenge(county):
    response = Client().get(reverse("api:sips"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="samplan"'


def test_a_wrong_token_is_401_and_a_refused_row_without_the_token(county, hemtjanst_system):
    wrong = "spl_" + "x" * 43
    response = Client(headers={"Authorization": f"Bearer {wrong}"}).get(reverse("api:sips"))
    assert response.status_code == 401
    row = rows("api_token", action=AuditEvent.Action.SIGN_IN).get()
    assert row.outcome == AuditEvent.Outcome.REFUSED
    assert wrong not in row.detail and "x" * 10 not in row.path


def test_staff_signed_in_with_a_session_get_nothing_from_the_api(client, county):
    case_in_state(county, State.MEETING_CALLED)
    client.force_login(county.alice)
    assert client.get(reverse("api:sips")).status_code == 401


def test_a_revoked_client_is_refused_at_once(county, hemtjanst_system):
    api_client, http = hemtjanst_system
    assert http.get(reverse("api:sips")).status_code == 200
    api_services.revoke_client(api_client)
    assert http.get(reverse("api:sips")).status_code == 401
    assert not api_client.user.assignments.active().exists()


def test_an_expired_client_is_refused(county, hemtjanst_system):
    api_client, http = hemtjanst_system
    ApiClient.objects.filter(pk=api_client.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert http.get(reverse("api:sips")).status_code == 401


def test_only_the_tokens_hash_is_stored_and_a_new_token_replaces_the_old(county):
    api_client, token = api_services.create_client(
        name="System", unit=county.hemtjanst, created_by="test"
    )
    api_client.refresh_from_db()
    assert api_client.token_hash == hash_token(token) and token not in api_client.token_hash
    new = api_services.new_client_token(api_client)
    old_http = Client(headers={"Authorization": f"Bearer {token}"})
    new_http = Client(headers={"Authorization": f"Bearer {new}"})
    assert old_http.get(reverse("api:sips")).status_code == 401
    assert new_http.get(reverse("api:sips")).status_code == 200


def test_the_system_account_cannot_sign_in_to_the_pages(county, hemtjanst_system):
    api_client, _ = hemtjanst_system
    assert not api_client.user.has_usable_password()
    response = Client().post(
        reverse("login"), {"username": api_client.user.username, "password": ""}
    )
    assert response.status_code == 200  # the form again, not a redirect into the workspace
    assert "_auth_user_id" not in Client().session


def test_creating_a_client_is_a_logged_grant(county):
    before = AuditEvent.objects.filter(action=AuditEvent.Action.GRANT).count()
    api_services.create_client(name="System", unit=county.hemtjanst, created_by="test")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.GRANT).count() > before


# --- Reading -----------------------------------------------------------------------------------


def test_the_list_holds_what_the_unit_may_see_and_logs_each_sip(
    county, hemtjanst_system, outsider_system
):
    case = case_in_state(county, State.MEETING_CALLED)
    not_yet = case_in_state(county, State.INITIATED)  # before consent: the kommun is not in it
    api_client, http = hemtjanst_system
    body = http.get(reverse("api:sips")).json()
    assert [item["id"] for item in body["results"]] == [case.pk]
    assert body["next"] is None
    item = body["results"][0]
    assert item["reference"] == case.reference
    assert item["person"]["identity_number"] == case.person.identity_number
    assert "address" not in item["person"]
    row = rows("api_sip_list").get()
    assert (row.user, row.case_id, row.unit_id) == (api_client.user, case.pk, county.hemtjanst.pk)
    assert not_yet.pk not in {r.case_id for r in rows("api_sip_list")}
    _, outsider = outsider_system
    assert outsider.get(reverse("api:sips")).json()["results"] == []


def test_keyset_pages_follow_each_other_without_overlap(county, hemtjanst_system):
    cases = [case_in_state(county, State.MEETING_CALLED) for _ in range(3)]
    _, http = hemtjanst_system
    first = http.get(reverse("api:sips"), {"limit": 2}).json()
    assert [item["id"] for item in first["results"]] == [c.pk for c in cases[:2]]
    second = http.get(first["next"]).json()
    assert [item["id"] for item in second["results"]] == [cases[2].pk]
    assert second["next"] is None


def test_the_list_filters_by_identity_number_in_any_common_form(county, hemtjanst_system):
    case = case_in_state(county, State.MEETING_CALLED)
    case_in_state(county, State.MEETING_CALLED)
    _, http = hemtjanst_system
    number = case.person.identity_number  # twelve digits
    for typed in (number, f"{number[:8]}-{number[8:]}", f"{number[2:8]}-{number[8:]}"):
        body = http.get(reverse("api:sips"), {"identity_number": typed}).json()
        assert [item["id"] for item in body["results"]] == [case.pk], typed


def test_bad_filters_are_400_with_the_field_in_both_languages(county, hemtjanst_system):
    _, http = hemtjanst_system
    response = http.get(reverse("api:sips"), {"limit": "0"})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "limit"
    assert error["sv"] == "Se till att detta värde är större än eller lika med 1."
    assert error["en"] == "Ensure this value is greater than or equal to 1."
    response = http.get(reverse("api:sips"), {"identity_number": "19121212-1213"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "identity_number"
    response = http.get(reverse("api:sips"), {"state": "nonsense"}, headers={})
    assert response.status_code == 400


def test_the_list_costs_the_same_queries_for_one_sip_as_for_many(
    county, hemtjanst_system, django_assert_max_num_queries
):
    _, http = hemtjanst_system
    case_in_state(county, State.MEETING_CALLED)
    with django_assert_max_num_queries(12) as one:
        http.get(reverse("api:sips"))
    for _ in range(5):
        case_in_state(county, State.MEETING_CALLED)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(http.get(reverse("api:sips")).json()["results"]) == 6


def test_one_sip_with_its_next_step_and_who_takes_part(county, hemtjanst_system):
    case = case_in_state(county, State.MEETING_CALLED)
    api_client, http = hemtjanst_system
    body = http.get(reverse("api:sip", args=[case.pk]), headers={"Accept-Language": "en"}).json()
    assert body["state"] == "meeting_called"
    assert body["next_step"]["action"] == "Hold the SIP meeting"
    swedish = http.get(reverse("api:sip", args=[case.pk])).json()  # Swedish by default
    assert swedish["next_step"]["action"] == "Håll SIP-mötet"
    assert body["next_step"]["deadline"] is not None
    units = {p["unit"]["name"]: p for p in body["participants"]}
    assert set(units) == {"Vårdcentral Centrum", "Hemtjänst Norr"}
    assert not units["Hemtjänst Norr"]["consent_revoked"]
    assert body["current_plan_version"] is None
    assert rows("api_sip", case_id=case.pk, user=api_client.user).count() == 2  # one a call


def test_a_sip_the_unit_may_not_see_is_404_and_a_refused_row(county, outsider_system):
    case = case_in_state(county, State.MEETING_CALLED)
    api_client, http = outsider_system
    for name in ("api:sip", "api:plan", "api:plan_versions", "api:meetings", "api:messages"):
        response = http.get(reverse(name, args=[case.pk]))
        assert response.status_code == 404, name
        assert response.json()["code"] == "not_found"
    refused = AuditEvent.objects.filter(
        user=api_client.user, case_id=case.pk, outcome=AuditEvent.Outcome.REFUSED
    )
    assert refused.count() == 5


def test_a_revoked_organisation_is_marked_and_then_loses_access(county, hemtjanst_system):
    case = case_in_state(county, State.MEETING_CALLED)
    _, http = hemtjanst_system
    services.revoke_consent(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        organisations=[county.kommun],
        note="Vill inte att kommunen är med.",
    )
    assert http.get(reverse("api:sip", args=[case.pk])).status_code == 404
    hemtjanst_system_region = system_for(county.vardcentral, "Vårdcentralens system")[1]
    body = hemtjanst_system_region.get(reverse("api:sip", args=[case.pk])).json()
    marked = {p["unit"]["name"]: p["consent_revoked"] for p in body["participants"]}
    assert marked == {"Vårdcentral Centrum": False, "Hemtjänst Norr": True}


def test_the_plan_its_versions_and_one_version(county, hemtjanst_system):
    case = case_in_state(county, State.MEETING_CALLED)
    _, http = hemtjanst_system
    assert http.get(reverse("api:plan", args=[case.pk])).status_code == 404
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    plan = case.valid_plan()
    body = http.get(reverse("api:plan", args=[case.pk])).json()
    assert body["number"] == 1 and body["status"] == "valid"
    assert body["goals"][0]["text"] == "Jag vill kunna gå till affären själv till sommaren."
    assert body["interventions"][0]["responsible"] == "Hemtjänst Norr"
    assert body["interventions"][0]["contact_name"] == "Lena Berg"
    assert body["main_responsible_unit"]["name"] == "Vårdcentral Centrum"
    assert body["fhir_id"] == str(plan.fhir_id)
    versions = http.get(reverse("api:plan_versions", args=[case.pk])).json()
    assert [(v["number"], v["status"]) for v in versions] == [(1, "valid")]
    one = http.get(reverse("api:plan_version", args=[case.pk, 1])).json()
    assert one == body
    assert http.get(reverse("api:plan_version", args=[case.pk, 2])).status_code == 404


# --- Acting ------------------------------------------------------------------------------------


def _own_invitation(case, unit) -> Invitation:
    return Invitation.objects.get(meeting__case=case, unit=unit)


def test_the_system_answers_its_units_invitation(county, hemtjanst_system):
    case = case_in_state(county, State.MEETING_CALLED)
    api_client, http = hemtjanst_system
    [meeting] = http.get(reverse("api:meetings", args=[case.pk])).json()
    own = next(i for i in meeting["invitations"] if i["unit"] == county.hemtjanst.pk)
    assert own["answer"] == "no_answer"
    url = reverse("api:answer_invitation", args=[case.pk, own["id"]])
    answer = {"answer": "accepted", "version": own["version"], "sequence": meeting["sequence"]}
    response = http.post(url, answer, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["answer"] == "accepted"
    invitation = _own_invitation(case, county.hemtjanst)
    assert (invitation.answer, invitation.answered_by) == ("accepted", api_client.user)
    event = CaseEvent.objects.filter(case=case, action="record_answer").get()
    assert event.actor == api_client.user and event.actor_unit == county.hemtjanst
    # The same answer again, on the version read before: someone answered meanwhile.
    stale = http.post(url, answer, content_type="application/json")
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_edit"


def test_declining_needs_a_reason_told_next_to_its_field(county, hemtjanst_system):
    case = case_in_state(county, State.MEETING_CALLED)
    _, http = hemtjanst_system
    invitation = _own_invitation(case, county.hemtjanst)
    url = reverse("api:answer_invitation", args=[case.pk, invitation.pk])
    data = {"answer": "declined", "version": 0, "sequence": invitation.meeting.sequence}
    response = http.post(url, data, content_type="application/json")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "decline_reason"
    assert error["sv"].startswith("Ange skälet") and error["en"].startswith("Give the reason")
    invitation.refresh_from_db()
    assert invitation.answer == Invitation.Answer.NO_ANSWER


def test_a_malformed_answer_is_400_with_its_fields(county, hemtjanst_system):
    case = case_in_state(county, State.MEETING_CALLED)
    _, http = hemtjanst_system
    invitation = _own_invitation(case, county.hemtjanst)
    url = reverse("api:answer_invitation", args=[case.pk, invitation.pk])
    response = http.post(url, {"answer": "maybe"}, content_type="application/json")
    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"answer", "version", "sequence"}


def test_the_system_cannot_answer_another_units_invitation(county, hemtjanst_system):
    case = case_in_state(county, State.MEETING_CALLED)
    _, http = hemtjanst_system
    theirs = _own_invitation(case, county.vardcentral)
    url = reverse("api:answer_invitation", args=[case.pk, theirs.pk])
    data = {"answer": "accepted", "version": 0, "sequence": theirs.meeting.sequence}
    response = http.post(url, data, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_refused"
    theirs.refresh_from_db()
    assert theirs.answer == Invitation.Answer.NO_ANSWER


def test_in_read_only_mode_an_answer_is_503_and_nothing_changes(county, hemtjanst_system):
    case = case_in_state(county, State.MEETING_CALLED)
    _, http = hemtjanst_system
    invitation = _own_invitation(case, county.hemtjanst)
    mode.switch_on("test", message="Uppgradering")
    url = reverse("api:answer_invitation", args=[case.pk, invitation.pk])
    data = {"answer": "accepted", "version": 0, "sequence": invitation.meeting.sequence}
    response = http.post(url, data, content_type="application/json")
    assert response.status_code == 503
    assert response["Retry-After"] == "600"
    invitation.refresh_from_db()
    assert invitation.answer == Invitation.Answer.NO_ANSWER


def test_messages_are_read_and_acknowledged_once_per_unit(county, hemtjanst_system):
    case = case_in_state(county, State.MEETING_CALLED)
    message = services.post_message(
        case, actor=county.alice, body="Ring dottern i morgon.", asks_acknowledgement=True
    )
    api_client, http = hemtjanst_system
    [shown] = http.get(reverse("api:messages", args=[case.pk])).json()
    assert shown["body"] == "Ring dottern i morgon." and shown["acknowledgements"] == []
    assert message.reads.filter(user=api_client.user).exists()
    url = reverse("api:acknowledge_message", args=[case.pk, message.pk])
    response = http.post(url)
    assert response.status_code == 201
    assert response.json()["unit"] == "Hemtjänst Norr"
    again = http.post(url)
    assert again.status_code == 400 and again.json()["code"] == "already_acknowledged"


def test_a_closed_sips_messages_cannot_be_acknowledged(county, hemtjanst_system):
    case = case_in_state(county, State.MEETING_CALLED)
    message = services.post_message(
        case, actor=county.alice, body="Möte flyttat.", asks_acknowledgement=True
    )
    case.refresh_from_db()
    services.close_case(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        reason=SipCase.ClosingReason.OTHER,
        note="Flyttat.",
    )
    _, http = hemtjanst_system
    response = http.post(reverse("api:acknowledge_message", args=[case.pk, message.pk]))
    assert response.status_code in (400, 404)
    assert not message.acknowledgements.exists()


def test_the_person_of_a_protected_identity_never_has_an_address(county, hemtjanst_system):
    person = PersonFactory(protection="skyddad_folkbokforing", address="")
    case = case_in_state(county, State.PLAN_ESTABLISHED, person=person)
    _, http = hemtjanst_system
    body = http.get(reverse("api:sip", args=[case.pk])).json()
    assert body["person"]["protected"] is True
    for name in ("api:sip", "api:plan", "api:meetings"):
        text = http.get(reverse(name, args=[case.pk])).content.decode()
        assert "address" not in text


def test_an_id_no_column_can_hold_is_404_not_a_server_error(client, county, hemtjanst_system):
    """Found by schemathesis: a 35-digit id overflowed SQLite's INTEGER (a 500) on every
    address with an id, the staff pages' too; `<id:…>` (samplan/converters.py) stops it."""
    huge = "21609318795745236626204708741054464"
    _, http = hemtjanst_system
    response = http.get(f"/api/v1/sips/{huge}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    fhir = http.get(f"/fhir/CarePlan/{huge}")
    assert fhir.status_code == 404 and fhir.json()["resourceType"] == "OperationOutcome"
    client.force_login(county.alice)
    assert client.get(f"/sip/{huge}/").status_code == 404
    biggest = reverse("api:sip", args=[999_999_999_999_999_999])
    assert http.get(biggest).status_code == 404  # the largest id still reaches the view


def test_an_unknown_parameter_is_refused_not_ignored(county, hemtjanst_system):
    """A misspelt filter (`stat=`) would otherwise list every SIP (found by schemathesis)."""
    _, http = hemtjanst_system
    response = http.get(reverse("api:sips"), {"stat": "closed"})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "stat", "code": "unknown", "sv": "Okänd parameter.", "en": "Unknown parameter."}
    ]
    fhir = http.get(reverse("fhir:careplan_search"), {"patient": "x", "status": "active"})
    assert fhir.status_code == 400
    assert fhir.json()["issue"][0]["code"] == "not-supported"
