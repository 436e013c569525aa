"""The close-case form: the first staff form, and the model for the rest. Errors appear next to
their field in the active language, typed text stays, stale forms are refused."""

import pytest
from django.urls import reverse

from samplan.access.models import AuditEvent
from samplan.cases.models import SipCase, State
from tests.factories import case_in_state

pytestmark = pytest.mark.django_db


def post_close(client, case, **data):
    values = {"version": case.lock_version, "reason": "goals_reached", "note": ""}
    values.update(data)
    return client.post(reverse("workspace:close_case", args=[case.pk]), values)


def test_coordinator_closes_the_case_and_everything_stays(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    client.force_login(county.alice)
    response = post_close(client, case)
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.CLOSED
    assert case.closing_reason == SipCase.ClosingReason.GOALS_REACHED
    assert case.valid_plan() is not None


def test_participant_who_does_not_drive_the_case_is_refused_and_logged(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    client.force_login(county.bob)
    response = post_close(client, case)
    assert response.status_code == 403
    assert "samordnare" in response.content.decode()
    case.refresh_from_db()
    assert case.state == State.PLAN_ESTABLISHED
    assert AuditEvent.objects.filter(
        user=county.bob, case_id=case.pk, outcome=AuditEvent.Outcome.REFUSED
    ).exists()


def test_unrelated_staff_get_404_not_the_form(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    client.force_login(county.charlie)
    assert client.get(reverse("workspace:close_case", args=[case.pk])).status_code == 404


def test_other_reason_without_note_is_shown_next_to_the_note_in_swedish(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    client.force_login(county.alice)
    response = post_close(client, case, reason="other")
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["note"] == ["Beskriv skälet till avslutet."]
    case.refresh_from_db()
    assert case.state == State.PLAN_ESTABLISHED


def test_the_same_error_reads_in_english_when_english_is_chosen(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    client.force_login(county.alice)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = post_close(client, case, reason="other")
    assert response.context["form"].errors["note"] == ["Describe the reason for closing."]


def test_a_stale_form_is_refused_the_newer_state_is_shown_and_typed_text_kept(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    old_version = case.lock_version
    from samplan.cases import services
    from tests.factories import future

    services.call_follow_up(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=future(30), duration_minutes=45, place="Hemma", units=[county.hemtjanst]
        ),
    )
    client.force_login(county.alice)
    response = post_close(
        client, case, version=old_version, reason="no_longer_needed", note="Mitt utkast"
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "Någon annan har sparat" in body
    assert "Mitt utkast" in body
    assert response.context["case"].state == State.FOLLOW_UP
    assert response.context["form"]["version"].value() == str(case.lock_version)
    case.refresh_from_db()
    assert case.state == State.FOLLOW_UP


def test_closing_a_closed_case_says_it_is_closed(client, county):
    case = case_in_state(county, State.CLOSED)
    client.force_login(county.alice)
    response = post_close(client, case)
    assert response.status_code == 400
    assert "avslutad" in " ".join(response.context["form"].non_field_errors())


def test_case_page_offers_closing_only_to_those_who_drive_the_case(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    link = reverse("workspace:close_case", args=[case.pk])
    client.force_login(county.alice)
    assert link in client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    client.force_login(county.bob)
    page = client.get(reverse("workspace:case_detail", args=[case.pk]))
    assert page.status_code == 200
    assert link not in page.content.decode()


@pytest.mark.parametrize("reason", ["declined", "consent_revoked"])
def test_declining_and_revoking_are_not_closing_reasons_a_coordinator_picks(county, reason):
    from samplan.cases import services
    from samplan.errors import DomainError

    case = case_in_state(county, State.PLAN_ESTABLISHED)
    with pytest.raises(DomainError) as refused:
        services.close_case(
            case, actor=county.alice, expected_version=case.lock_version, reason=reason
        )
    assert refused.value.field == "reason"
    case.refresh_from_db()
    assert case.state == State.PLAN_ESTABLISHED
