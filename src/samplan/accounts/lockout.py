"""django-axes, fitted to Samplan: lockout by user name and by address, each with its own limit,
and nothing typed at the sign-in page stored in clear.

Axes counts failures per user name and per address in its own table (AccessAttempt). Two things
are Samplan's:

- **The user name is stored as a keyed hash.** People type their password into the user-name
  field; axes would keep it verbatim. A keyed hash (SECRET_KEY) still counts failures per name.
- **An address has a higher limit than a user name.** Many staff of one hospital reach Samplan
  through one address (a proxy, NAT); five typos among them must not lock the whole hospital out.
  The address counts against SAMPLAN_SIGN_IN_ADDRESS_FAILURE_LIMIT, the user name against
  AXES_FAILURE_LIMIT.
"""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_failure_limit, get_lockout_parameters
from django.conf import settings
from django.db.models import Sum
from django.shortcuts import redirect
from django.utils.crypto import salted_hmac

from samplan.access.middleware import client_address as _client_address


def username_key(request, credentials: dict | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the user name as axes stores and compares it."""
    typed = (credentials or {}).get("username")
    if typed is None and request is not None and request.method == "POST":
        typed = request.POST.get("username")
    if not typed:
        return None
    return "h:" + salted_hmac("samplan.accounts.lockout", typed.casefold()).hexdigest()


def client_address(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the same address the audit log records (trusted proxies only)."""
    return _client_address(request)


def same_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: a locked-out sign-in looks exactly like any refused one, so the
    view's own answer goes out unchanged (no enumeration of names by their lock)."""
    if original_response is not None:
        return original_response
    return redirect(settings.LOGIN_URL)


class LockoutHandler(AxesDatabaseHandler):
    """AXES_HANDLER: axes' database handler with a separate limit for the address."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        # Axes compares one number with one limit; an address's failures are scaled so that
        # reaching the address limit reaches the user-name limit.
        user_limit = get_failure_limit(request, credentials)
        address_limit = max(settings.SAMPLAN_SIGN_IN_ADDRESS_FAILURE_LIMIT, 1)
        counts = [0]
        for parameter, attempts in zip(
            get_lockout_parameters(request, credentials),
            self.get_user_attempts(request, credentials),
            strict=True,
        ):
            failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            if parameter == "ip_address":
                failures = failures * user_limit // address_limit
            counts.append(failures)
        return max(counts)


def is_locked(request, username: str) -> bool:
    return not AxesProxyHandler.is_allowed(request, {"username": username})
