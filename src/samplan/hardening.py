"""Hardening that holds for every request: which proxy headers are believed, no personal data
left in a cache, and a limit on how fast one staff member may search for people.

- `TrustedProxyMiddleware` (first in MIDDLEWARE) drops `X-Forwarded-Proto`, `X-Forwarded-For`
  (and -Host, -Port) unless the connection comes from a proxy named in
  `SAMPLAN_TRUSTED_PROXIES`. Anyone can send those headers; only our own proxy's are true. With
  them gone, `SECURE_PROXY_SSL_HEADER` can be on whenever HTTPS is, and the audit log's address
  cannot be forged.
- `NoStoreMiddleware` marks every response that passes through Django as not to be stored by the
  browser or any cache between. Static files never pass through it (the static file server or
  the proxy serves them), so they stay cacheable.
- `search_refusal` counts a user's own searches for people in the audit log and answers 429 past
  `SAMPLAN_SEARCH_RATE_LIMIT` a minute. Each such search already writes its row (the search box
  naming a person, a lookup by identity number), so the count needs no table, cache or shared
  memory of its own and holds across any number of app servers: one query on the log's
  (user, at) index. The as-you-type identity check reads nothing and writes no row; it is
  refused once the same count is reached.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.translation import gettext as _

# Host and port are read only with USE_X_FORWARDED_HOST/PORT (off), but dropped all the same so
# that turning one on cannot make them believed from anyone.
FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    try:
        return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)
    except ValueError as error:
        raise ImproperlyConfigured(f"SAMPLAN_TRUSTED_PROXIES: {error}") from error


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        parsed = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A dual-stack server reports an IPv4 peer as ::ffff:a.b.c.d; match it against IPv4 ranges.
    return getattr(parsed, "ipv4_mapped", None) or parsed


def is_trusted_proxy(address: str | None) -> bool:
    parsed = _address(address or "")
    if parsed is None:
        return False
    return any(parsed in network for network in _networks(tuple(settings.SAMPLAN_TRUSTED_PROXIES)))


def forwarded_client_address(meta) -> str | None:
    """The client's address: REMOTE_ADDR, unless that is a trusted proxy; then the rightmost
    address of X-Forwarded-For that is not itself a trusted proxy. Each proxy appends the
    address it saw, so entries left of the first untrusted one may be made up by the client."""
    remote = meta.get("REMOTE_ADDR") or None
    if not is_trusted_proxy(remote):
        return remote
    hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    client = remote
    for hop in reversed(hops):
        if _address(hop) is None:
            break  # garbage from the client's side: the last good hop is as far as we know
        client = hop
        if not is_trusted_proxy(hop):
            break
    return client


class TrustedProxyMiddleware:
    """First in MIDDLEWARE: everything after it sees forwarded headers only from our proxy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_trusted_proxy(request.META.get("REMOTE_ADDR")):
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)


def _static_path() -> str:
    return "/" + urlsplit(settings.STATIC_URL).path.lstrip("/")


class NoStoreMiddleware:
    """Every page may carry personal data or a CSRF token (the sign-in page too), so no
    response from Django is stored; simpler than deciding page by page and never wrong. A view
    that set its own Cache-Control keeps its other directives, with no-store added."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(_static_path()):
            return response  # served through Django only by runserver-like setups
        add_never_cache_headers(response)
        response.headers["Pragma"] = "no-cache"
        return response


# --- Rate limit on searching for people ---------------------------------------------------

# The audit rows a search for a person writes: the search box naming a person (identity number
# or name) and the lookup by full identity number when a SIP is started.
SEARCH_KINDS = ("search", "person_lookup")
RATE_WINDOW = dt.timedelta(minutes=1)


def searches_in_last_minute(user, limit: int) -> int:
    """The user's own allowed searches for people in the last minute, counted up to `limit`:
    one query on the (user, at) index of the audit log, reading at most `limit` rows."""
    from samplan.access.models import AuditEvent  # access.middleware imports this module

    since = timezone.now() - RATE_WINDOW
    rows = AuditEvent.objects.filter(
        user=user, at__gte=since, what__in=SEARCH_KINDS, outcome=AuditEvent.Outcome.ALLOWED
    )
    # The ids, not COUNT(*): the search's pages promise never to count (workspace/views/search).
    return len(rows.order_by().values_list("pk", flat=True)[:limit])


def search_refusal(request, what: str = "search"):
    """A 429 page, with a refused row in the audit log, when the user has searched for people
    SAMPLAN_SEARCH_RATE_LIMIT times in the last minute; None while they may go on."""
    from samplan.access.models import AuditEvent
    from samplan.access.services import audit

    limit = settings.SAMPLAN_SEARCH_RATE_LIMIT
    if searches_in_last_minute(request.user, limit) < limit:
        return None
    audit(
        request.user,
        AuditEvent.Action.READ,
        what,
        outcome=AuditEvent.Outcome.REFUSED,
        detail="rate limit",
    )
    if getattr(request, "htmx", False):
        # htmx swaps no 4xx answer into the page, so a fragment of the page (the as-you-type
        # check) says it where the answer would have been.
        message = _("Too many searches in the last minute. Wait a minute and try again.")
        return HttpResponse(
            format_html(
                '<p class="govuk-error-message"><span class="govuk-visually-hidden">{}</span> '
                "{}</p>",
                _("Error:"),
                message,
            )
        )
    response = render(request, "429.html", {"limit": limit}, status=429)
    response.headers["Retry-After"] = str(int(RATE_WINDOW.total_seconds()))
    return response
