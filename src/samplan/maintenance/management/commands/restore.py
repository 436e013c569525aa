"""`manage.py restore FILE` (`make restore FILE=…`): a backup into a new, empty database.

Refuses a database that has tables (a restore never overwrites: the audit log is append-only),
and a damaged file, writing nothing. Prints the rows restored per table and walks the restored
audit log's hash chain. See samplan/maintenance/backup.py and docs/operations.md.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from samplan.access.chain import verify
from samplan.maintenance.backup import BackupRefused, restore
from samplan.maintenance.management.commands.backup import report


class Command(BaseCommand):
    help = "Restore a backup (manage.py backup) into an empty database; never overwrites."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file, **options):
        try:
            counts = restore(file)
        except BackupRefused as refused:
            raise CommandError(str(refused)) from refused
        report(self.stdout, counts)
        self.stdout.write(f"Restored {file}: {sum(counts.values())} rows.")
        walk = verify()
        if walk.broken:
            raise CommandError(
                f"Restored, but the audit log is broken at {walk.broken} (the key, "
                "SAMPLAN_AUDIT_KEY, must be the one the log was written with).",
                returncode=1,
            )
        self.stdout.write(f"Audit log intact: {walk.checked} rows, head seq {walk.head_seq}.")
