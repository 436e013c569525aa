"""No page before two factors, and no session past its time.

For every signed-in request: a session past its idle or absolute timeout, or older than the
user's "sign out everywhere", is signed out (audited) and sent to the sign-in page with a message.
A session signed in with a password only reaches the sign-in pages and nothing else: every other
request (the admin included) goes to the second-factor page, or to enrolment when the account
has no second factor yet. Placed after AuthenticationMiddleware and MessageMiddleware, and after
ClientAddressMiddleware so that its audit rows carry the address."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from samplan.access.models import AuditEvent
from samplan.access.services import audit
from samplan.accounts import sessions
from samplan.accounts.factors import has_two_factors

# Reachable with a password alone (or with no sign-in at all, as everywhere): the way in and out.
OPEN_PREFIXES = ("/i18n/", "/oidc/")


def _go(request, url: str):
    # An htmx request would swap the sign-in page into a fragment; have the browser go instead.
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def _with_next(request, url: str, *, back: bool = True) -> str:
    if back and request.method == "GET":
        query = QueryDict(mutable=True)
        query["next"] = request.get_full_path()
        return f"{url}?{query.urlencode(safe='/')}"
    return url


def ended_message(reason: str) -> str:
    if reason == sessions.Ended.IDLE:
        return _(
            "You were signed out after %(minutes)s minutes without activity. Sign in again."
        ) % {"minutes": settings.SAMPLAN_IDLE_TIMEOUT_MINUTES}
    if reason == sessions.Ended.ABSOLUTE:
        return _(
            "You were signed out because you had been signed in for %(hours)s hours. Sign in again."
        ) % {"hours": settings.SAMPLAN_ABSOLUTE_TIMEOUT_HOURS}
    return _("Your account was signed out everywhere. Sign in again.")


class SignInMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._open_paths: frozenset[str] | None = None

    def open_paths(self) -> frozenset[str]:
        if self._open_paths is None:
            self._open_paths = frozenset(
                reverse(name)
                for name in (
                    "login",
                    "logout",
                    "accounts:second_factor",
                    "accounts:enrol",
                )
            )
        return self._open_paths

    def is_open(self, path: str) -> bool:
        static = "/" + settings.STATIC_URL.lstrip("/")
        return path in self.open_paths() or path.startswith((*OPEN_PREFIXES, static))

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            reason = sessions.ended(request)
            if reason is not None:
                audit(
                    user,
                    AuditEvent.Action.SIGN_OUT,
                    reason,
                    subject_user=user,
                )
                logout(request)
                messages.info(request, ended_message(reason))
                back = not self.is_open(request.path)
                return _go(request, _with_next(request, reverse("login"), back=back))
            sessions.touch(request)
            if not has_two_factors(request) and not self.is_open(request.path):
                return _go(request, _with_next(request, reverse("accounts:second_factor")))
        return self.get_response(request)
