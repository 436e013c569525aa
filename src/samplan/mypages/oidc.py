"""Sign-in to Min SIP with e-legitimation: the person, a guardian, a god man or förvaltare, a
relative. In production through the region's identity broker (BankID or Freja eID behind
OpenID Connect), with a client of its own; in the tests a real provider on 127.0.0.1.

mozilla-django-oidc runs the code flow (state, nonce, PKCE, the token exchange, the JWKS) with the
person broker's settings (`SAMPLAN_PERSON_OIDC_*`, read through `person_setting` in place of the
staff's `OIDC_*`, including how the broker is spoken to: TLS verification, basic auth at the
token endpoint). The result is not a Django user but a Citizen (access/citizen.py) in a new
session (mypages/middleware.py: begin_session). What is Samplan's own:

- the ID token's algorithm, signature, expiry, issuer and audience are checked as for staff
  (accounts/oidc.py), and its nonce against the one this browser was given;
- the strength is read from the verified ID token only: its `acr` must be one of
  `SAMPLAN_PERSON_OIDC_ACCEPTED_ACR` (LoA3 and up); an `amr` does not count here, since an
  e-legitimation broker states the level;
- the identity number comes from a claim and must be a valid personnummer or samordningsnummer
  (never a reserve number): it is all Samplan knows of the citizen, and rights follow from it;
- a sign-in must come back within STATE_MAX_AGE of its start, and each state is spent once;
- every sign-in and every refusal is in the audit log; a refusal says its reason, never the
  number, and every refusal looks the same to the browser.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse
from django.utils.encoding import smart_str
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import absolutify, import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from samplan.access.citizen import Citizen
from samplan.access.models import AuditEvent
from samplan.access.services import audit
from samplan.accounts.oidc import LOA3, LOA4, SAMBI_LOA3, SAMBI_LOA4, StaffOIDCBackend
from samplan.errors import DomainError
from samplan.mypages.middleware import WHAT, begin_session
from samplan.people.identity import parse_identity

logger = logging.getLogger(__name__)

# The claim names of the identity number: the plain one, and the one of the Swedish OIDC profile
# for e-legitimation (oidc.se), which BankID and Freja brokers use.
IDENTITY_CLAIMS = ["personal_identity_number", "https://id.oidc.se/claim/personalIdentityNumber"]
ACCEPTED_ACR = [LOA3, LOA4, SAMBI_LOA3, SAMBI_LOA4]

# This browser's pending sign-ins. The library keeps the staff's under "oidc_states"; the
# person's are kept apart, so neither callback can spend a state the other began.
STATES_KEY = "samplan_person_oidc_states"
NEXT_KEY = "samplan_person_oidc_next"
MAX_PENDING = 10
# A sign-in begun longer ago than this is not finished: its state is refused like a forged one.
STATE_MAX_AGE = 10 * 60  # seconds
LIBRARY_STATES_KEY = "oidc_states"
LIBRARY_NEXT_KEY = "oidc_login_next"

# The library's setting names, read for the person broker from settings of their own.
OWN_SETTINGS = {
    "OIDC_OP_ISSUER": "SAMPLAN_PERSON_OIDC_OP_ISSUER",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "SAMPLAN_PERSON_OIDC_OP_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT": "SAMPLAN_PERSON_OIDC_OP_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT": "SAMPLAN_PERSON_OIDC_OP_USER_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT": "SAMPLAN_PERSON_OIDC_OP_JWKS_ENDPOINT",
    "OIDC_RP_CLIENT_ID": "SAMPLAN_PERSON_OIDC_RP_CLIENT_ID",
    "OIDC_RP_CLIENT_SECRET": "SAMPLAN_PERSON_OIDC_RP_CLIENT_SECRET",
    "OIDC_RP_SIGN_ALGO": "SAMPLAN_PERSON_OIDC_RP_SIGN_ALGO",
    "OIDC_RP_SCOPES": "SAMPLAN_PERSON_OIDC_RP_SCOPES",
    "OIDC_USE_PKCE": "SAMPLAN_PERSON_OIDC_USE_PKCE",
    # How the broker is spoken to: never the staff's (a staff broker on a test certificate
    # must not switch off the check of the citizens' one).
    "OIDC_VERIFY_SSL": "SAMPLAN_PERSON_OIDC_VERIFY_SSL",
    "OIDC_TOKEN_USE_BASIC_AUTH": "SAMPLAN_PERSON_OIDC_TOKEN_USE_BASIC_AUTH",
}
OWN_DEFAULTS = {
    "SAMPLAN_PERSON_OIDC_RP_SIGN_ALGO": "RS256",
    "SAMPLAN_PERSON_OIDC_RP_SCOPES": "openid profile",
    "SAMPLAN_PERSON_OIDC_USE_PKCE": True,
    "SAMPLAN_PERSON_OIDC_VERIFY_SSL": True,
    "SAMPLAN_PERSON_OIDC_TOKEN_USE_BASIC_AUTH": False,
}
# Never taken from the staff's settings, whatever they say.
FIXED_SETTINGS = {
    "OIDC_USE_NONCE": True,
    "OIDC_ALLOW_UNSECURED_JWT": False,
    "OIDC_RP_IDP_SIGN_KEY": None,  # the broker's JWKS, never a key configured for staff
    "OIDC_AUTHENTICATION_CALLBACK_URL": "mypages:oidc_callback",
    "OIDC_AUTH_REQUEST_EXTRA_PARAMS": {},
    "OIDC_STORE_ACCESS_TOKEN": False,
    "OIDC_STORE_ID_TOKEN": False,
}


def person_setting(attr, *args):
    """mozilla-django-oidc's settings lookup, for the person broker."""
    if attr in FIXED_SETTINGS:
        return FIXED_SETTINGS[attr]
    name = OWN_SETTINGS.get(attr)
    if name is not None:
        return getattr(settings, name, OWN_DEFAULTS.get(name, ""))
    return import_from_settings(attr, *args)  # timeouts, proxies, sizes: shared


