"""Read-only mode for planned maintenance: every page stays readable, every write is refused.

Switched with `manage.py read_only on|off` (a row in the database, so every app server and
worker sees it at once) or the setting SAMPLAN_READ_ONLY. Three layers refuse a write:

1. the services ask `refuse_if_read_only()` first, so a form comes back with what was typed and
   a message next to it (through `workspace.actions.attempt` like any refused action);
2. `ReadOnlyMiddleware` runs every request under a database guard that refuses any INSERT,
   UPDATE or DELETE outside what reading needs (the audit log, sessions, lockout counters, an
   emergency access grant, a device's own counters), whatever code path tries it; a refused
   write that no form caught gives the read-only page (503, "nothing was saved");
3. the mail worker and the reminders hold what they would send until the mode is off.

Entering and leaving the mode are written to the audit log."""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from samplan.errors import DomainError

# What reading needs to write, even in read-only mode: the log of the reads themselves, the
# session and its sign-in, lockout counters, a second factor's drift and throttling counters,
# and an emergency access grant (reading in an emergency must still work).
WRITABLE_TABLES = frozenset(
    {
        "access_auditevent",
        "access_emergencyaccess",
        "django_session",
        # That a staff member has seen a message (the unread count): reading a thread needs it.
        "cases_messageread",
        "axes_accessattempt",
        "axes_accessfailurelog",
        "axes_accesslog",
        "otp_totp_totpdevice",
        "otp_static_staticdevice",
        "otp_static_statictoken",
    }
)
# A sign-in stamps the account's last sign-in time and nothing else.
WRITABLE_STATEMENTS = (re.compile(r'^UPDATE "directory_user" SET "last_login" = %s WHERE'),)
# SQLite's bulk_create(ignore_conflicts=True) is "INSERT OR IGNORE INTO": a write all the same.
_WRITE = re.compile(
    r'^\s*(?:INSERT\s+(?:OR\s+[A-Z]+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?([A-Za-z0-9_]+)"?', re.I
)


class ReadOnlyRefused(DomainError):
    code = "read_only"

    def __init__(self):
        super().__init__(
            "Samplan är i läsläge för planerat underhåll: du kan läsa allt, men inget kan "
            "sparas just nu. Det du skrev är kvar i formuläret; spara det när läsläget är slut.",
            "Samplan is read-only for planned maintenance: you can read everything, but nothing "
            "can be saved right now. What you typed is still in the form; save it when the "
            "maintenance is over.",
        )


@dataclass(frozen=True)
class ReadOnlyState:
    since: object = None
    message: str = ""
    from_setting: bool = False


# Within a request the middleware has read the mode once; services ask again without a query.
_UNKNOWN = object()
request_state: ContextVar[object] = ContextVar("read_only_request_state", default=_UNKNOWN)


def current_state() -> ReadOnlyState | None:
    """The read-only mode in force, or None. One query (none when the setting is on, or within
    a request, where the middleware read it)."""
    known = request_state.get()
    if known is not _UNKNOWN:
        return known  # type: ignore[return-value]
    if getattr(settings, "SAMPLAN_READ_ONLY", False):
        return ReadOnlyState(from_setting=True)
    from samplan.maintenance.models import ReadOnlyMode

    row = ReadOnlyMode.objects.filter(pk=1).values("since", "message").first()
    return ReadOnlyState(since=row["since"], message=row["message"]) if row else None


def is_read_only() -> bool:
    return current_state() is not None


def refuse_if_read_only() -> None:
    """Raise ReadOnlyRefused while read-only mode is on: the first line of every service that
    changes something."""
    if is_read_only():
        raise ReadOnlyRefused()


def write_allowed(sql: str) -> bool:
    """Whether a statement may run in read-only mode: anything but a write, or a write that
    reading itself needs (WRITABLE_TABLES, WRITABLE_STATEMENTS)."""
    match = _WRITE.match(sql)
    if match is None:
        return True
    if match.group(1).lower() in WRITABLE_TABLES:
        return True
    return any(pattern.match(sql) for pattern in WRITABLE_STATEMENTS)


def guard(execute, sql, params, many, context):
    """A database execute wrapper that refuses writes read-only mode does not allow."""
    if not write_allowed(sql):
        raise ReadOnlyRefused()
    return execute(sql, params, many, context)


def switch_on(by: str, message: str = "") -> bool:
    """Turn read-only mode on; audited. False when it was on already."""
    from samplan.access.models import AuditEvent
    from samplan.access.services import audit
    from samplan.maintenance.models import ReadOnlyMode

    with transaction.atomic():
        _, created = ReadOnlyMode.objects.get_or_create(
            pk=1, defaults={"since": timezone.now(), "message": message, "switched_on_by": by}
        )
        if created:
            audit(
                None,
                AuditEvent.Action.CHANGE,
                "read_only_mode",
                subject_username=by,
                detail=f"on: {message}" if message else "on",
            )
    return created


def switch_off(by: str) -> bool:
    """Turn read-only mode off; audited. False when it was off already."""
    from samplan.access.models import AuditEvent
    from samplan.access.services import audit
    from samplan.maintenance.models import ReadOnlyMode

    with transaction.atomic():
        deleted, _ = ReadOnlyMode.objects.filter(pk=1).delete()
        if deleted:
            audit(
                None, AuditEvent.Action.CHANGE, "read_only_mode", subject_username=by, detail="off"
            )
    return bool(deleted)
