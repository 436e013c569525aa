"""`manage.py audit_verify` (`make audit-verify`): is the audit log as it was written?

Walks the hash chain in seq order and stops at the first row that does not hold: a changed or
inserted row (its hash no longer matches its content), a deleted row (a gap in seq), a reordered
row (seq or id out of order), a row written beside the chain (no seq). Exit code 0 and one line
when the log is intact, 1 and the first bad row otherwise.

A chain alone cannot tell that its newest rows were cut off. Given the JSON-lines copy outside the
database (SAMPLAN_AUDIT_SINK), the last row of the copy must be in the log with the same hash.
"""

from __future__ import annotations

import json
import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from samplan.access.chain import Walk, verify
from samplan.access.models import AuditEvent


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exit 1 naming the first bad row."

    def add_arguments(self, parser):
        parser.add_argument(
            "--from-seq",
            type=int,
            default=1,
            help="Start at this seq, trusting the row before it (verified by an earlier run).",
        )
        parser.add_argument("--batch", type=int, default=5000, help="Rows read per query.")
        parser.add_argument(
            "--copy",
            action="append",
            default=None,
            help="A JSON-lines copy of the log (default: the file sinks of SAMPLAN_AUDIT_SINK); "
            "its last row must be in the log, unchanged.",
        )

    def handle(self, *args, from_seq, batch, copy, **options):
        if from_seq < 1 or batch < 1:
            raise CommandError("--from-seq and --batch start at 1.", returncode=2)
        walk = verify(from_seq=from_seq, batch=batch)
        if walk.broken:
            raise CommandError(
                f"Audit log broken at {walk.broken} ({walk.checked} rows before it held).",
                returncode=1,
            )
        copies = copy if copy is not None else _file_sinks()
        for path in copies:
            problem = _copy_problem(path, walk)
            if problem:
                raise CommandError(f"Audit log broken: {problem}", returncode=1)
        self.stdout.write(
            f"Audit log intact: {walk.checked} rows checked from seq {from_seq}, "
            f"head seq {walk.head_seq}, head hash {walk.head_hash[:16]}"
            + (f"; matches its copy in {', '.join(copies)}" if copies else "")
        )


def _file_sinks() -> list[str]:
    return [
        sink
        for sink in settings.SAMPLAN_AUDIT_SINK
        if sink != "syslog" and not sink.startswith("syslog://")
    ]


def _copy_problem(path: str, walk: Walk) -> str | None:
    try:
        line = _last_line(path)
    except OSError as error:
        return f"the copy {path} cannot be read ({error.strerror})"
    if not line:
        return None
    try:
        copied = json.loads(line)
        seq, chain_hash = int(copied["seq"]), copied["chain_hash"]
    except (ValueError, KeyError, TypeError):
        return f"the last line of the copy {path} is not a row of the log"
    if seq > walk.head_seq:
        return (
            f"the copy {path} holds seq {seq} but the log ends at seq {walk.head_seq}: "
            "its newest rows were deleted"
        )
    stored = AuditEvent.objects.filter(seq=seq).values_list("chain_hash", flat=True).first()
    if stored != chain_hash:
        return f"row seq {seq} differs from its copy in {path}"
    return None


def _last_line(path: str, block: int = 65536) -> str:
    """The last complete line of a file of any size, read from its end."""
    with open(path, "rb") as file:
        end = file.seek(0, os.SEEK_END)
        tail = b""
        position = end
        while position > 0:
            position = max(0, position - block)
            file.seek(position)
            tail = file.read(end - position)
            lines = tail.rstrip(b"\n").split(b"\n")
            if len(lines) > 1 or position == 0:
                return lines[-1].decode()
        return tail.decode()
