"""`manage.py check`: single sign-on switched on but not configured is caught at startup, not
when the first staff member is sent to an empty address. Registered by AccountsConfig.ready()."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

REQUIRED = (
    "OIDC_OP_ISSUER",
    "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT",
    "OIDC_RP_CLIENT_ID",
    "OIDC_RP_CLIENT_SECRET",
)


@register(Tags.security)
def single_sign_on_configured(app_configs=None, **kwargs):
    if not getattr(settings, "SAMPLAN_STAFF_OIDC_ENABLED", False):
        return []
    errors = [
        Error(
            f"SAMPLAN_STAFF_OIDC is on but {name} is empty.",
            hint="Endpoints and issuer: the broker's discovery document; client id and "
            "secret: the registration of Samplan with the broker.",
            id="samplan.E101",
        )
        for name in REQUIRED
        if not getattr(settings, name, "")
    ]
    if not settings.SAMPLAN_OIDC_ACCEPTED_ACR and not settings.SAMPLAN_OIDC_TRUST_AMR:
        errors.append(
            Error(
                "No sign-in could ever count as two factors: SAMPLAN_OIDC_ACCEPTED_ACR is empty "
                "and SAMPLAN_OIDC_TRUST_AMR is off.",
                id="samplan.E102",
            )
        )
    if settings.OIDC_RP_SIGN_ALGO.startswith("HS"):
        errors.append(
            Warning(
                "OIDC_RP_SIGN_ALGO is a shared-secret algorithm; use RS256 (or ES256) with the "
                "broker's JWKS.",
                id="samplan.W103",
            )
        )
    return errors
