"""`manage.py check`: Min SIP's sign-in switched on but not configured, or the demo sign-in (anyone
can be anyone of the demo county's people) behind TLS, is caught at startup. Registered by
MyPagesConfig.ready()."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from samplan.mypages.oidc import OWN_DEFAULTS, accepted_acr, enabled, identity_claims

REQUIRED = (
    "SAMPLAN_PERSON_OIDC_OP_ISSUER",
    "SAMPLAN_PERSON_OIDC_OP_AUTHORIZATION_ENDPOINT",
    "SAMPLAN_PERSON_OIDC_OP_TOKEN_ENDPOINT",
    "SAMPLAN_PERSON_OIDC_OP_JWKS_ENDPOINT",
    "SAMPLAN_PERSON_OIDC_RP_CLIENT_ID",
    "SAMPLAN_PERSON_OIDC_RP_CLIENT_SECRET",
)


@register(Tags.security)
def person_sign_in_configured(app_configs=None, **kwargs):
    if not enabled():
        return []
    errors = [
        Error(
            f"SAMPLAN_PERSON_OIDC is on but {name} is empty.",
            hint="Endpoints and issuer: the e-legitimation broker's discovery document; client "
            "id and secret: Min SIP's own registration with the broker (not the staff's).",
            id="samplan.E301",
        )
        for name in REQUIRED
        if not getattr(settings, name, "")
    ]
    if not accepted_acr():
        errors.append(
            Error(
                "No sign-in to Min SIP could ever be accepted: "
                "SAMPLAN_PERSON_OIDC_ACCEPTED_ACR is empty.",
                id="samplan.E302",
            )
        )
    if not identity_claims():
        errors.append(
            Error(
                "SAMPLAN_PERSON_OIDC_IDENTITY_CLAIMS is empty: no identity number can be read.",
                id="samplan.E303",
            )
        )
    algorithm = getattr(
        settings,
        "SAMPLAN_PERSON_OIDC_RP_SIGN_ALGO",
        OWN_DEFAULTS["SAMPLAN_PERSON_OIDC_RP_SIGN_ALGO"],
    )
    if algorithm.startswith("HS"):
        errors.append(
            Warning(
                "SAMPLAN_PERSON_OIDC_RP_SIGN_ALGO is a shared-secret algorithm; use RS256 (or "
                "ES256) with the broker's JWKS.",
                id="samplan.W304",
            )
        )
    if not getattr(settings, "SAMPLAN_PERSON_OIDC_VERIFY_SSL", True):
        errors.append(
            Warning(
                "SAMPLAN_PERSON_OIDC_VERIFY_SSL is off: the e-legitimation broker's TLS "
                "certificate is not checked, so anyone in between could sign people in.",
                hint="Leave it unset (on). It never follows the staff's OIDC_VERIFY_SSL.",
                id="samplan.W306",
            )
        )
    return errors


@register(Tags.security)
def no_demo_sign_in_behind_tls(app_configs=None, **kwargs):
    if settings.HTTPS and getattr(settings, "SAMPLAN_PERSON_DEMO_SIGN_IN", False):
        return [
            Error(
                "SAMPLAN_PERSON_DEMO_SIGN_IN is on with HTTPS: anyone could sign in to Min SIP "
                "as any of the demo county's people.",
                hint="The demo sign-in is for the demo on a developer's machine. Unset "
                "SAMPLAN_PERSON_DEMO_SIGN_IN and sign people in with e-legitimation "
                "(SAMPLAN_PERSON_OIDC).",
                id="samplan.E305",
            )
        ]
    return []
