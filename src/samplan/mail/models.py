from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutgoingMail(models.Model):
    """One e-mail in the outbox (utkorg), written in the transaction of the change it tells about.

    `key` names what the message is about (e.g. `meeting:12:seq:3:inv:40`) and is unique, so the
    same news is queued, and sent, once. The worker sends it, records a failed attempt (the error
    class only, never the message) and tries again later; a message is never dropped."""

    key = models.CharField(_("key"), max_length=200, unique=True)
    to = models.EmailField(_("to"))
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"))
    ics = models.BinaryField(_("calendar file"), null=True, blank=True)
    ics_method = models.CharField(_("calendar method"), max_length=20, blank=True)
    queued_at = models.DateTimeField(_("queued at"), default=timezone.now)
    # When the next attempt is due: now when queued, later after a failed attempt.
    due_at = models.DateTimeField(_("due at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("failed attempts"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("outgoing e-mail")
        verbose_name_plural = _("outgoing e-mails")
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(sent_at__isnull=True),
                name="mail_unsent_due_idx",
            )
        ]

    def __str__(self) -> str:
        return self.key
