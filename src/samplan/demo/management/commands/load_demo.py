"""manage.py load_demo [--if-empty]: the fictitious demo county, for trying Samplan out."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from samplan.cases.models import State
from samplan.demo.county import PASSWORD, DemoCounty, is_loaded


def refuse_in_production() -> None:
    """The demo's password and authenticator keys are public: never in a database behind TLS.
    HTTPS is the sign of production (`make run` runs with DEBUG off too, so DEBUG is not)."""
    if settings.HTTPS:
        raise CommandError(
            "HTTPS is on: this looks like production. The demo county's password and "
            "authenticator keys are public, so it is never loaded here (or its codes printed). "
            "Run the demo with HTTPS unset, on a database of its own."
        )


class Command(BaseCommand):
    help = (
        "Load the fictitious demo county Region Sjöland from demo/county.toml: organisations, "
        "units, staff and some twenty persons with SIPs in every state. Never load it into a "
        "real database."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing, and succeed, when the database already holds organisations.",
        )

    def handle(self, *args, if_empty: bool = False, **options):
        refuse_in_production()
        if is_loaded():
            if if_empty:
                self.stdout.write("The database already holds organisations: demo not loaded.")
                return
            raise CommandError(
                "The database already holds organisations. The demo county goes into an empty "
                "database only (make clean removes var/; or set SAMPLAN_VAR_DIR)."
            )
        counts = DemoCounty().load()
        states = ", ".join(f"{state.value} {counts[state.value]}" for state in State)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo county loaded: {counts['organisations']} organisations, "
                f"{counts['units']} units, {counts['staff']} staff, {counts['persons']} persons, "
                f"{counts['cases']} SIPs ({states})."
            )
        )
        self.stdout.write(
            f"Sign in with password {PASSWORD!r} and the code from manage.py demo_code "
            "<username>; manage.py demo_logins lists the users and their authenticator keys."
        )
