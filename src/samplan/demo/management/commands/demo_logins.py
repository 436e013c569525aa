"""manage.py demo_logins: who to sign in as in the demo county (make run prints it)."""

from django.core.management.base import BaseCommand

from samplan.demo.county import PASSWORD, demo_logins


class Command(BaseCommand):
    help = "Print the demo logins: username, name, unit and organisation, role, password."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000/",
            help="The address the server really serves (make run passes its HOST and PORT).",
        )

    def handle(self, *args, **options):
        rows = demo_logins()
        if not rows:
            self.stdout.write("No demo logins: load the demo county with manage.py load_demo.")
            return
        header = {
            "username": "Username",
            "name": "Name",
            "where": "Unit, organisation",
            "role": "Role",
            "password": "Password",
        }
        rows = [{**row, "password": PASSWORD} for row in rows]
        widths = {key: max(len(row[key]) for row in [header, *rows]) for key in header}

        def line(row):
            return "  ".join(row[key].ljust(widths[key]) for key in header).rstrip()

        self.stdout.write("")
        self.stdout.write(f"Samplan demo county at {options['url']}")
        self.stdout.write("")
        self.stdout.write(line(header))
        self.stdout.write(line({key: "-" * width for key, width in widths.items()}))
        previous = None
        for row in rows:
            shown = dict(row)
            if row["username"] == previous:
                shown.update(username="", name="", password="")
            previous = row["username"]
            self.stdout.write(line(shown))
        self.stdout.write("")
        self.stdout.write(
            "Coordinators (anna, karin, maria, lisa, henrik) see only the SIPs their unit "
            "takes part in; eva and tomas review the audit log at /logg/."
        )
        self.stdout.write("")
