"""Delivery of the outbox by the worker (`make worker`: django-tasks' database backend).

`deliver_mail` sends one queued message, `send_due_mail` (the scheduler runs it every few
minutes) sends whatever is due, so a lost task loses no mail. Each message is sent under a lock
on its row (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so a second worker passes it by; SQLite takes
the database's write lock for the transaction), marked sent in the same transaction, and never
sent twice. A failed attempt is recorded with its error class and retried after 1, 2, 4 …
minutes (capped). Read-only mode holds everything; the sweep sends it when the mode is off.

A worker that dies after the SMTP server accepted a message but before the commit would send it
once more: the one gap no outbox closes without the receiving server's help."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from samplan.mail.models import OutgoingMail
from samplan.maintenance.mode import is_read_only

logger = logging.getLogger(__name__)

SWEEP_BATCH = 200


@task()
def deliver_mail(mail_id: int) -> str:
    return deliver(mail_id)


@task()
def send_due_mail() -> int:
    """Send every message that is due; the number sent."""
    if is_read_only():
        return 0
    sent = 0
    due = OutgoingMail.objects.filter(sent_at__isnull=True, due_at__lte=timezone.now())
    for mail_id in due.order_by("due_at", "pk").values_list("pk", flat=True)[:SWEEP_BATCH]:
        if deliver(mail_id) == "sent":
            sent += 1
    return sent


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after the first, second, third … failed attempt, capped."""
    cap = settings.SAMPLAN_MAIL_RETRY_MAX_MINUTES
    return timedelta(minutes=min(2 ** min(attempts - 1, 20), cap))


def deliver(mail_id: int) -> str:
    """Send one message if it is due and unsent: "sent", "failed", "held" (read-only mode) or
    "skipped" (sent already, not due, or another worker has it)."""
    if is_read_only():
        return "held"
    with transaction.atomic():
        mail = (
            OutgoingMail.objects.select_for_update(skip_locked=True)
            .filter(pk=mail_id, sent_at__isnull=True, due_at__lte=timezone.now())
            .first()
        )
        if mail is None:
            return "skipped"
        try:
            _send(mail)
        except Exception as error:  # any failure is retried; the message is never dropped
            mail.attempts += 1
            mail.last_attempt_at = timezone.now()
            mail.last_error = type(error).__name__[:200]
            mail.due_at = mail.last_attempt_at + retry_delay(mail.attempts)
            mail.save(update_fields=["attempts", "last_attempt_at", "last_error", "due_at"])
            logger.warning(
                "outgoing mail %s not sent (attempt %s, %s); next try at %s",
                mail.pk,
                mail.attempts,
                mail.last_error,
                mail.due_at.isoformat(),
            )
            run_after = mail.due_at
            transaction.on_commit(lambda: _enqueue_retry(mail_id, run_after))
            return "failed"
        mail.sent_at = timezone.now()
        mail.last_attempt_at = mail.sent_at
        mail.save(update_fields=["sent_at", "last_attempt_at"])
        return "sent"


def _enqueue_retry(mail_id: int, run_after) -> None:
    try:
        deliver_mail.using(run_after=run_after).enqueue(mail_id)
    except Exception:  # the sweep retries it anyway
        logger.exception("could not enqueue the retry of outgoing mail %s", mail_id)


def message_id(mail: OutgoingMail) -> str:
    """The same Message-ID on every attempt of one outbox row. Delivery is at least once: a
    worker that dies after the SMTP server accepted a message but before its commit sends it
    again, and mail systems that recognise a Message-ID they already have show it once."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(">") or "samplan"
    return f"<outbox.{mail.pk}.{mail.queued_at:%Y%m%d%H%M%S}@{domain}>"


def build_message(mail: OutgoingMail, connection=None) -> EmailMultiAlternatives:
    """The message as sent: the text, and the .ics both as a `text/calendar; method=…`
    alternative (what calendar programs read as an invitation) and as a file."""
    message = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mail.to],
        connection=connection,
        headers={"Auto-Submitted": "auto-generated", "Message-ID": message_id(mail)},
    )
    if mail.ics is not None:
        ics = bytes(mail.ics)
        message.attach_alternative(ics.decode("utf-8"), f"text/calendar; method={mail.ics_method}")
        message.attach("invite.ics", ics, "application/ics")
    return message


def _send(mail: OutgoingMail) -> None:
    connection = get_connection(fail_silently=False)
    build_message(mail, connection).send(fail_silently=False)
