"""manage.py refresh_statistics [--full]: what the worker does every few minutes, now."""

from django.core.management.base import BaseCommand

from samplan.stats.refresh import refresh_statistics


class Command(BaseCommand):
    help = (
        "Bring the statistics up to date from the timeline (SIPs with new events, and those "
        "whose facts change with time); --full computes every SIP again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--full", action="store_true", help="Compute every SIP and every month again."
        )

    def handle(self, *args, full: bool = False, **options):
        count = refresh_statistics(full=full)
        if options["verbosity"]:
            self.stdout.write(f"Statistics refreshed: {count} SIPs computed.")
