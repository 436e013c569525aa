"""Who is signed in to Min SIP: `request.citizen` (access/citizen.py: Citizen) or None; and how
that session begins and ends.

A browser session is either a staff member's or a citizen's: a citizen sign-in starts a new
session (begin_session: whoever was signed in before is signed out), and a staff sign-in drops
the citizen (mypages/signals.py). While a staff user is signed in, no citizen is read from the
session.

A citizen may be on a shared computer (a library, a relative's phone), so the session ends after
SAMPLAN_PERSON_IDLE_TIMEOUT_MINUTES without a request and SAMPLAN_PERSON_ABSOLUTE_TIMEOUT_HOURS
after the sign-in, whatever happens in between: the session is emptied, the end audited, and the
browser sent to the sign-in page with a message."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponseRedirect, QueryDict
from django.middleware.csrf import rotate_token
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from samplan.access.citizen import SESSION_KEY, Citizen, audit_citizen
from samplan.access.models import AuditEvent
from samplan.access.services import audit
from samplan.people.models import Person

# The `what` of Min SIP's sign-in and sign-out rows in the audit log.
WHAT = "min_sip"
# When the citizen was last seen (seconds since the epoch); the sign-in time is the Citizen's.
SEEN_KEY = "samplan_citizen_seen_at"
# Writing the session on every request would cost a database write per page; a minute's
# precision is enough for a 15-minute idle timeout.
TOUCH_EVERY_SECONDS = 60
IDLE_TIMEOUT_MINUTES = 15
ABSOLUTE_TIMEOUT_HOURS = 2


class Ended:
    """Why a citizen's session ended, as the audit row's `what` says it."""

    IDLE = "idle"
    ABSOLUTE = "absolute"


def idle_minutes() -> int:
    return getattr(settings, "SAMPLAN_PERSON_IDLE_TIMEOUT_MINUTES", IDLE_TIMEOUT_MINUTES)


def absolute_hours() -> int:
    return getattr(settings, "SAMPLAN_PERSON_ABSOLUTE_TIMEOUT_HOURS", ABSOLUTE_TIMEOUT_HOURS)


def _person_id(citizen: Citizen) -> int | None:
    return (
        Person.objects.filter(identity_number=citizen.identity_number)
        .values_list("pk", flat=True)
        .first()
    )


def begin_session(request, citizen: Citizen) -> None:
    """Sign `citizen` in, in a new session: a staff member or another citizen signed in in this
    browser is signed out first (audited), the session key and the CSRF token change."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        audit(
            user,
            AuditEvent.Action.SIGN_OUT,
            "sign_out",
            subject_user=user,
            detail="a Min SIP sign-in in the same browser",
        )
    elif getattr(request, "citizen", None) is not None:
        audit_citizen(request.citizen, AuditEvent.Action.SIGN_OUT, WHAT, detail="new sign-in")
    logout(request)  # flushes the session, whoever was in it
    session = request.session
    session[SESSION_KEY] = citizen.to_session()
    session[SEEN_KEY] = time.time()
    session.cycle_key()
    rotate_token(request)
    request.citizen = citizen
    audit_citizen(
        citizen,
        AuditEvent.Action.SIGN_IN,
        WHAT,
        person_id=_person_id(citizen),
        detail=citizen.method,
    )


def end_session(request, citizen: Citizen, what: str = WHAT, detail: str = "") -> None:
    audit_citizen(
        citizen, AuditEvent.Action.SIGN_OUT, what, person_id=_person_id(citizen), detail=detail
    )
    request.session.flush()
    request.citizen = None


def ended(session, citizen: Citizen, now: float) -> str | None:
    """Why the citizen's session is over, or None while it lives."""
    signed_in_at = citizen.signed_in_at.timestamp()
    if now - signed_in_at > absolute_hours() * 3600:
        return Ended.ABSOLUTE
    if now - session.get(SEEN_KEY, signed_in_at) > idle_minutes() * 60:
        return Ended.IDLE
    return None


def ended_message(reason: str) -> str:
    if reason == Ended.IDLE:
        return _(
            "You were signed out after %(minutes)s minutes without activity. Sign in again."
        ) % {"minutes": idle_minutes()}
    return _(
        "You were signed out because you had been signed in for %(hours)s hours. Sign in again."
    ) % {"hours": absolute_hours()}


def _to_sign_in(request):
    url = reverse("mypages:sign_in")
    if request.method == "GET":
        query = QueryDict(mutable=True)
        query["next"] = request.get_full_path()
        url = f"{url}?{query.urlencode(safe='/')}"
    # An htmx request would swap the sign-in page into a fragment; have the browser go instead.
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


class CitizenMiddleware:
    """Sets `request.citizen`. Placed after SignInMiddleware (staff) and MessageMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.citizen = None
        user = getattr(request, "user", None)
        data = request.session.get(SESSION_KEY)
        if data and not (user is not None and user.is_authenticated):
            citizen = Citizen.from_session(data)
            if citizen is None:  # not a session this code wrote: forget it
                request.session.pop(SESSION_KEY, None)
                return self.get_response(request)
            now = time.time()
            reason = ended(request.session, citizen, now)
            if reason is not None:
                end_session(request, citizen, reason)
                messages.info(request, ended_message(reason))
                return _to_sign_in(request)
            if now - request.session.get(SEEN_KEY, 0) >= TOUCH_EVERY_SECONDS:
                request.session[SEEN_KEY] = now
            request.citizen = citizen
        return self.get_response(request)
