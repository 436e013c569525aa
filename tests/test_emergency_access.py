"""Nödåtkomst: a staff member of a unit taking part in a SIP, whose organisation the consent no
longer covers, may open it read-only for a limited time after giving a reason. Everyone else
still meets a missing case; nothing can be changed under it; it is flagged in the log."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from samplan.access.emergency import (
    fingerprint,
    grant_emergency_access,
    grant_matches_log,
    may_ask_emergency_access,
)
from samplan.access.models import AuditEvent, EmergencyAccess
from samplan.access.services import cases_visible_to, get_case_for
from samplan.cases import services
from samplan.cases.models import CaseMessage, State
from samplan.directory.models import Assignment
from samplan.errors import DomainError, PermissionRefused
from tests.factories import case_in_state, staff

pytestmark = pytest.mark.django_db

REASON = "Akut inläggning, behöver se vilka insatser som pågår i hemmet."


@pytest.fixture
def revoked(county):
    """A SIP in preparation that hemtjänst (bob, kommun) takes part in, whose consent the
    person has since revoked for the kommun: bob may no longer read it."""
    case = case_in_state(county, State.PREPARATION)
    services.add_participant(case, actor=county.alice, unit=county.hemtjanst)
    case.refresh_from_db()
    services.revoke_consent(
        case, actor=county.alice, expected_version=case.lock_version, organisations=[county.kommun]
    )
    case.refresh_from_db()
    assert not cases_visible_to(county.bob).filter(pk=case.pk).exists()
    return case


def case_url(case) -> str:
    return reverse("workspace:case_detail", args=[case.pk])


def emergency_url(case) -> str:
    return reverse("workspace:emergency_access", args=[case.pk])


def grant_rows(case):
    return AuditEvent.objects.filter(
        case=case, action=AuditEvent.Action.GRANT, what="emergency_access"
    )


# --- Who is offered it --------------------------------------------------------------------------


def test_an_eligible_staff_member_is_told_why_and_offered_emergency_access(client, county, revoked):
    client.force_login(county.bob)
    response = client.get(case_url(revoked))
    assert response.status_code == 403
    page = response.content.decode()
    assert "Testby kommun" in page and "Hemtjänst Norr" in page
    assert 'data-testid="emergency-warning"' in page
    assert f'action="{emergency_url(revoked)}"' in page
    assert 'name="reason"' in page
    # Nothing about the person before the reason is given.
    assert revoked.person.given_name not in page
    assert revoked.person.identity_number not in page
    refused = AuditEvent.objects.get(user=county.bob, case=revoked, what="sip_case")
    assert refused.outcome == AuditEvent.Outcome.REFUSED and not refused.emergency
    assert not EmergencyAccess.objects.exists()
    assert client.get(emergency_url(revoked)).status_code == 403


@pytest.mark.parametrize("who", ["charlie", "unit_administrator", "removed unit", "anonymous"])
def test_anyone_not_eligible_gets_the_plain_404_and_no_form(client, county, revoked, who):
    if who == "charlie":  # a unit of another kommun that takes no part
        client.force_login(county.charlie)
    elif who == "unit_administrator":  # sees the unit's work, never acts, never asks
        chief = staff(county.hemtjanst, Assignment.Role.UNIT_ADMINISTRATOR, username="chef")
        client.force_login(chief)
    elif who == "removed unit":  # no service removes a unit yet: the row as one would leave it
        revoked.participants.filter(unit=county.hemtjanst).update(removed_at=timezone.now())
        client.force_login(county.bob)
    response = client.get(case_url(revoked))
    if who == "anonymous":
        assert response.status_code == 302  # to the sign-in page
        return
    assert response.status_code == 404
    assert 'name="reason"' not in response.content.decode()
    assert client.get(emergency_url(revoked)).status_code == 404
    posted = client.post(emergency_url(revoked), {"reason": REASON})
    assert posted.status_code == 404
    assert not EmergencyAccess.objects.exists()
    refused = grant_rows(revoked).get()
    assert refused.outcome == AuditEvent.Outcome.REFUSED and refused.emergency


def test_a_missing_case_looks_the_same_as_a_foreign_one(client, county, revoked):
    client.force_login(county.charlie)
    assert (
        client.get(reverse("workspace:emergency_access", args=[revoked.pk + 999])).status_code
        == 404
    )
    assert client.get(reverse("workspace:case_detail", args=[revoked.pk + 999])).status_code == 404


def test_someone_the_consent_covers_needs_no_emergency_access(client, county, revoked):
    assert may_ask_emergency_access(county.alice, revoked.pk) is None
    with pytest.raises(PermissionRefused):
        grant_emergency_access(county.alice, revoked.pk, REASON)
    client.force_login(county.alice)
    assert client.get(emergency_url(revoked)).status_code == 302
    assert not EmergencyAccess.objects.exists()


# --- The reason ---------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["", "   ", "för kort", "x" * 1001])
def test_without_a_proper_reason_nothing_is_saved_and_the_error_is_next_to_the_field(
    client, county, revoked, typed
):
    client.force_login(county.bob)
    response = client.post(emergency_url(revoked), {"reason": typed})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_reason-error"' in page
    assert "govuk-error-summary" in page
    assert response.context["form"]["reason"].value() == typed  # what was typed stays
    assert not EmergencyAccess.objects.exists()
    assert not grant_rows(revoked).exists()
    with pytest.raises(Http404):
        get_case_for(county.bob, revoked.pk)


def test_the_reason_rule_is_the_services_in_both_languages(county, revoked):
    with pytest.raises(DomainError) as refused:
        grant_emergency_access(county.bob, revoked.pk, "kort")
    assert refused.value.field == "reason"
    assert "minst 10 tecken" in refused.value.sv and "at least 10" in refused.value.en


# --- Granted --------------------------------------------------------------------------------


def test_given_a_reason_the_case_opens_with_a_banner_and_every_read_is_flagged(
    client, county, revoked
):
    client.force_login(county.bob)
    before = timezone.now()
    response = client.post(emergency_url(revoked), {"reason": REASON})
    assert response.status_code == 302 and response.url == case_url(revoked)

    grant = EmergencyAccess.objects.get()
    assert (grant.user, grant.unit, grant.case_id) == (county.bob, county.hemtjanst, revoked.pk)
    assert grant.reason == REASON
    assert dt.timedelta(minutes=60) <= grant.expires_at - before < dt.timedelta(minutes=61)

    granted = grant_rows(revoked).get()
    assert granted.emergency and granted.outcome == AuditEvent.Outcome.ALLOWED
    assert (granted.user, granted.subject_user) == (county.bob, county.bob)
    assert (granted.unit_id, granted.organisation_id) == (county.hemtjanst.pk, county.kommun.pk)
    assert granted.person_id == revoked.person_id
    until = f"{timezone.localtime(grant.expires_at):%H:%M}"
    assert f"emergency access #{grant.pk} until" in granted.detail and until in granted.detail
    assert not AuditEvent.objects.filter(detail__contains="Akut").exists()  # the reason stays out

    page = client.get(case_url(revoked))
    assert page.status_code == 200
    banner = re.search(
        r'data-testid="emergency-banner".*?</div>\s*</div>', page.content.decode(), re.S
    )
    assert banner and until in banner.group(0)
    assert revoked.person.given_name in page.content.decode()
    read = AuditEvent.objects.filter(
        user=county.bob, case=revoked, action=AuditEvent.Action.READ, what="sip_case"
    ).latest("pk")
    assert read.emergency and read.outcome == AuditEvent.Outcome.ALLOWED
    assert read.unit_id == county.hemtjanst.pk
    assert read.detail == f"emergency access #{grant.pk}"


def test_the_length_of_emergency_access_is_a_setting(county, revoked, settings):
    settings.SAMPLAN_EMERGENCY_ACCESS_MINUTES = 5
    grant = grant_emergency_access(county.bob, revoked.pk, REASON)
    assert grant.expires_at - grant.granted_at == dt.timedelta(minutes=5)


def test_a_case_under_emergency_access_is_in_no_list(client, county, revoked):
    grant_emergency_access(county.bob, revoked.pk, REASON)
    client.force_login(county.bob)
    name = revoked.person.given_name
    assert name not in client.get("/start/").content.decode()
    searched = client.post("/sip/sok/", {"q": name})
    assert revoked.pk not in [case.pk for case in searched.context["rows"]]
    assert revoked.pk not in [case.pk for case in client.get("/sip/sok/").context["rows"]]
    assert not cases_visible_to(county.bob).filter(pk=revoked.pk).exists()


def test_nothing_can_be_changed_under_emergency_access(client, county, revoked):
    grant_emergency_access(county.bob, revoked.pk, REASON)
    bob = county.bob
    case = get_case_for(bob, revoked.pk)
    assert case.emergency_access is not None
    assert not bob.has_perm("cases.take_part", case)
    assert not bob.has_perm("cases.drive", case)
    version = case.lock_version
    with pytest.raises(PermissionRefused):
        services.post_message(case, actor=bob, body="Jag läser via nödåtkomst.")
    with pytest.raises(PermissionRefused):
        services.update_preparation(
            case, actor=bob, expected_version=0, values={"preferred_place": "Hemma"}
        )
    with pytest.raises(PermissionRefused):
        services.close_case(case, actor=bob, expected_version=version, reason="other")

    client.force_login(bob)
    page = client.get(case_url(revoked))
    assert page.context["may_take_part"] is False and page.context["may_drive"] is False
    assert page.context["may_post_message"] is False
    posted = client.post(
        reverse("workspace:case_messages", args=[revoked.pk]), {"message-body": "Hej"}
    )
    assert posted.status_code == 403
    assert not CaseMessage.objects.filter(case=revoked).exists()
    revoked.refresh_from_db()
    assert revoked.lock_version == version and revoked.state == State.PREPARATION
    assert not AuditEvent.objects.filter(
        user=bob, action=AuditEvent.Action.CHANGE, outcome=AuditEvent.Outcome.ALLOWED
    ).exists()


# --- When it ends ---------------------------------------------------------------------------


def test_an_expired_grant_is_refused_again(client, county, revoked):
    grant = grant_emergency_access(county.bob, revoked.pk, REASON)
    EmergencyAccess.objects.filter(pk=grant.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    with pytest.raises(Http404):
        get_case_for(county.bob, revoked.pk)
    client.force_login(county.bob)
    response = client.get(case_url(revoked))
    assert response.status_code == 403  # offered again, not opened
    assert revoked.person.given_name not in response.content.decode()


def test_emergency_access_ends_with_the_assignment_it_was_given_through(county, revoked):
    grant_emergency_access(county.bob, revoked.pk, REASON)
    assert get_case_for(county.bob, revoked.pk).emergency_access is not None
    assignment = Assignment.objects.get(user=county.bob)
    assignment.valid_to = timezone.now() - dt.timedelta(seconds=1)
    assignment.save()
    bob = type(county.bob).objects.get(pk=county.bob.pk)  # without the cached units
    with pytest.raises(Http404):
        get_case_for(bob, revoked.pk)


# --- The reason cannot be rewritten unnoticed ---------------------------------------------------


def test_the_grant_row_holds_a_keyed_fingerprint_of_the_reason_and_a_rewrite_shows(
    client, county, revoked
):
    grant = grant_emergency_access(county.bob, revoked.pk, REASON)
    granted = grant_rows(revoked).get()
    assert f"reason hmac {fingerprint(REASON)}" in granted.detail
    assert REASON not in granted.detail
    assert fingerprint(REASON) != fingerprint(REASON + ".")
    assert grant_matches_log(grant)

    officer = staff(county.vardcentral, Assignment.Role.SECURITY_OFFICER, username="sakerhet")
    client.force_login(officer)

    def marked() -> list[bool]:
        response = client.post("/logg/", {"flag": "emergency", "action": "grant"})
        assert response.status_code == 200
        rows = [event for event in response.context["rows"] if event.pk == granted.pk]
        page = response.content.decode()
        return [event.reason_changed for event in rows] + ['data-testid="reason-changed"' in page]

    assert marked() == [False, False]
    with connection.cursor() as cursor:  # beneath the app, as a table owner could
        cursor.execute(
            "UPDATE access_emergencyaccess SET reason = %s WHERE id = %s",
            ["Rutinkontroll av journalen.", grant.pk],
        )
    grant.refresh_from_db()
    assert not grant_matches_log(grant)
    assert marked() == [True, True]


def test_the_reason_stays_out_of_error_reports(client, county, revoked):
    client.force_login(county.bob)
    request = client.post(emergency_url(revoked), {"reason": REASON}).wsgi_request
    assert request.sensitive_post_parameters == ("reason",)
