"""The OpenAPI description of the API's sign-in (loaded by ApiConfig.ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "samplan.api.auth.BearerAuthentication"
    name = "bearer"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A Samplan API token (spl_…, `manage.py api_client add`) or an access token "
                "from the region's OpenID Connect provider with the scope SAMPLAN_API_OIDC_SCOPE."
            ),
        }
