"""Single sign-on for staff through OpenID Connect: in production a region's identity broker for
SITHS/eTjänstekort (e.g. Inera's IdP), in the tests a real provider on 127.0.0.1.

mozilla-django-oidc runs the code flow (state, nonce, PKCE, token exchange, the JWKS). What is
Samplan's own:

- the ID token is checked for issuer and audience as well as signature and expiry (the library
  checks neither);
- the strength of the sign-in is read from the verified ID token, never from userinfo, and must
  mean two factors: an accepted `acr` (LoA3 and up), or, when the broker says it that way, an
  `amr` with two kinds of factor;
- the identity (an HSA-id) is mapped to a staff member already in the directory; accounts are
  made on the fly only when a region asks for it (SAMPLAN_OIDC_CREATE_USER);
- every sign-in and every refusal is written to the audit log, and a refused person lands on the
  sign-in page told why;
- a successful sign-in marks the session as two-factor (accounts/factors.py), so no local TOTP
  is asked for on top.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.encoding import smart_str
from django.utils.translation import gettext_lazy as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from samplan.access.models import AuditEvent
from samplan.access.services import audit
from samplan.accounts.factors import mark_two_factors

logger = logging.getLogger(__name__)

# Swedish e-identification, "Tillitsramverk för Svensk e-legitimation" (DIGG): LoA3 and LoA4.
LOA3 = "http://id.elegnamnden.se/loa/1.0/loa3"
LOA4 = "http://id.elegnamnden.se/loa/1.0/loa4"
# The same levels as Inera's IdP for SITHS names them (SAMBI).
SAMBI_LOA3 = "http://id.sambi.se/loa/loa3"
SAMBI_LOA4 = "http://id.sambi.se/loa/loa4"

# Authentication method references (RFC 8176) by the kind of factor they prove. "mfa" says two
# or more factors by itself; "mca" (several channels) does not, nor do "geo", "rba", "user".
KNOWLEDGE = frozenset({"pwd", "pin", "kba"})
POSSESSION = frozenset({"hwk", "swk", "sc", "otp", "sms", "tel"})
INHERENCE = frozenset({"fpt", "face", "iris", "retina", "vbm"})

# Where the backend leaves what it found for the callback view, which audits and answers.
RESULT_ATTRIBUTE = "samplan_oidc_result"
WHAT = "sign_in_oidc"


def enabled() -> bool:
    return bool(getattr(settings, "SAMPLAN_STAFF_OIDC_ENABLED", False))


@dataclass(frozen=True)
class Strength:
    """How the person signed in, as the verified ID token says."""

    acr: str = ""
    amr: tuple[str, ...] = ()

    @classmethod
    def of(cls, id_token: dict) -> Strength:
        amr = id_token.get("amr") or ()
        if isinstance(amr, str):
            amr = (amr,)
        elif not isinstance(amr, list | tuple):
            amr = ()  # not what RFC 8176 allows: no method is known
        return cls(acr=smart_str(id_token.get("acr") or ""), amr=tuple(smart_str(m) for m in amr))

    @property
    def factor_kinds(self) -> set[str]:
        methods = set(self.amr)
        return {
            kind
            for kind, known in (
                ("knowledge", KNOWLEDGE),
                ("possession", POSSESSION),
                ("inherence", INHERENCE),
            )
            if methods & known
        }

    def is_two_factor(self, accepted_acr, trust_amr: bool = True) -> bool:
        if self.acr and self.acr in accepted_acr:
            return True
        if not trust_amr:
            return False
        return "mfa" in self.amr or len(self.factor_kinds) >= 2

    def describe(self) -> str:
        return f"acr={self.acr or '-'} amr={','.join(self.amr) or '-'}"


class Refusal:
    """Why a sign-in through the broker was refused: the code in the audit row, the text shown."""

    TOO_WEAK = "too_weak"
    UNKNOWN_IDENTITY = "unknown_identity"
    AMBIGUOUS_IDENTITY = "ambiguous_identity"
    INACTIVE = "inactive"
    STATE = "state"  # missing, forged or replayed state: not the sign-in this browser began
    TOKEN = "token"  # token exchange failed, or the ID token did not verify (signature, nonce…)
    PROVIDER_ERROR = "provider_error"  # the broker answered with an error (e.g. access_denied)
    NOT_AUTHENTICATED = "not_authenticated"  # no backend accepted it (e.g. a locked-out address)

    MESSAGES = {
        TOO_WEAK: _(
            "Signing in requires two factors. Sign in again with your SITHS card "
            "(eTjänstekort) and its PIN, or another method with two factors."
        ),
        UNKNOWN_IDENTITY: _(
            "Your identity is not known in Samplan. Ask your administrator to register your "
            "HSA-id on your account."
        ),
        AMBIGUOUS_IDENTITY: _(
            "Your HSA-id belongs to more than one account in Samplan. Ask your administrator to "
            "correct the directory."
        ),
        INACTIVE: _("Your account in Samplan is not active. Ask your administrator."),
    }
    FAILED = _("Sign-in with SITHS did not complete. Please try again.")

    @classmethod
    def message(cls, reason: str):
        return cls.MESSAGES.get(reason, cls.FAILED)


@dataclass
class Result:
    """What the backend found out about one callback."""

    reason: str = ""  # empty: signed in
    user: object = None
    identity: str = ""  # the HSA-id presented
    strength: Strength = field(default_factory=Strength)
    note: str = ""

    def detail(self) -> str:
        parts = [f"reason={self.reason}"] if self.reason else []
        parts.append(self.strength.describe())
        if self.note:
            parts.append(self.note)
        return " ".join(parts)[:300]


def _record(request, result: Result) -> None:
    setattr(request, RESULT_ATTRIBUTE, result)


class StaffOIDCBackend(OIDCAuthenticationBackend):
    """Authenticates a staff member from the broker's verified ID token, by HSA-id."""

    def authenticate(self, request, **kwargs):
        if request is None or not enabled():
            return None
        # Only the callback view asks with a nonce; a local sign-in (even one whose URL was
        # given ?code=…&state=…) never reaches the broker from here.
        if "nonce" not in kwargs or "username" in kwargs or "password" in kwargs:
            return None
        # Whatever goes wrong between the broker and us ends in a refusal, never a half sign-in:
        # an unreachable broker, a JWKS without the key, a malformed answer.
        try:
            return super().authenticate(request, **kwargs)
        except (
            SuspiciousOperation,
            jwt.PyJWTError,
            requests.RequestException,
            KeyError,
            ValueError,
        ) as exc:
            logger.warning("OIDC sign-in refused: %s", exc, exc_info=True)
            if getattr(request, RESULT_ATTRIBUTE, None) is None:
                _record(request, Result(reason=Refusal.TOKEN, note=type(exc).__name__))
            return None

    def _verify_jws(self, payload, key):
        """Signature, expiry, and also issuer and audience: a token the broker issued to another
        client, or another broker's token signed with a key we happen to trust, is refused."""
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation("The ID token's algorithm is not the one configured.")
        issuer = self.get_settings("OIDC_OP_ISSUER", "")
        try:
            claims = jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=issuer or None,
                leeway=self.get_settings("OIDC_CLOCK_LEEWAY_SECONDS", 60),
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from exc
        audience = claims["aud"]
        several = isinstance(audience, list) and len(audience) > 1
        # OpenID Connect Core 3.1.3.7: with several audiences, azp names the one it is for.
        if several and claims.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("The ID token was issued to another party (azp).")
        return claims

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims, with what userinfo adds (e.g. the HSA-id, if the broker gives
        it there). Userinfo never overrides the ID token, so the strength stays the token's."""
        if not self.OIDC_OP_USER_ENDPOINT:
            return dict(payload)
        # Named, not super(): Min SIP's backend (mypages/oidc.py) takes this method as its own.
        info = OIDCAuthenticationBackend.get_userinfo(self, access_token, id_token, payload)
        if info.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("Userinfo is about another subject than the ID token.")
        return {**info, **payload}

    def get_or_create_user(self, access_token, id_token, payload):
        strength = Strength.of(payload)
        try:
            claims = self.get_userinfo(access_token, id_token, payload)
        except SuspiciousOperation:
            _record(self.request, Result(reason=Refusal.TOKEN, strength=strength, note="userinfo"))
            raise
        identity = smart_str(claims.get(settings.SAMPLAN_OIDC_HSA_ID_CLAIM) or "").strip()
        users = (
            list(self.UserModel.objects.filter(hsa_id=identity).order_by("pk")[:2])
            if identity
            else []
        )
        user = users[0] if len(users) == 1 else None
        result = Result(user=user, identity=identity, strength=strength)
        if not strength.is_two_factor(
            settings.SAMPLAN_OIDC_ACCEPTED_ACR, settings.SAMPLAN_OIDC_TRUST_AMR
        ):
            result.reason = Refusal.TOO_WEAK
        elif len(users) > 1:
            result.reason = Refusal.AMBIGUOUS_IDENTITY
        elif user is None and identity and settings.OIDC_CREATE_USER:
            try:
                result.user = self.create_user(claims)
                result.note = "account created"
            except ValidationError:
                # Not an HSA-id, or its user name is taken by another account.
                result.reason = Refusal.UNKNOWN_IDENTITY
                result.note = "account could not be created"
        elif user is None:
            result.reason = Refusal.UNKNOWN_IDENTITY
            if not identity:
                # Most likely a broker that names the claim otherwise: say so to whoever reads.
                result.note = f"no {settings.SAMPLAN_OIDC_HSA_ID_CLAIM} claim"
        elif not user.is_active:
            result.reason = Refusal.INACTIVE
        _record(self.request, result)
        return None if result.reason else result.user

    def create_user(self, claims):
        """Only with SAMPLAN_OIDC_CREATE_USER: an account named by its HSA-id, no password, no
        assignment (so it sees nothing until one is granted)."""
        identity = smart_str(claims[settings.SAMPLAN_OIDC_HSA_ID_CLAIM]).strip()
        user = self.UserModel(
            username=identity,
            hsa_id=identity,
            first_name=smart_str(claims.get("given_name", ""))[:150],
            last_name=smart_str(claims.get("family_name", ""))[:150],
        )
        user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
        return user

    def get_user(self, user_id):
        """A session keeps its user only while the account is active (as ModelBackend does)."""
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None


