"""`manage.py read_only on|off|status`: read-only mode for planned maintenance (audited)."""

import getpass

from django.core.management.base import BaseCommand

from samplan.maintenance.mode import current_state, switch_off, switch_on


class Command(BaseCommand):
    help = "Read-only mode for planned maintenance: on, off or status."

    def add_arguments(self, parser):
        parser.add_argument("switch", choices=["on", "off", "status"])
        parser.add_argument(
            "--message", default="", help="Shown in the banner, e.g. when it is expected to end."
        )

    def handle(self, *args, switch, message, **options):
        by = f"manage.py read_only ({getpass.getuser()})"
        if switch == "on":
            changed = switch_on(by, message[:300])
            self.stdout.write("read-only mode on" if changed else "read-only mode was on already")
        elif switch == "off":
            changed = switch_off(by)
            self.stdout.write("read-only mode off" if changed else "read-only mode was off already")
        state = current_state()
        if switch == "status" or (switch == "off" and state is not None):
            if state is None:
                self.stdout.write("read-only mode: off")
            elif state.from_setting:
                self.stdout.write("read-only mode: on (the setting SAMPLAN_READ_ONLY)")
            else:
                self.stdout.write(f"read-only mode: on since {state.since:%Y-%m-%d %H:%M}")
