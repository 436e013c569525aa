"""The close-case form: the first staff form, and the model for the rest. Errors appear next to
their field in the active language, typed text stays, stale forms are refused."""

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import SipCase, State
from samplan.directory.models import Assignment
from samplan.errors import DomainError
from tests.domain_helpers import assert_bilingual
from tests.factories import case_in_state, complete_draft, staff

pytestmark = pytest.mark.django_db


def post_close(client, case, **data):
    values = {"version": case.lock_version, "reason": "goals_reached", "note": ""}
    values.update(data)
    return client.post(reverse("workspace:close_case", args=[case.pk]), values)


def english(client) -> None:
    client.post(reverse("set_language"), {"language": "en", "next": "/"})


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
    english(client)
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


def test_a_stale_close_shows_who_closed_the_sip_when_and_why(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    opened_at = case.lock_version
    stand_in = staff(county.vardcentral, Assignment.Role.COORDINATOR, first_name="Stina")
    services.close_case(
        case,
        actor=stand_in,
        expected_version=case.lock_version,
        reason=SipCase.ClosingReason.MOVED,
        note="Flyttat till Åsby kommun.",
    )
    client.force_login(county.alice)

    response = post_close(
        client, case, version=opened_at, reason="no_longer_needed", note="Mitt utkast"
    )

    assert response.status_code == 409
    closed_by = response.context["closed_by"]
    assert (closed_by.actor, closed_by.actor_unit, closed_by.action) == (
        stand_in,
        county.vardcentral,
        "close",
    )
    body = response.content.decode()
    assert 'data-testid="closed-by"' in body
    assert stand_in.get_full_name() in body
    assert "Vårdcentral Centrum" in body
    assert "Flyttat till Åsby kommun." in body
    assert (
        timezone.localtime(SipCase.objects.get(pk=case.pk).closed_at).strftime("%Y-%m-%d %H:%M")
        in body
    )
    assert "Mitt utkast" in body  # what was typed is shown, though nothing was saved
    case.refresh_from_db()
    assert case.closing_reason == SipCase.ClosingReason.MOVED


def test_a_close_after_a_revocation_shows_the_revocation_and_who_recorded_it(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    opened_at = case.lock_version
    services.revoke_consent(case, actor=county.bob, expected_version=case.lock_version)
    client.force_login(county.alice)
    english(client)

    response = post_close(client, case, version=opened_at, reason="no_longer_needed")

    assert response.status_code == 409
    body = response.content.decode()
    assert "Someone else closed the SIP before you" in body
    assert county.bob.get_full_name() in body
    assert "Hemtjänst Norr" in body
    assert "Consent revoked" in body


def test_opening_the_form_of_a_closed_sip_shows_how_it_was_closed_not_a_form(client, county):
    case = case_in_state(county, State.CLOSED)
    client.force_login(county.alice)
    response = client.get(reverse("workspace:close_case", args=[case.pk]))
    assert response.status_code == 200
    assert response.context["closed_by"].actor == county.alice
    assert 'name="reason"' not in response.content.decode()


# --- Reasons that fit the state ---------------------------------------------------------------

NO_PLAN_STATES = [
    State.INITIATED,
    State.INFORMED,
    State.CONSENTED,
    State.PREPARATION,
    State.MEETING_CALLED,
]


def offered_reasons(client, case) -> list[str]:
    form = client.get(reverse("workspace:close_case", args=[case.pk])).context["form"]
    return [value for value, _label in form.fields["reason"].choices]


@pytest.mark.parametrize("state", NO_PLAN_STATES)
def test_goals_reached_is_not_offered_for_a_sip_that_never_had_a_plan(client, county, state):
    case = case_in_state(county, state)
    client.force_login(county.alice)
    reasons = offered_reasons(client, case)
    assert "goals_reached" not in reasons
    assert {"no_longer_needed", "person_wish", "moved", "deceased", "other"} <= set(reasons)
    assert not {"declined", "consent_revoked"} & set(reasons)


@pytest.mark.parametrize("state", [State.PLAN_ESTABLISHED, State.FOLLOW_UP])
def test_goals_reached_is_offered_once_the_person_approved_a_plan(client, county, state):
    case = case_in_state(county, state)
    client.force_login(county.alice)
    assert "goals_reached" in offered_reasons(client, case)


def test_a_draft_plan_is_not_an_established_plan(county):
    case = case_in_state(county, State.MEETING_CALLED)
    services.save_plan_draft(
        case, actor=county.alice, expected_version=None, data=complete_draft(county)
    )
    with pytest.raises(DomainError) as refused:
        services.close_case(
            case,
            actor=county.alice,
            expected_version=case.lock_version,
            reason=SipCase.ClosingReason.GOALS_REACHED,
        )
    assert (refused.value.field, refused.value.code) == ("reason", "reason_needs_plan")
    assert_bilingual(refused.value)
    case.refresh_from_db()
    assert case.state == State.MEETING_CALLED


def test_goals_reached_posted_without_a_plan_is_refused_at_the_reason_in_both_languages(
    client, county
):
    case = case_in_state(county, State.PREPARATION)
    client.force_login(county.alice)
    response = post_close(client, case, reason="goals_reached", note="Mitt skäl")
    assert response.status_code == 400
    assert response.context["form"].errors["reason"] == [
        "SIP:en har aldrig haft en fastställd plan, så det finns inga mål som kan ha uppnåtts. "
        "Välj ett annat skäl."
    ]
    assert "Mitt skäl" in response.content.decode()
    english(client)
    response = post_close(client, case, reason="goals_reached")
    assert response.context["form"].errors["reason"] == [
        "The SIP never had an established plan, so there are no goals that can have been "
        "reached. Choose another reason."
    ]
    case.refresh_from_db()
    assert case.state == State.PREPARATION


# --- The closing note on the case page --------------------------------------------------------


def test_the_case_page_shows_who_closed_the_sip_and_the_closing_note(client, county):
    case = case_in_state(county, State.FOLLOW_UP)
    client.force_login(county.alice)
    post_close(client, case, reason="no_longer_needed", note="Klarar sig med hemtjänst.")
    response = client.get(reverse("workspace:case_detail", args=[case.pk]))
    event = response.context["closing_event"]
    assert (event.action, event.actor) == ("close", county.alice)
    html = render_to_string(
        "workspace/case/_closing.html",
        response.context[0].flatten(),
        request=response.wsgi_request,
    )
    assert 'data-testid="closing-note"' in html
    assert "Klarar sig med hemtjänst." in html
    assert county.alice.get_full_name() in html
    assert "Vårdcentral Centrum" in html


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
