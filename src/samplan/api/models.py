"""A system that calls the API (a journal system, a regional portal): an API client.

Each client acts through a system account of its own (a `directory.User` without a password)
holding one assignment at one unit, so that it sees and does exactly what staff of that unit in a
participant's role see and do: the same access functions, the same rules, the same audit rows,
under its own name. It signs in with a token of ours (only its SHA-256 is stored; the token is
shown once) or with an access token from the region's OpenID Connect provider, matched by the
provider's `client_id` (samplan/api/auth.py).
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Ours, so that a token is told from a provider's access token without asking the provider,
# and secret scanners can recognise one that leaked.
TOKEN_PREFIX = "spl_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class ApiClientQuerySet(models.QuerySet):
    def usable(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )


class ApiClient(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="api_client",
        verbose_name=_("system account"),
    )
    unit = models.ForeignKey(
        "directory.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    # The first characters, to tell tokens apart in a list without revealing them.
    token_hint = models.CharField(_("token begins"), max_length=12, blank=True)
    oidc_client_id = models.CharField(
        _("client_id at the OpenID Connect provider"),
        max_length=200,
        unique=True,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.CharField(_("created by"), max_length=150, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = ApiClientQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")

    def __str__(self) -> str:
        return self.name
