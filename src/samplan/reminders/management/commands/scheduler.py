"""`manage.py scheduler`: enqueue the tasks of SAMPLAN_SCHEDULE when their slot comes
(samplan/reminders/schedule.py), and run again a task whose worker died (reaper.py). Runs beside
`manage.py db_worker` (`make worker`)."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from samplan.reminders.reaper import requeue_abandoned_tasks
from samplan.reminders.schedule import entries, run_pass


class Command(BaseCommand):
    help = "Enqueue the scheduled tasks (SAMPLAN_SCHEDULE) when they are due, once per slot."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One pass, then stop.")
        parser.add_argument(
            "--interval", type=float, default=30.0, help="Seconds between passes (30)."
        )

    def handle(self, *args, once: bool = False, interval: float = 30.0, **options):
        names = ", ".join(entry.name for entry in entries()) or "nothing"
        self.stdout.write(f"scheduler: {names}")
        stop = threading.Event()
        if not once:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
        while True:
            for task_id in requeue_abandoned_tasks():
                self.stdout.write(f"scheduler: task {task_id} lost its worker; run again")
            for name in run_pass():
                self.stdout.write(f"scheduler: enqueued {name}")
            if once or stop.wait(interval):
                break
            # A long-running process: drop a connection the database closed or that is too old.
            close_old_connections()
