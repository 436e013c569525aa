"""The one way rows enter the audit log: a keyed hash chain, and a copy outside the database.

Each row takes the next place in the log (`seq`, one more than the row before) and
`chain_hash` = HMAC-SHA256(key, previous row's chain_hash + this row's every field, `seq`
included). The key is kept outside the database (settings.SAMPLAN_AUDIT_KEY), so someone who can
write the table, even with the triggers off, cannot change, delete, reorder or insert a row without
`manage.py audit_verify` naming the first row where the chain breaks.

Writers must never fork the chain. On PostgreSQL `access_auditevent_chain_head()` (migration 0006)
takes a transaction-level advisory lock and then reads the head, in one round trip; the lock is
held until the surrounding transaction ends, so the next writer reads the head only after this
one's rows are committed (or rolled back). SQLite lets one writer at a time anyway (BEGIN
IMMEDIATE). Grant signals take the lock first (`take_chain_lock`), before their transaction
locks any row, so two administrators' transactions cannot wait for each other in a circle.

With settings.SAMPLAN_AUDIT_SINK set, each committed row is also appended as one JSON line to a
file and/or sent to syslog, after the commit: a copy the database's owner cannot reach.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import logging.handlers
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from samplan.access.models import AuditEvent

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
# pg_advisory_xact_lock key of the chain head (any constant no other code uses).
CHAIN_LOCK = 7_306_916_001

# Every field of a row that the hash covers (attribute names), in the order the copy shows them.
FIELDS = (
    "seq",
    "at",
    "user_id",
    "username",
    "unit_id",
    "unit_name",
    "organisation_id",
    "organisation_name",
    "person_id",
    "case_id",
    "action",
    "outcome",
    "what",
    "ip_address",
    "path",
    "subject_user_id",
    "subject_username",
    "detail",
    "emergency",
    "citizen_role",
    "citizen_party_id",
)
_ALWAYS = {"seq", "at"}


def audit_key() -> bytes:
    return settings.SAMPLAN_AUDIT_KEY.encode()


def row_fields(values: Mapping[str, object]) -> dict[str, object]:
    """The row as the hash sees it. Empty values (none, "", false) are left out, so a field added
    to the log later with an empty default leaves the hashes of older rows as they were."""
    fields: dict[str, object] = {}
    for name in FIELDS:
        value = values.get(name)
        if name == "at":
            value = _utc(value)
        elif name == "ip_address" and value:
            value = _address(value)
        elif name == "emergency":
            value = bool(value)
        elif (name == "seq" or name.endswith("_id")) and value is not None:
            value = int(value)
        elif value is not None:
            value = str(value)
        if name in _ALWAYS or not (value is None or value == "" or value is False):
            fields[name] = value
    return fields


def canonical(values: Mapping[str, object]) -> bytes:
    return json.dumps(
        row_fields(values), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    ).encode()


def link(previous_hash: str, values: Mapping[str, object], key: bytes) -> str:
    """The chain_hash of a row that follows the row whose chain_hash is `previous_hash`."""
    return hmac.new(key, previous_hash.encode() + canonical(values), hashlib.sha256).hexdigest()


def _utc(value) -> str:
    if isinstance(value, str):  # a line of the copy
        value = dt.datetime.fromisoformat(value)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _address(value) -> str:
    # The database hands an address back in its own spelling (PostgreSQL's inet lowercases and
    # shortens IPv6): hash one spelling.
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        return str(value)


def _values(event: AuditEvent) -> dict[str, object]:
    return {name: getattr(event, name) for name in FIELDS}


# --- Writing --------------------------------------------------------------------------------


def write_events(events: Sequence[AuditEvent]) -> None:
    """Insert the rows of the audit log, in order, chained to the head, in one statement."""
    events = list(events)
    if not events:
        return
    key = audit_key()
    # No savepoint inside a caller's transaction: a failed insert must fail the caller anyway.
    with transaction.atomic(savepoint=False):
        seq, previous = chain_head()
        for event in events:
            seq += 1
            event.seq = seq
            event.chain_hash = previous = link(previous, _values(event), key)
        AuditEvent.objects.bulk_create(events)
        if settings.SAMPLAN_AUDIT_SINK:
            copies = [_copy_line(event) for event in events]
            transaction.on_commit(partial(copy_out, copies), robust=True)


def take_chain_lock() -> None:
    """Take the chain lock now, for the rest of the surrounding transaction: a transaction that
    will write audit rows after locking rows of its own takes it before them. Outside a
    transaction there is nothing to hold it for; SQLite has no such lock (one writer anyway)."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])