def enabled() -> bool:
    return bool(getattr(settings, "SAMPLAN_PERSON_OIDC_ENABLED", False))


def accepted_acr() -> list[str]:
    return list(getattr(settings, "SAMPLAN_PERSON_OIDC_ACCEPTED_ACR", ACCEPTED_ACR))


def identity_claims() -> list[str]:
    return list(getattr(settings, "SAMPLAN_PERSON_OIDC_IDENTITY_CLAIMS", IDENTITY_CLAIMS))


class Refusal:
    """Why a sign-in to Min SIP was refused: the code in the audit row (`reason=<code>`)."""

    NO_IDENTITY = "no_identity"  # no identity number among the claims
    BAD_IDENTITY = "bad_identity"  # not a valid personnummer or samordningsnummer, or claims differ
    TOO_WEAK = "too_weak"  # acr missing or below the accepted levels
    STATE = "state"  # missing, forged, replayed or expired state: not a sign-in begun here
    TOKEN = "token"  # token exchange failed, or the ID token did not verify
    PROVIDER_ERROR = "provider_error"  # the broker answered with an error (e.g. cancelled)
    NOT_DEMO = "not_demo"  # the demo sign-in was sent a number not among the demo's

    # One message for all: the browser learns nothing about which check failed.
    MESSAGE = _(
        "We could not sign you in. Nothing about you was saved. Please try again. If it still "
        "does not work, ask your SIP coordinator for help."
    )


