from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RemindersConfig(AppConfig):
    name = "samplan.reminders"
    label = "reminders"
    verbose_name = _("Reminders and notifications")

    def ready(self):
        # A worker holds a lock on each task it runs, so that the scheduler can tell a task whose
        # worker died from one still running (reaper.py).
        from . import reaper

        reaper.connect()
