"""A staff sign-in ends a citizen's session in the same browser: Django's login() keeps the
session's data when it only changes its key, so the citizen is dropped here (and the end is
audited). Connected by MyPagesConfig.ready()."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from samplan.access.citizen import SESSION_KEY, Citizen, audit_citizen
from samplan.access.models import AuditEvent
from samplan.mypages.middleware import SEEN_KEY, WHAT


@receiver(user_logged_in, dispatch_uid="samplan.mypages.signals.drop_citizen")
def drop_citizen(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    data = session.pop(SESSION_KEY, None)
    session.pop(SEEN_KEY, None)
    citizen = Citizen.from_session(data) if data else None
    if citizen is not None:
        audit_citizen(citizen, AuditEvent.Action.SIGN_OUT, WHAT, detail="a staff sign-in")
    if getattr(request, "citizen", None) is not None:
        request.citizen = None
