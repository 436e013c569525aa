"""Avslut: closing a SIP with a reason that fits its state."""

from __future__ import annotations

from samplan.errors import DomainError

from ..models import PlanVersion, SipCase
from ._core import (
    _changing,
    _close,
)

Reason = SipCase.ClosingReason

# Recorded by their own actions (decline_consent, revoke_consent), never picked as a reason.
CONSENT_REASONS = frozenset({Reason.DECLINED, Reason.CONSENT_REVOKED})
# Reasons that presuppose a plan the person approved: goals exist only in an established plan.
PLAN_REASONS = frozenset({Reason.GOALS_REACHED})


def had_established_plan(case: SipCase) -> bool:
    """Whether the person ever approved a version of the plan (valid now or superseded)."""
    return case.plan_versions.exclude(status=PlanVersion.Status.DRAFT).exists()


def closing_reasons(case: SipCase, *, has_plan: bool | None = None) -> list[str]:
    """The reasons a coordinator may pick for closing this case, in the order of the choices."""
    if has_plan is None:
        has_plan = had_established_plan(case)
    return [
        value
        for value in Reason.values
        if value not in CONSENT_REASONS and (has_plan or value not in PLAN_REASONS)
    ]


def close_case(
    case: SipCase, *, actor, expected_version: int | None, reason: str, note: str = ""
) -> SipCase:
    """Avslut, with a reason. Everything recorded stays readable for the retention time."""
    with _changing(case, "close", actor, expected_version) as change:
        if reason in CONSENT_REASONS:
            raise DomainError(
                "Att personen avböjer eller återkallar samtycket registreras som sådant, inte som "
                "skäl för avslut.",
                "That the person declines or revokes consent is recorded as such, not as a "
                "reason for closing.",
                "reason",
                code="use_consent_action",
            )
        if reason not in Reason.values:
            raise DomainError(
                "Välj ett skäl till avslutet.",
                "Choose a reason for closing.",
                "reason",
                code="required",
            )
        if reason in PLAN_REASONS and not had_established_plan(change.case):
            raise DomainError(
                "SIP:en har aldrig haft en fastställd plan, så det finns inga mål som kan ha "
                "uppnåtts. Välj ett annat skäl.",
                "The SIP never had an established plan, so there are no goals that can have "
                "been reached. Choose another reason.",
                "reason",
                code="reason_needs_plan",
            )
        if reason == Reason.OTHER and not note.strip():
            raise DomainError(
                "Beskriv skälet till avslutet.",
                "Describe the reason for closing.",
                "note",
                code="required",
            )
        _close(change, reason, note)
    return case
