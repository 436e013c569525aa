"""The outbox (utkorg): the one way Samplan sends e-mail.

`queue_mail` stores a message in the caller's transaction, so it exists exactly when the change
it tells about commits, and asks the worker to deliver it after the commit. The key makes every
message exactly once: queuing the same key again is a no-op that returns False."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from samplan.mail.models import OutgoingMail

logger = logging.getLogger(__name__)

ICS_METHODS = {"REQUEST", "CANCEL", "PUBLISH"}


def queue_mail(
    *,
    key: str,
    to: str,
    subject: str,
    body: str,
    ics: bytes | None = None,
    ics_method: str | None = None,
) -> bool:
    """Queue one message; True when newly queued, False when this key was queued before."""
    if ics is not None and (ics_method or "").upper() not in ICS_METHODS:
        raise ValueError(f"ics_method must be one of {sorted(ICS_METHODS)}")
    if OutgoingMail.objects.filter(key=key).exists():
        return False
    try:
        # A savepoint: a key queued by a concurrent transaction must not break the caller's.
        with transaction.atomic():
            mail = OutgoingMail.objects.create(
                key=key,
                to=to,
                subject=subject[:300],
                body=body,
                ics=ics,
                ics_method=(ics_method or "").upper() if ics is not None else "",
            )
    except IntegrityError:
        return False
    transaction.on_commit(lambda: _enqueue_delivery(mail.pk))
    return True


def _enqueue_delivery(mail_id: int) -> None:
    from samplan.mail.tasks import deliver_mail

    try:
        deliver_mail.enqueue(mail_id)
    except Exception:  # the periodic sweep sends it anyway
        logger.exception("could not enqueue delivery of outgoing mail %s", mail_id)
