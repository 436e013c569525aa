"""The audit log (loggning): append-only, one row for every read and write of personal data.

Patientdatalagen 4 kap. and HSLF-FS 2016:40 4 kap. 9 a §: each entry shows the action, the unit,
the time, the user and the person. Refusals are logged too. Rows are never updated or deleted:
the model refuses it and a database trigger (see the migration) refuses it beneath the ORM.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from samplan.errors import DomainError


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise append_only_error()

    def delete(self):
        raise append_only_error()


def append_only_error() -> DomainError:
    return DomainError(
        "Loggen går bara att lägga till i; inget ändras eller tas bort.",
        "The audit log is append-only; nothing is changed or removed.",
        code="append_only",
    )


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        READ = "read", _("Read")
        CREATE = "create", _("Created")
        CHANGE = "change", _("Changed")
        DISCLOSE = "disclose", _("Disclosed")
        COPY = "copy", _("Copied")
        PRINT = "print", _("Printed")

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", _("Allowed")
        REFUSED = "refused", _("Refused")

    at = models.DateTimeField(default=timezone.now, db_index=True)
    # Snapshots as well as keys: the row must still say who and where after a user or unit goes.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    username = models.CharField(max_length=150, blank=True)
    unit = models.ForeignKey(
        "directory.Unit",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    unit_name = models.CharField(max_length=200, blank=True)
    person = models.ForeignKey(
        "people.Person",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    case = models.ForeignKey(
        "cases.SipCase",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.ALLOWED)
    what = models.CharField(max_length=60, help_text=_("Kind of record or step, never its content"))
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=300, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["person", "at"]),
            models.Index(fields=["case", "at"]),
            models.Index(fields=["user", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.what}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise append_only_error()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise append_only_error()
