"""Avslut: closing a SIP with a reason that fits its state."""

from __future__ import annotations

from samplan.errors import DomainError

from ..models import (
    SipCase,
)
from ._core import (
    _changing,
    _close,
)


def close_case(
    case: SipCase, *, actor, expected_version: int | None, reason: str, note: str = ""
) -> SipCase:
    """Avslut, with a reason. Everything recorded stays readable for the retention time."""
    with _changing(case, "close", actor, expected_version) as change:
        if reason in {SipCase.ClosingReason.DECLINED, SipCase.ClosingReason.CONSENT_REVOKED}:
            raise DomainError(
                "Att personen avböjer eller återkallar samtycket registreras som sådant, inte som "
                "skäl för avslut.",
                "That the person declines or revokes consent is recorded as such, not as a "
                "reason for closing.",
                "reason",
                code="use_consent_action",
            )
        if reason not in SipCase.ClosingReason.values:
            raise DomainError(
                "Välj ett skäl till avslutet.",
                "Choose a reason for closing.",
                "reason",
                code="required",
            )
        if reason == SipCase.ClosingReason.OTHER and not note.strip():
            raise DomainError(
                "Beskriv skälet till avslutet.",
                "Describe the reason for closing.",
                "note",
                code="required",
            )
        _close(change, reason, note)
    return case
