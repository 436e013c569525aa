"""API clients are created, given a new token and revoked here, and nowhere else.

Creating a client is a grant of access: its system account's assignment is written through the
directory, whose signals put the grant in the audit log (directory/signals.py); revoking ends the
assignment the same way, so the client loses access at once, whatever token it holds.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from samplan.directory.models import Assignment, Unit, User
from samplan.errors import DomainError

from .models import ApiClient, hash_token, new_token

DEFAULT_DAYS = 365


def create_client(
    *,
    name: str,
    unit: Unit,
    created_by: str,
    days: int | None = DEFAULT_DAYS,
    oidc_client_id: str = "",
    with_token: bool = True,
    token: str | None = None,
) -> tuple[ApiClient, str | None]:
    """A client acting for `unit` in a participant's role, and its token (shown once; None
    when the client signs in only with the provider's tokens). `token`: a given one instead of
    a new random one (the demo county's, which follows from the client's name)."""
    name = name.strip()
    if not name:
        raise DomainError("Ange systemets namn.", "Enter the system's name.", "name")
    if not with_token and not oidc_client_id:
        raise DomainError(
            "Ett system behöver en token eller ett client_id hos OIDC-leverantören.",
            "A system needs a token or a client_id at the OpenID Connect provider.",
            "oidc_client_id",
        )
    if ApiClient.objects.filter(name=name).exists():
        raise DomainError(
            f"Det finns redan ett system som heter {name}.",
            f"There is already a system called {name}.",
            "name",
        )
    now = timezone.now()
    expires_at = now + dt.timedelta(days=days) if days else None
    token = (token or new_token()) if with_token else None
    with transaction.atomic():
        user = User(username=f"api:{slugify(name)[:140]}", first_name=name[:150])
        user.set_unusable_password()
        user.save()
        Assignment.objects.create(
            user=user,
            unit=unit,
            role=Assignment.Role.PARTICIPANT,
            valid_from=now,
            valid_to=expires_at,
        )
        client = ApiClient.objects.create(
            name=name,
            user=user,
            unit=unit,
            token_hash=hash_token(token) if token else None,
            token_hint=token[:10] if token else "",
            oidc_client_id=oidc_client_id or None,
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
        )
    return client, token


def new_client_token(client: ApiClient) -> str:
    """A new token for the client; the old one stops working at once."""
    token = new_token()
    client.token_hash = hash_token(token)
    client.token_hint = token[:10]
    client.save(update_fields=["token_hash", "token_hint"])
    return token


def revoke_client(client: ApiClient) -> None:
    """The client is refused from now on: its token and its assignment end."""
    now = timezone.now()
    with transaction.atomic():
        client.revoked_at = now
        client.token_hash = None
        client.save(update_fields=["revoked_at", "token_hash"])
        for assignment in Assignment.objects.filter(user=client.user).active():
            assignment.valid_to = now
            assignment.save()
