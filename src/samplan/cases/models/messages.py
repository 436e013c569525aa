"""Case messages between the units taking part: working notes, not the record (SIP.md). Only
units that take part see the thread; it is read-only once the SIP is closed. Re-exported from
samplan.cases.models."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Count, Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from samplan.directory.models import Unit


class CaseMessageQuerySet(models.QuerySet):
    def unread_by(self, user):
        """Messages others wrote that this user has not opened yet."""
        return self.exclude(sender=user).exclude(
            Exists(MessageRead.objects.filter(message=OuterRef("pk"), user=user))
        )


def unread_message_count(user, case_ref: str = "pk"):
    """Annotation for a SipCase queryset: how many messages in the case the user has not read."""
    unread = (
        CaseMessage.objects.unread_by(user)
        .filter(case=OuterRef(case_ref))
        .order_by()
        .values("case")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(unread[:1]), 0)


class CaseMessage(models.Model):
    """A message between the units taking part: working notes, not the record. Only units that
    take part see the thread; it is read-only once the SIP is closed."""

    case = models.ForeignKey("cases.SipCase", on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sender_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("message"))
    asks_acknowledgement = models.BooleanField(
        _("ask for acknowledgement of receipt"), default=False
    )
    sent_at = models.DateTimeField(default=timezone.now)

    objects = CaseMessageQuerySet.as_manager()

    class Meta:
        ordering = ["sent_at", "id"]
        verbose_name = _("case message")
        verbose_name_plural = _("case messages")
        indexes = [models.Index(fields=["case", "sent_at"])]

    def __str__(self) -> str:
        return f"{self.case} {self.sent_at:%Y-%m-%d %H:%M}"


class MessageRead(models.Model):
    """That a staff member has seen a message (drives the unread count on the start page)."""

    message = models.ForeignKey(CaseMessage, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="message_read_once")
        ]
        indexes = [models.Index(fields=["user", "message"])]

    def __str__(self) -> str:
        return f"{self.message} read by {self.user_id}"


class MessageAcknowledgement(models.Model):
    """A unit confirms it received a message whose sender asked for it (kvittens)."""

    message = models.ForeignKey(
        CaseMessage, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "unit"], name="acknowledged_once_per_unit")
        ]

    def __str__(self) -> str:
        return f"{self.message} acknowledged by {self.unit_id}"
