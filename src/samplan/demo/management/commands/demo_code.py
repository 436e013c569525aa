"""manage.py demo_code <username>: the code a demo login's authenticator shows now, so that a
newcomer signs in to the demo county without setting up an app. Demo logins only: it refuses a
user name the demo does not have, and an account whose authenticator is not the demo's."""

import time

from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from samplan.demo.county import demo_usernames
from samplan.demo.county.directory import demo_totp_key
from samplan.demo.management.commands.load_demo import refuse_in_production


def current_code(device: TOTPDevice) -> tuple[str, int]:
    """The code to type now and for how many more seconds it is good. A code is accepted once:
    when this step's was used already, the next step's (the server allows a step of drift)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if totp.t() <= device.last_t:
        totp.drift += device.last_t + 1 - totp.t()
    seconds_left = device.step - int(time.time() - device.t0) % device.step
    return f"{totp.token():0{device.digits}d}", seconds_left


class Command(BaseCommand):
    help = "Print the current second-factor code of a demo login (demo county only)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        refuse_in_production()
        if username not in demo_usernames():
            raise CommandError(f"{username!r} is not a demo login (manage.py demo_logins).")
        device = TOTPDevice.objects.filter(
            user__username=username, confirmed=True, key=demo_totp_key(username)
        ).first()
        if device is None:
            raise CommandError(
                f"{username!r} has no demo authenticator here: load the demo county with "
                "manage.py load_demo."
            )
        code, seconds_left = current_code(device)
        self.stdout.write(f"{code}  ({username}; good for about {seconds_left} more seconds)")
