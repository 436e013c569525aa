"""Contingency packs (beredskapspaket): what a unit needs to work on paper while Samplan is down.

A pack is a ZIP of every active plan of one unit (as PDF), the blank SIP forms and an index
(documents/contingency.py builds it). It is kept in the database, not on an app server's disk,
so app servers stay stateless, and only the newest KEPT_PER_UNIT per unit are kept.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The newest pack, and the one before it in case the newest was built from a bad state.
KEPT_PER_UNIT = 2


class ContingencyPack(models.Model):
    """Beredskapspaket: one unit's active plans, blank forms and index, as one ZIP."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Nightly schedule")
        STAFF = "staff", _("Built on request")

    unit = models.ForeignKey(
        "directory.Unit",
        on_delete=models.CASCADE,
        related_name="contingency_packs",
        verbose_name=_("unit"),
    )
    built_at = models.DateTimeField(_("built at"), default=timezone.now)
    trigger = models.CharField(_("built by"), max_length=10, choices=Trigger.choices)
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # A snapshot: the list still says who built it after the account is gone.
    built_by_name = models.CharField(max_length=150, blank=True)
    plan_count = models.PositiveIntegerField(_("plans"))
    # [case id, person id] of each plan in the pack (keys only): a download names each in the log.
    cases = models.JSONField(default=list)
    size = models.PositiveIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    # The ZIP itself. Lists defer it (`without_content`): it may be tens of megabytes.
    content = models.BinaryField()

    class Meta:
        ordering = ["-built_at", "-id"]
        verbose_name = _("contingency pack")
        verbose_name_plural = _("contingency packs")
        indexes = [models.Index(fields=["unit", "-built_at", "-id"], name="pack_unit_newest")]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.built_at:%Y-%m-%d %H:%M}"

    @property
    def file_name(self) -> str:
        local = timezone.localtime(self.built_at)
        return f"beredskapspaket-enhet-{self.unit_id}-{local:%Y%m%d-%H%M}.zip"