class SignInRequestView(OIDCAuthenticationRequestView):
    """Sends the browser to the broker, asking for a sign-in of the accepted strength."""

    def get(self, request):
        if not enabled():
            raise Http404
        return super().get(request)

    def get_extra_params(self, request):
        params = dict(super().get_extra_params(request))
        accepted = list(settings.SAMPLAN_OIDC_ACCEPTED_ACR)
        if accepted:
            params["acr_values"] = " ".join(accepted)
            if settings.SAMPLAN_OIDC_REQUEST_ACR_CLAIM:
                # Inera's IdP reads the level from an essential acr claim, not from acr_values.
                params["claims"] = json.dumps(
                    {"id_token": {"acr": {"essential": True, "values": accepted}}}
                )
        return params


class SignInCallbackView(OIDCAuthenticationCallbackView):
    """Where the broker sends the browser back. Signs in, marks the session two-factor and audits;
    or refuses, audits why, and shows the sign-in page with the reason."""

    def get(self, request):
        if not enabled():
            raise Http404
        if request.GET.get("error") and request.GET.get("state") not in request.session.get(
            "oidc_states", {}
        ):
            # The library signs the session out on any error answer; from a link someone else
            # made (no sign-in of this browser's pending) it is refused without that.
            _record(request, Result(reason=Refusal.STATE, note="error answer"))
            return self.login_failure()
        try:
            return super().get(request)
        except SuspiciousOperation:
            # The library's answer to a state this session never issued (forged or replayed).
            _record(request, Result(reason=Refusal.STATE))
            return self.login_failure()

    def login_success(self):
        response = super().login_success()
        # After login(): it may have given the session a new key or emptied it.
        mark_two_factors(self.request, "oidc")
        result = getattr(self.request, RESULT_ATTRIBUTE, None) or Result(user=self.user)
        audit(
            self.user,
            AuditEvent.Action.SIGN_IN,
            WHAT,
            subject_user=self.user,
            detail=result.detail(),
        )
        return response

    def login_failure(self):
        request = self.request
        result = getattr(request, RESULT_ATTRIBUTE, None)
        if result is None:
            if request.GET.get("error"):
                error = smart_str(request.GET["error"])[:60]
                # OpenID Connect's answer when the broker could not give the acr asked for.
                weak = error == "unmet_authentication_requirements"
                reason = Refusal.TOO_WEAK if weak else Refusal.PROVIDER_ERROR
                result = Result(reason=reason, note=f"error={error}")
            elif "code" not in request.GET or "oidc_states" not in request.session:
                result = Result(reason=Refusal.STATE)
            else:
                result = Result(reason=Refusal.NOT_AUTHENTICATED)
        user = result.user if getattr(result.user, "pk", None) else None
        audit(
            AnonymousUser(),
            AuditEvent.Action.SIGN_IN,
            WHAT,
            outcome=AuditEvent.Outcome.REFUSED,
            subject_user=user,
            subject_username="" if user else result.identity[:150],
            detail=result.detail(),
        )
        messages.error(request, Refusal.message(result.reason))
        return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))