def chain_head() -> tuple[int, str]:
    """(seq, chain_hash) of the last row, (0, GENESIS) in an empty log. On PostgreSQL the caller
    holds the chain lock from here until its transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT head_seq, head_hash FROM access_auditevent_chain_head()")
            head = cursor.fetchone()
    else:
        head = (
            AuditEvent.objects.filter(seq__isnull=False)
            .order_by("-seq")
            .values_list("seq", "chain_hash")
            .first()
        )
    if not head or head[0] is None:
        return 0, GENESIS
    return head[0], head[1]


# --- The copy outside the database ----------------------------------------------------------


def _copy_line(event: AuditEvent) -> str:
    # The fields the hash covers and the hash itself: the copy can be verified on its own.
    fields = row_fields(_values(event))
    return json.dumps(
        {"id": event.pk, **fields, "chain_hash": event.chain_hash},
        sort_keys=False,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def copy_out(lines: list[str]) -> None:
    """Append committed rows to each configured sink. Runs after the commit: a sink that fails
    is logged and never undoes the work the rows record."""
    for sink in settings.SAMPLAN_AUDIT_SINK:
        try:
            if sink == "syslog" or sink.startswith("syslog://"):
                handler = _syslog_handler(sink)
                for line in lines:
                    handler.handle(logging.makeLogRecord({"msg": line, "levelno": logging.INFO}))
            else:
                _append(sink, lines)
        except OSError:
            logger.exception("audit copy to %s failed (%d rows)", sink, len(lines))


def _append(path: str, lines: list[str]) -> None:
    # One write() on an O_APPEND descriptor: lines of processes writing at once never interleave.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, "".join(line + "\n" for line in lines).encode())
    finally:
        os.close(descriptor)


_syslog_handlers: dict[str, logging.handlers.SysLogHandler] = {}


def _syslog_handler(sink: str) -> logging.handlers.SysLogHandler:
    if sink not in _syslog_handlers:
        if sink == "syslog":
            address: str | tuple[str, int] = "/dev/log"
        else:
            host, _, port = sink.removeprefix("syslog://").rpartition(":")
            address = (host.strip("[]"), int(port))
        handler = logging.handlers.SysLogHandler(
            address=address, facility=logging.handlers.SysLogHandler.LOG_AUTHPRIV
        )
        handler.ident = "samplan-audit: "
        _syslog_handlers[sink] = handler
    return _syslog_handlers[sink]


# --- Verifying ------------------------------------------------------------------------------

_COLUMNS = ("id", *FIELDS, "chain_hash")


@dataclass(frozen=True)
class Break:
    """The first row where the chain does not hold, and why."""

    id: int
    seq: int | None
    problem: str

    def __str__(self) -> str:
        return f"row id {self.id}, seq {self.seq}: {self.problem}"


@dataclass
class Walk:
    checked: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    broken: Break | None = None


def verify(*, from_seq: int = 1, batch: int = 5000, key: bytes | None = None) -> Walk:
    """Walk the log in seq order, `batch` rows a query (keyset on the unique seq index: constant
    memory at any size), recompute every hash and stop at the first row that does not hold.
    From a later seq, the stored hash of the row before is trusted (checked by an earlier run)."""
    key = audit_key() if key is None else key
    walk = Walk(head_seq=from_seq - 1)
    last_id = 0
    if from_seq > 1:
        before = AuditEvent.objects.filter(seq=from_seq - 1).values("id", "chain_hash").first()
        if before is None:
            walk.broken = Break(0, from_seq - 1, "no such row to start after")
            return walk
        walk.head_hash, last_id = before["chain_hash"], before["id"]
    expected = from_seq
    for row in _rows(walk.head_seq, batch):
        walk.broken = _problem(row, expected, last_id, walk.head_hash, key, walk.checked)
        if walk.broken:
            return walk
        walk.checked += 1
        walk.head_seq, walk.head_hash, last_id = row["seq"], row["chain_hash"], row["id"]
        expected = row["seq"] + 1
    outside = AuditEvent.objects.filter(seq__isnull=True).order_by("id").values("id").first()
    if outside:
        walk.broken = Break(
            outside["id"], None, "not in the chain (no seq): inserted beside Samplan's writer"
        )
    return walk


def _rows(after_seq: int, batch: int) -> Iterator[dict]:
    while True:
        rows = list(
            AuditEvent.objects.filter(seq__gt=after_seq)
            .order_by("seq")
            .values_list(*_COLUMNS)[:batch]
        )
        for values in rows:
            yield dict(zip(_COLUMNS, values, strict=True))
        if len(rows) < batch:
            return
        after_seq = rows[-1][_COLUMNS.index("seq")]


def _problem(row, expected: int, last_id: int, previous_hash: str, key: bytes, checked: int):
    seq = row["seq"]
    if seq > expected:
        missing = f"seq {expected}" if seq == expected + 1 else f"seq {expected}–{seq - 1}"
        return Break(row["id"], seq, f"{missing} missing before it: a row was deleted")
    if seq < expected:
        return Break(row["id"], seq, "repeats the seq of the row before: inserted or reordered")
    if row["id"] <= last_id:
        return Break(
            row["id"], seq, "its id is lower than the row before it: reordered or inserted"
        )
    if link(previous_hash, row, key) != row["chain_hash"]:
        cause = "changed after it was written, or inserted"
        if checked == 0:
            cause += ", or the key (SAMPLAN_AUDIT_KEY) is not the one the log was written with"
        return Break(row["id"], seq, f"its hash does not match its content: {cause}")
    return None
