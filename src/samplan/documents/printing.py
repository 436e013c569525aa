"""Printing a plan: the reason asked before a protected person's plan is printed, and the
PRINT row of the audit log every print or download writes (through the access layer).

The reason is the staff member's own words about why they print (for the meeting, for the
person), kept in the log beside the layout so that the log review sees who printed what and
why; it is short so that no record content fits in it.
"""

from __future__ import annotations

from samplan.access.models import AuditEvent
from samplan.access.services import audit
from samplan.cases.models import PlanVersion
from samplan.errors import DomainError

REASON_MIN_LENGTH = 5
REASON_MAX_LENGTH = 200


def needs_reason(case) -> bool:
    """A person with protected personal data (sekretessmarkering, skyddad folkbokföring or a
    fictitious identity): a print is a copy that can go astray, so staff say why first."""
    return case.person.is_protected


def reason_problem(reason: str) -> DomainError | None:
    reason = reason.strip()
    if not reason:
        return DomainError(
            "Skriv varför du skriver ut planen. Personen har skyddade personuppgifter.",
            "Say why you print the plan. The person has protected personal data.",
            "reason",
            code="print_reason_missing",
        )
    if len(reason) < REASON_MIN_LENGTH:
        return DomainError(
            f"Skriv skälet med minst {REASON_MIN_LENGTH} tecken.",
            f"Write the reason in at least {REASON_MIN_LENGTH} characters.",
            "reason",
            code="print_reason_short",
        )
    if len(reason) > REASON_MAX_LENGTH:
        return DomainError(
            f"Skriv skälet kort, högst {REASON_MAX_LENGTH} tecken (nu {len(reason)}).",
            f"Keep the reason short, at most {REASON_MAX_LENGTH} characters (now {len(reason)}).",
            "reason",
            code="print_reason_long",
        )
    return None


def print_detail(version: PlanVersion, layout: str, reason: str = "") -> str:
    detail = f"plan version {version.number}, layout {layout}"
    if reason:
        detail += f"; reason: {' '.join(reason.split())}"
    return detail[:300]


def audit_plan_print(user, case, version: PlanVersion, *, layout: str, reason: str = "") -> None:
    """The PRINT row of a staff member's print or download. A protected person's plan is
    refused (DomainError on `reason`) without a reason; nothing is written then."""
    if needs_reason(case):
        problem = reason_problem(reason)
        if problem is not None:
            raise problem
    grant = getattr(case, "emergency_access", None)
    audit(
        user,
        AuditEvent.Action.PRINT,
        "plan",
        case_id=case.pk,
        person_id=case.person_id,
        unit_id=getattr(case, "acting_unit_id", None),
        detail=print_detail(version, layout, reason.strip()),
        **({"emergency": True} if grant else {}),
    )
