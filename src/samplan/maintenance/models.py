from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReadOnlyMode(models.Model):
    """Read-only mode for planned maintenance, switched with `manage.py read_only on|off`.

    One row at most (pk=1): present means on. Held in the database, so every app server and
    worker sees the switch at once without a restart; the setting SAMPLAN_READ_ONLY turns it on
    from the environment instead."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    since = models.DateTimeField(default=timezone.now)
    message = models.CharField(_("message"), max_length=300, blank=True)
    switched_on_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("read-only mode")
        verbose_name_plural = _("read-only mode")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="readonly_one_row")]

    def __str__(self) -> str:
        return f"read-only since {self.since:%Y-%m-%d %H:%M}"
