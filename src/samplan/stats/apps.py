from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StatsConfig(AppConfig):
    """Outcome statistics (statistik): per-case facts from the timeline and a monthly summary
    per unit, organisation and county that the worker keeps up to date."""

    name = "samplan.stats"
    label = "stats"
    verbose_name = _("Statistics")
