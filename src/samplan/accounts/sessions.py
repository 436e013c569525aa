"""How long a signed-in session lives: an idle timeout, an absolute timeout counted from the
sign-in, and "sign out everywhere" (a per-user time before which every session is over).

The times are kept in the session (seconds since the epoch) and checked on every request by
accounts.middleware. They are set on every sign-in, whichever way it went (password, single
sign-on, a test's force_login), by the user_logged_in signal."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

SIGNED_IN_AT = "samplan_signed_in_at"
LAST_SEEN_AT = "samplan_last_seen_at"
# Writing the session on every request would cost a database write per page; a minute's
# precision is enough for a 30-minute idle timeout.
TOUCH_EVERY_SECONDS = 60


class Ended:
    """Why a session ended, as the audit row's `what` says it."""

    IDLE = "idle_timeout"
    ABSOLUTE = "absolute_timeout"
    EVERYWHERE = "signed_out_everywhere"


def idle_seconds() -> int:
    return settings.SAMPLAN_IDLE_TIMEOUT_MINUTES * 60


def absolute_seconds() -> int:
    return settings.SAMPLAN_ABSOLUTE_TIMEOUT_HOURS * 3600


@receiver(user_logged_in, dispatch_uid="samplan.accounts.sessions.start")
def start(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    now = time.time()
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN_AT] = now


def ended(request) -> str | None:
    """Why the signed-in session of this request is over, or None while it lives."""
    session = request.session
    signed_in_at = session.get(SIGNED_IN_AT)
    last_seen_at = session.get(LAST_SEEN_AT)
    if signed_in_at is None or last_seen_at is None:
        return Ended.ABSOLUTE  # a session from before these rules: its age is unknown
    now = time.time()
    if now - signed_in_at > absolute_seconds():
        return Ended.ABSOLUTE
    if now - last_seen_at > idle_seconds():
        return Ended.IDLE
    everywhere = getattr(request.user, "signed_out_everywhere_at", None)
    if everywhere is not None and signed_in_at <= everywhere.timestamp():
        return Ended.EVERYWHERE
    return None


def touch(request) -> None:
    now = time.time()
    if now - request.session.get(LAST_SEEN_AT, 0) >= TOUCH_EVERY_SECONDS:
        request.session[LAST_SEEN_AT] = now
