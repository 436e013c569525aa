"""Claims the test provider adds for each of its users: what a region's broker (SITHS) or an
e-identification provider (BankID) would say about the person and how they signed in.

Each user's claims live in a JSON file beside the provider's database, written by the
/testing/users/ view: {"id_token": {...}, "userinfo": {...}}. The ID token ones (acr, amr, an
HSA-id, a personnummer…) go into the signed ID token; the userinfo ones are answered by the
userinfo endpoint, so a test can make the two disagree."""

import json

from django.conf import settings
from oidc_provider.lib.claims import ScopeClaims


def claims_path(username: str):
    return settings.DATA_DIR / "claims" / f"{username}.json"


def stored_claims(username: str) -> dict:
    path = claims_path(username)
    return json.loads(path.read_text()) if path.exists() else {}


def add_sign_in_claims(id_token, user, token, request, **kwargs):
    """OIDC_IDTOKEN_PROCESSING_HOOK: the stored ID token claims, over the provider's own."""
    return {**id_token, **stored_claims(user.get_username()).get("id_token", {})}


class ExtraScopeClaims(ScopeClaims):
    """OIDC_EXTRA_SCOPE_CLAIMS: every token has the "openid" scope, so the stored userinfo
    claims are answered for every sign-in."""

    def scope_openid(self):
        return stored_claims(self.user.get_username()).get("userinfo", {})
