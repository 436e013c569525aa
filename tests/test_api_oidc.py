"""A system signs in to the API with an access token from the region's OpenID Connect provider
(client credentials), checked by token introspection at a real provider on 127.0.0.1
(tests/oidc.py): the answer's client_id names the API client, the scope must be there, and a
token the provider does not vouch for is refused and logged."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from samplan.access.models import AuditEvent
from samplan.api import services as api_services
from samplan.api.models import ApiClient
from samplan.cases.models import State
from tests.factories import case_in_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(settings, oidc_provider):
    """Samplan set up to ask the provider, with a client of its own allowed to introspect."""
    samplan = oidc_provider.add_client([], scopes=["token_introspection"])
    settings.SAMPLAN_API_OIDC_INTROSPECTION = f"{oidc_provider.issuer}/introspect"
    settings.SAMPLAN_API_OIDC_CLIENT_ID = samplan.client_id
    settings.SAMPLAN_API_OIDC_CLIENT_SECRET = samplan.client_secret
    settings.SAMPLAN_API_OIDC_SCOPE = "samplan"
    cache.clear()
    yield oidc_provider
    cache.clear()


def known_client(county, system):
    """An API client of Hemtjänst Norr that signs in only with the provider's tokens, known by
    the provider's client_id of `system`."""
    return api_services.create_client(
        name="Journalen",
        unit=county.hemtjanst,
        created_by="test",
        oidc_client_id=system.client_id,
        with_token=False,
    )


def bearer(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


def test_a_provider_token_of_a_known_client_reaches_its_units_sips(county, broker):
    case = case_in_state(county, State.MEETING_CALLED)
    system = broker.add_client([], scopes=["samplan"])
    api_client, token = known_client(county, system)
    assert token is None and api_client.token_hash is None
    access_token = broker.client_credentials_token(system, "samplan")
    response = bearer(access_token).get(reverse("api:sips"))
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [case.pk]
    assert AuditEvent.objects.filter(what="api_sip_list", user=api_client.user).exists()


def test_a_token_without_the_scope_is_refused(county, broker):
    system = broker.add_client([], scopes=["other"])
    known_client(county, system)
    access_token = broker.client_credentials_token(system, "other")
    assert bearer(access_token).get(reverse("api:sips")).status_code == 401
    row = AuditEvent.objects.get(what="api_token")
    assert row.outcome == AuditEvent.Outcome.REFUSED and "scope" in row.detail


def test_a_token_of_a_client_that_is_no_api_client_is_refused(county, broker):
    stranger = broker.add_client([], scopes=["samplan"])
    access_token = broker.client_credentials_token(stranger, "samplan")
    assert bearer(access_token).get(reverse("api:sips")).status_code == 401
    assert AuditEvent.objects.get(what="api_token").detail == "provider client_id is no API client"


def test_a_token_the_provider_does_not_know_is_refused(county, broker):
    assert bearer("not-a-token-of-the-provider").get(reverse("api:sips")).status_code == 401
    assert AuditEvent.objects.get(what="api_token").detail == "provider token not active"


def test_revoking_the_api_client_refuses_a_token_the_provider_still_vouches_for(county, broker):
    system = broker.add_client([], scopes=["samplan"])
    api_client, _ = known_client(county, system)
    access_token = broker.client_credentials_token(system, "samplan")
    assert bearer(access_token).get(reverse("api:sips")).status_code == 200
    api_services.revoke_client(ApiClient.objects.get(pk=api_client.pk))
    assert bearer(access_token).get(reverse("api:sips")).status_code == 401


def test_without_introspection_set_only_samplans_own_tokens_count(county, settings, broker):
    system = broker.add_client([], scopes=["samplan"])
    known_client(county, system)
    access_token = broker.client_credentials_token(system, "samplan")
    settings.SAMPLAN_API_OIDC_INTROSPECTION = ""
    cache.clear()
    assert bearer(access_token).get(reverse("api:sips")).status_code == 401
