"""Meddelanden: case messages between the units taking part (working notes, not the record).

A message and its acknowledgement of receipt (kvittens) are audited like every change, but they
write no timeline event: the timeline is the process history that statistics and payment
liability are computed from, and a note between units is not a step of the process. Both are
refused once the SIP is closed (the transition table), which keeps the thread read-only.
"""

from __future__ import annotations

from collections.abc import Iterable

from samplan.errors import DomainError

from ..models import CaseMessage, MessageAcknowledgement, MessageRead, SipCase
from ._core import _changing, _raise_all, _required

MESSAGE_MAX_LENGTH = 4000


def post_message(
    case: SipCase, *, actor, body: str, asks_acknowledgement: bool = False
) -> CaseMessage:
    """Write a message (meddelande) in the SIP's thread, from the actor's participating unit;
    the sender may ask every other unit to acknowledge receipt (begära kvittens)."""
    body = (body or "").strip()
    with _changing(
        case, "post_message", actor, None, what="case_message", timeline=False
    ) as change:
        _raise_all(
            [
                _required(body, "body", "ett meddelande", "a message"),
                _too_long(body),
            ]
        )
        message = CaseMessage.objects.create(
            case=change.case,
            sender=actor,
            sender_unit=change.unit,
            body=body,
            asks_acknowledgement=asks_acknowledgement,
        )
    return message


def acknowledge_message(message: CaseMessage, *, actor) -> MessageAcknowledgement:
    """Acknowledge receipt (kvittera) of a message for the actor's unit: only when the sender
    asked for it, once per unit, and never for the unit's own message."""
    with _changing(
        message.case, "acknowledge_message", actor, None, what="case_message", timeline=False
    ) as change:
        if not message.asks_acknowledgement:
            raise DomainError(
                "Avsändaren har inte bett om kvittens på det här meddelandet.",
                "The sender did not ask for acknowledgement of this message.",
                "",
                code="acknowledgement_not_asked",
            )
        if message.sender_unit_id == change.unit.pk:
            raise DomainError(
                "Meddelandet kommer från din egen enhet; de andra enheterna kvitterar det.",
                "The message comes from your own unit; the other units acknowledge it.",
                "",
                code="own_message",
            )
        # The case row is locked, so two colleagues cannot both pass this check.
        if MessageAcknowledgement.objects.filter(message=message, unit=change.unit).exists():
            raise DomainError(
                f"{change.unit.name} har redan kvitterat meddelandet.",
                f"{change.unit.name} has already acknowledged the message.",
                "",
                code="already_acknowledged",
            )
        acknowledgement = MessageAcknowledgement.objects.create(
            message=message, unit=change.unit, user=actor
        )
    return acknowledgement


def mark_messages_read(user, messages: Iterable[CaseMessage]) -> None:
    """Record that the user has seen these messages (drives the unread count), in one insert.
    Not a change of the case: the caller audits the read. Messages the user wrote, and those
    annotated `read_by_me`, are skipped; a row a parallel request wrote first is ignored."""
    rows = [
        MessageRead(message=message, user=user)
        for message in messages
        if message.sender_id != user.pk and not getattr(message, "read_by_me", False)
    ]
    if rows:
        MessageRead.objects.bulk_create(rows, ignore_conflicts=True)


def _too_long(body: str) -> DomainError | None:
    if len(body) > MESSAGE_MAX_LENGTH:
        return DomainError(
            f"Meddelandet är {len(body)} tecken långt; det får vara högst {MESSAGE_MAX_LENGTH}. "
            "Dela upp det i flera meddelanden.",
            f"The message is {len(body)} characters long; it may be at most "
            f"{MESSAGE_MAX_LENGTH}. Split it into several messages.",
            "body",
            code="too_long",
        )
    return None
