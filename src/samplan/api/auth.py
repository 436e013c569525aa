"""How a system signs in to the API: `Authorization: Bearer <token>`, nothing else.

Two kinds of bearer token, each leading to one API client (api/models.py) and its system account:
- our own token (begins `spl_`), compared by its SHA-256;
- an access token from the region's OpenID Connect provider (a client credentials grant),
  checked by token introspection (RFC 7662) at the provider when SAMPLAN_API_OIDC_INTROSPECTION
  is set; the answer's `client_id` names the client, and the token must carry the scope in
  SAMPLAN_API_OIDC_SCOPE. A positive answer is kept for at most SAMPLAN_API_INTROSPECTION_CACHE
  seconds (never past the token's `exp`), so the provider is not asked on every call.

No session and no cookie: a browser signed in as staff gets nothing from the API, so the API
needs no CSRF protection. Every refused token is an audit row (SIGN_IN, refused), without the
token itself.
"""

from __future__ import annotations

import time

import requests
from django.conf import settings
from django.core.cache import cache
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from samplan.access.models import AuditEvent
from samplan.access.services import audit

from .models import TOKEN_PREFIX, ApiClient, hash_token

REALM = 'Bearer realm="samplan"'


def _refused(reason: str) -> AuthenticationFailed:
    audit(
        None,
        AuditEvent.Action.SIGN_IN,
        "api_token",
        outcome=AuditEvent.Outcome.REFUSED,
        detail=reason,
    )
    return AuthenticationFailed(
        "Ogiltig eller utgången token. / The token is not valid or has expired."
    )


def introspect(token: str) -> dict | None:
    """The provider's answer about an access token, if it is active; None otherwise."""
    endpoint = settings.SAMPLAN_API_OIDC_INTROSPECTION
    if not endpoint:
        return None
    key = f"samplan:api:introspection:{hash_token(token)}"
    answer = cache.get(key)
    if answer is None:
        try:
            response = requests.post(
                endpoint,
                data={"token": token},
                auth=(settings.SAMPLAN_API_OIDC_CLIENT_ID, settings.SAMPLAN_API_OIDC_CLIENT_SECRET),
                timeout=10,
            )
        except requests.RequestException:
            return None
        if response.status_code != 200:
            return None
        answer = response.json()
        if not answer.get("active"):
            return None
        expires = answer.get("exp")
        keep = settings.SAMPLAN_API_INTROSPECTION_CACHE
        if expires:
            keep = min(keep, int(expires - time.time()))
        if keep > 0:
            cache.set(key, answer, keep)
    if answer.get("exp") and answer["exp"] <= time.time():
        return None
    return answer


def client_for(token: str) -> tuple[ApiClient | None, str]:
    """The usable client a bearer token belongs to, or None and why (for the log)."""
    clients = ApiClient.objects.usable().select_related("user")
    if token.startswith(TOKEN_PREFIX):
        client = clients.filter(token_hash=hash_token(token)).first()
        return client, "" if client else "unknown, revoked or expired token"
    answer = introspect(token)
    if answer is None:
        return None, "provider token not active"
    scopes = (answer.get("scope") or "").split()
    if settings.SAMPLAN_API_OIDC_SCOPE not in scopes:
        return None, f"provider token without the scope {settings.SAMPLAN_API_OIDC_SCOPE}"
    client = clients.filter(oidc_client_id=answer.get("client_id") or None).first()
    return client, "" if client else "provider client_id is no API client"


class BearerAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise _refused("malformed Authorization header")
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise _refused("malformed Authorization header") from None
        client, why = client_for(token)
        if client is None:
            raise _refused(why)
        return client.user, client

    def authenticate_header(self, request) -> str:
        return REALM
