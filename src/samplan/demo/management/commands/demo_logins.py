"""manage.py demo_logins: who to sign in as in the demo county (make run prints it): the staff,
then the people who sign in to Min SIP (the person's own pages) with the demo sign-in."""

from django.core.management.base import BaseCommand
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from samplan.api.models import ApiClient
from samplan.demo.county import PASSWORD, demo_citizens, demo_logins, demo_usernames
from samplan.demo.county.directory import demo_api_token, demo_totp_key, demo_totp_secret
from samplan.demo.management.commands.load_demo import refuse_in_production
from samplan.mypages.views.signin import demo_enabled


class Command(BaseCommand):
    help = (
        "Print the demo logins: username, name, unit and organisation, role, password, and the "
        "key of each login's authenticator (the second factor)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000/",
            help="The address the server really serves (make run passes its HOST and PORT).",
        )

    def handle(self, *args, **options):
        refuse_in_production()
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
        self.second_factor()
        self.min_sip(options["url"])
        self.api(options["url"])

    def table(self, header: dict, rows: list[dict]) -> None:
        widths = {key: max(len(row[key]) for row in [header, *rows]) for key in header}

        def line(row):
            return "  ".join(row[key].ljust(widths[key]) for key in header).rstrip()

        self.stdout.write(line(header))
        self.stdout.write(line({key: "-" * width for key, width in widths.items()}))
        for row in rows:
            self.stdout.write(line(row))

    def min_sip(self, url: str) -> None:
        """Who signs in to Min SIP, in which capacity, in whose SIP."""
        citizens = demo_citizens()
        if not citizens:
            return
        address = url.rstrip("/") + reverse("mypages:sign_in")
        self.stdout.write(f"Min SIP, the pages of the person and their family, at {address}")
        if demo_enabled():
            self.stdout.write(
                'Under "Demo: bara påhittade personer" (Demo: fictitious people only) choose '
                "who to be; no password, no e-legitimation:"
            )
        else:
            self.stdout.write(
                "The demo sign-in is off here (SAMPLAN_PERSON_DEMO_SIGN_IN); these people "
                "could use it:"
            )
        self.stdout.write("")
        self.table(
            {
                "name": "Who",
                "capacity": "Signs in as",
                "sip_of": "SIP of",
                "number": "Identity number",
            },
            [
                {
                    "name": citizen.name,
                    "capacity": citizen.describe(),
                    "sip_of": citizen.sip_of,
                    "number": citizen.shown_number,
                }
                for citizen in citizens
            ],
        )
        self.stdout.write("")
        self.stdout.write(
            "Try Amir Haddad (his own SIP), Maria Lindqvist (guardian of Elias, 15) and Leila "
            "Haddad (Amir's sister, who sees only his approved plan)."
        )
        self.stdout.write("")

    def api(self, url: str) -> None:
        """The demo's systems that call the API, with their tokens (demo only)."""
        clients = ApiClient.objects.usable().select_related("unit").order_by("name")
        clients = [client for client in clients if client.token_hint.startswith("spl_demo_")]
        if not clients:
            return
        self.stdout.write("Systems that call the API (docs/api.md), with their demo tokens:")
        for client in clients:
            token = demo_api_token(client.name)
            self.stdout.write(f"  {client.name} ({client.unit.name}):")
            self.stdout.write(
                f"    curl -H 'Authorization: Bearer {token}' {url.rstrip('/')}/api/v1/sips/"
            )
        self.stdout.write("")

    def second_factor(self):
        """The demo logins' authenticator keys (demo only: they follow from the user name)."""
        devices = {
            device.user.username: device
            for device in TOTPDevice.objects.filter(
                user__username__in=demo_usernames(), confirmed=True
            ).select_related("user")
            if device.key == demo_totp_key(device.user.username)
        }
        if not devices:
            return
        self.stdout.write(
            "After the password Samplan asks for a 6-digit code. Print it with\n"
            "  python manage.py demo_code <username>\n"
            "or add the login's key to an authenticator app (time-based; or open the otpauth "
            "address on the phone):"
        )
        self.stdout.write("")
        width = max(len(username) for username in devices)
        for username in demo_usernames():
            if username in devices:
                self.stdout.write(
                    f"{username.ljust(width)}  {demo_totp_secret(username)}  "
                    f"{devices[username].config_url}"
                )
        self.stdout.write("")