class SignInRefused(Exception):
    def __init__(self, reason: str, note: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.note = note


def audit_refusal(reason: str) -> None:
    """A refused sign-in in the log: the reason only (no identity number, no name)."""
    audit(
        AnonymousUser(),
        AuditEvent.Action.SIGN_IN,
        WHAT,
        outcome=AuditEvent.Outcome.REFUSED,
        detail=f"reason={reason}",
        citizen_role="citizen",
    )


def refuse(request, reason: str, note: str = "") -> HttpResponseRedirect:
    # The note (acr, the broker's error code, an exception's type) is never personal data.
    logger.warning("Min SIP sign-in refused: %s %s", reason, note)
    audit_refusal(reason)
    messages.error(request, Refusal.MESSAGE)
    return HttpResponseRedirect(reverse("mypages:sign_in"))


SIGN_IN_VIEWS = frozenset({"sign_in", "sign_out", "demo_sign_in", "oidc_start", "oidc_callback"})


def safe_next(request, url: str | None) -> str:
    """`url` if it is a page of Min SIP on this host (not a sign-in page), else ""."""
    if not url or not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return ""
    if match.namespace != "mypages" or match.url_name in SIGN_IN_VIEWS:
        return ""
    return url


@dataclass(frozen=True)
class Verified:
    """What the broker said about one sign-in: the verified ID token, and the claims (the ID
    token's over what userinfo adds)."""

    id_token: dict
    claims: dict


class PersonOIDCBackend(OIDCAuthenticationBackend):
    """The token exchange and the ID token's checks, for the person broker. Not an
    authentication backend of Django's (a citizen is not a user): the callback asks it."""

    get_settings = staticmethod(person_setting)
    # Algorithm, signature, expiry, issuer, audience (and azp with several audiences): the
    # same checks as for staff, against this client and issuer.
    _verify_jws = StaffOIDCBackend._verify_jws

    def authenticate(self, request, **kwargs):
        return None

    def verified(self, request, *, code: str, nonce: str, code_verifier: str | None) -> Verified:
        self.request = request
        callback = reverse(self.get_settings("OIDC_AUTHENTICATION_CALLBACK_URL"))
        payload = {
            "client_id": self.OIDC_RP_CLIENT_ID,
            "client_secret": self.OIDC_RP_CLIENT_SECRET,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": absolutify(request, callback),
        }
        if code_verifier is not None:
            payload["code_verifier"] = code_verifier
        answer = self.get_token(payload)
        id_token = answer.get("id_token")
        if not id_token:
            raise SuspiciousOperation("The token answer holds no ID token.")
        token_claims = self.verify_token(id_token, nonce=nonce)
        return Verified(
            token_claims, self.get_userinfo(answer.get("access_token"), id_token, token_claims)
        )

    # The ID token's claims with what userinfo adds, never overriding the token: the staff's.
    get_userinfo = StaffOIDCBackend.get_userinfo


def citizen_from(verified: Verified) -> Citizen:
    """The citizen the broker vouched for, or SignInRefused."""
    acr = smart_str(verified.id_token.get("acr") or "")
    if acr not in accepted_acr():
        raise SignInRefused(Refusal.TOO_WEAK, f"acr={acr or '-'}")
    claims = verified.claims
    given = [smart_str(claims[name]).strip() for name in identity_claims() if claims.get(name)]
    if not given:
        raise SignInRefused(Refusal.NO_IDENTITY, f"none of {', '.join(identity_claims())}")
    try:
        numbers = {parse_identity(value).number for value in given}
    except DomainError as error:
        raise SignInRefused(Refusal.BAD_IDENTITY, error.code or "") from None
    if len(numbers) != 1:
        raise SignInRefused(Refusal.BAD_IDENTITY, "the claims name different numbers")
    full = " ".join(
        smart_str(claims.get(part) or "").strip() for part in ("given_name", "family_name")
    ).strip()
    name = full or smart_str(claims.get("name") or "").strip()
    return Citizen(identity_number=numbers.pop(), name=name[:200], method="oidc")


def expired(begun: dict) -> bool:
    """A pending sign-in begun more than STATE_MAX_AGE ago (or at no known time)."""
    added_on = begun.get("added_on")
    if not isinstance(added_on, int | float):
        return True
    return time.time() - added_on > STATE_MAX_AGE


class PersonSignInRequestView(OIDCAuthenticationRequestView):
    """Sends the browser to the broker, asking for a sign-in of an accepted level."""

    get_settings = staticmethod(person_setting)

    def get(self, request):
        if not enabled():
            raise Http404
        response = super().get(request)
        state = parse_qs(urlsplit(response["Location"]).query)["state"][0]
        session = request.session
        library_states = session.get(LIBRARY_STATES_KEY) or {}
        pending = dict(session.get(STATES_KEY) or {})
        pending[state] = library_states.pop(state)
        for stale in sorted(pending, key=lambda key: pending[key]["added_on"])[:-MAX_PENDING]:
            del pending[stale]
        for stale in [key for key, begun in pending.items() if expired(begun)]:
            del pending[stale]
        if library_states:
            session[LIBRARY_STATES_KEY] = library_states
        else:
            session.pop(LIBRARY_STATES_KEY, None)
        session[STATES_KEY] = pending
        session.pop(LIBRARY_NEXT_KEY, None)
        session[NEXT_KEY] = safe_next(request, request.GET.get("next"))
        return response

    def get_extra_params(self, request):
        accepted = accepted_acr()
        params = {"acr_values": " ".join(accepted)}
        if getattr(settings, "SAMPLAN_PERSON_OIDC_REQUEST_ACR_CLAIM", True):
            # Some brokers read the level from an essential acr claim, not from acr_values.
            params["claims"] = json.dumps(
                {"id_token": {"acr": {"essential": True, "values": accepted}}}
            )
        return params


class PersonSignInCallbackView(OIDCAuthenticationCallbackView):
    """Where the broker sends the browser back: a new session with the citizen in it, or a
    refusal (audited, the same friendly message whatever the reason)."""

    get_settings = staticmethod(person_setting)

    def get(self, request):
        if not enabled():
            raise Http404
        session = request.session
        state = request.GET.get("state", "")
        pending = dict(session.get(STATES_KEY) or {})
        # A state is spent by its first use, whatever the outcome: no replay.
        begun = pending.pop(state, None) if state else None
        if begun is not None:
            session[STATES_KEY] = pending
            session.save()
        error = smart_str(request.GET.get("error", ""))[:60]
        if begun is None:
            return refuse(request, Refusal.STATE, "error answer" if error else "")
        if expired(begun):
            return refuse(request, Refusal.STATE, "expired")
        if error:
            # OpenID Connect's answer when the broker could not give the level asked for.
            weak = error == "unmet_authentication_requirements"
            return refuse(request, Refusal.TOO_WEAK if weak else Refusal.PROVIDER_ERROR, error)
        code = request.GET.get("code", "")
        if not code or not begun.get("nonce"):
            return refuse(request, Refusal.STATE, "no code")
        try:
            citizen = citizen_from(
                PersonOIDCBackend().verified(
                    request,
                    code=code,
                    nonce=begun["nonce"],
                    code_verifier=begun.get("code_verifier"),
                )
            )
        except SignInRefused as refusal:
            return refuse(request, refusal.reason, refusal.note)
        except (
            SuspiciousOperation,
            jwt.PyJWTError,
            requests.RequestException,
            KeyError,
            TypeError,
            ValueError,
        ) as exc:
            # Whatever goes wrong between the broker and us ends in a refusal, never a half
            # sign-in: an unreachable broker, a JWKS without the key, a malformed answer.
            return refuse(request, Refusal.TOKEN, f"{type(exc).__name__}: {exc}"[:200])
        next_url = session.get(NEXT_KEY, "")
        begin_session(request, citizen)
        return HttpResponseRedirect(next_url or reverse("mypages:home"))
