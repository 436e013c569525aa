"""`manage.py backup --out FILE` (`make backup`): the whole database in one file, mode 0600.

PostgreSQL: pg_dump's custom format; SQLite: a gzipped copy taken with the backup API while the
app runs. Prints the rows written per table. See samplan/maintenance/backup.py and
docs/operations.md.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from samplan.maintenance.backup import BackupRefused, backup


class Command(BaseCommand):
    help = "Back up the database to a new file (mode 0600) and print the rows written."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, type=Path, help="The backup file to create.")

    def handle(self, *args, out, **options):
        try:
            counts = backup(out)
        except BackupRefused as refused:
            raise CommandError(str(refused)) from refused
        report(self.stdout, counts)
        self.stdout.write(f"Backup written to {out}: {sum(counts.values())} rows.")


def report(stdout, counts: dict[str, int]) -> None:
    width = max((len(table) for table in counts), default=0)
    for table, rows in counts.items():
        stdout.write(f"{table:<{width}}  {rows:>10}")
