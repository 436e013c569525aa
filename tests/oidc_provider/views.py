"""Test-only setup over HTTP: the tests run in another process (with another database), so they
register a client or add a user by posting JSON here, guarded by the shared secret that
tests/oidc.py gave the provider when it started it."""

import json
import secrets

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oidc_provider.models import Client, ResponseType

from .claims import claims_path


def _trusted(request) -> bool:
    return secrets.compare_digest(
        request.headers.get("X-Testing-Secret", ""), settings.TESTING_SECRET
    )


@csrf_exempt
@require_POST
def add_client(request):
    """A confidential client for the code flow that never asks for consent: the relying party
    under test, identified by its redirect URIs."""
    if not _trusted(request):
        return HttpResponseForbidden()
    data = json.loads(request.body)
    client = Client.objects.create(
        name=data.get("name", "Samplan under test"),
        client_type="confidential",
        client_id=secrets.token_hex(8),
        client_secret=secrets.token_urlsafe(32),
        jwt_alg="RS256",
        require_consent=False,
        reuse_consent=False,
        _redirect_uris="\n".join(data["redirect_uris"]),
        _scope=" ".join(data.get("scopes", ["openid", "profile"])),
    )
    client.response_types.add(ResponseType.objects.get(value="code"))
    return JsonResponse({"client_id": client.client_id, "client_secret": client.client_secret})


@csrf_exempt
@require_POST
def add_user(request):
    """A user who signs in here with a password; the claims are what their ID token (and their
    userinfo) will say, e.g. {"acr": …, "amr": […], "employeeHsaId": …}."""
    if not _trusted(request):
        return HttpResponseForbidden()
    data = json.loads(request.body)
    username = data.get("username") or f"user-{secrets.token_hex(6)}"
    password = data.get("password") or secrets.token_urlsafe(12)
    User.objects.create_user(
        username,
        password=password,
        first_name=data.get("given_name", ""),
        last_name=data.get("family_name", ""),
    )
    path = claims_path(username)
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        json.dumps({"id_token": data.get("id_token", {}), "userinfo": data.get("userinfo", {})})
    )
    return JsonResponse({"username": username, "password": password})
