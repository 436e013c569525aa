"""Emergency access (nödåtkomst): reading a SIP the consent does not cover, after giving a reason.

Who: a staff member with an active working assignment (coordinator or participant) at a unit
that takes part in the SIP (not removed), whose organisation the person's consent does not, or
no longer, cover. Anyone else gets what a missing case gets (404), so a foreign case still looks
like no case at all.

What: the case opens read-only for settings.SAMPLAN_EMERGENCY_ACCESS_MINUTES (default 60). The
rules that allow acting (cases/rules.py) ask for visibility, which emergency access does not
give, so every service refuses a change. Emergency access puts the case in no list (start page,
search): those start from `cases_visible_to`, which knows nothing of it.

The log: the grant is a GRANT row (the user grants the access to themselves: it is a grant of
access like any other, and the review's action filter finds it with the rest), and each read
under it a READ row; both carry `emergency=True`. The reason can hold health details, so it
stays out of the log's `detail` (process facts only) and lives in `EmergencyAccess`, whose id
the row names, for the review to show beside it. The app may not change or delete a grant
(db_roles gives it SELECT and INSERT only), and the GRANT row holds a keyed fingerprint of the
reason (`hmac …`), so a reason rewritten beneath the app shows in the review as changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from samplan.cases.models import Participant, SipCase
from samplan.directory.models import Assignment, Unit
from samplan.errors import DomainError, PermissionRefused

from .chain import audit_key
from .models import AuditEvent, EmergencyAccess
from .services import WORKING_ROLES, active_unit_ids, audit, cases_visible_to

REASON_MIN_LENGTH = 10
REASON_MAX_LENGTH = EmergencyAccess._meta.get_field("reason").max_length


FINGERPRINT = re.compile(r"\bhmac ([0-9a-f]{16})\b")


def fingerprint(*parts: str) -> str:
    """A keyed fingerprint (HMAC-SHA256 with the audit key, first 16 hex digits) of a text that
    lives outside the log, for the log's row to hold: the text cannot be read back from it, and
    whoever rewrites the text in the database cannot make a matching one without the key."""
    message = "\x1f".join(parts).encode()
    return hmac.new(audit_key(), message, hashlib.sha256).hexdigest()[:16]


def fingerprint_in(detail: str) -> str | None:
    match = FINGERPRINT.search(detail)
    return match.group(1) if match else None


def grant_matches_log(grant: EmergencyAccess) -> bool:
    """Whether the grant's reason is still what its GRANT row fingerprinted when it was given
    (False too when no such row names it)."""
    detail = (
        AuditEvent.objects.filter(
            action=AuditEvent.Action.GRANT,
            what="emergency_access",
            outcome=AuditEvent.Outcome.ALLOWED,
            emergency=True,
            user_id=grant.user_id,
            case_id=grant.case_id,
            detail__startswith=f"emergency access #{grant.pk} ",
        )
        .values_list("detail", flat=True)
        .first()
    )
    return detail is not None and fingerprint_in(detail) == fingerprint(grant.reason)


def emergency_minutes() -> int:
    return getattr(settings, "SAMPLAN_EMERGENCY_ACCESS_MINUTES", 60)


def _within_retention(now: dt.datetime) -> Q:
    return Q(case__closed_at__isnull=True) | Q(
        case__closed_at__gte=now - dt.timedelta(days=settings.SAMPLAN_RETENTION_DAYS)
    )


def may_ask_emergency_access(user, case_id: int) -> Unit | None:
    """The unit through which the user may ask for emergency access to this case, or None:
    not a working member of a unit taking part, or the case is already open to them (the
    consent covers them), or it is closed beyond retention."""
    units = active_unit_ids(user)
    if not units:
        return None
    now = timezone.now()
    participation = (
        Participant.objects.filter(case_id=case_id, unit_id__in=units, removed_at__isnull=True)
        .filter(_within_retention(now))
        .select_related("unit__organisation")
        .order_by("role", "unit_id")
        .first()
    )
    if participation is None or cases_visible_to(user).filter(pk=case_id).exists():
        return None
    return participation.unit


def current_emergency_access(user, case_id: int) -> EmergencyAccess | None:
    """The user's unexpired grant for this case, while what made them eligible still holds:
    the assignment at the unit is active and the unit still takes part."""
    if not getattr(user, "is_authenticated", False):
        return None
    now = timezone.now()
    still_assigned = Assignment.objects.active(now).filter(
        user=user, unit=OuterRef("unit"), role__in=WORKING_ROLES
    )
    still_taking_part = Participant.objects.filter(
        case=OuterRef("case"), unit=OuterRef("unit"), removed_at__isnull=True
    )
    return (
        EmergencyAccess.objects.filter(user=user, case_id=case_id, expires_at__gt=now)
        .filter(_within_retention(now), Exists(still_assigned), Exists(still_taking_part))
        .order_by("-expires_at")
        .first()
    )


def case_under_emergency_access(user, case_id: int) -> SipCase | None:
    """The case as get_case_for returns it, while the user holds emergency access to it:
    `acting_unit_id` is the unit the access was given through, `emergency_access` the grant."""
    grant = current_emergency_access(user, case_id)
    if grant is None:
        return None
    case = (
        SipCase.objects.select_related("person", "coordinating_unit__organisation", "coordinator")
        .filter(pk=case_id)
        .first()
    )
    case.acting_unit_id = grant.unit_id
    case.emergency_access = grant
    return case


def reason_problem(reason: str) -> DomainError | None:
    reason = reason.strip()
    if len(reason) < REASON_MIN_LENGTH:
        return DomainError(
            f"Skriv varför du behöver nödåtkomst (minst {REASON_MIN_LENGTH} tecken).",
            f"Write why you need emergency access (at least {REASON_MIN_LENGTH} characters).",
            "reason",
        )
    if len(reason) > REASON_MAX_LENGTH:
        return DomainError(
            f"Skälet får vara högst {REASON_MAX_LENGTH} tecken.",
            f"The reason may be at most {REASON_MAX_LENGTH} characters.",
            "reason",
        )
    return None


def grant_emergency_access(user, case_id: int, reason: str) -> EmergencyAccess:
    """Open the case to the user, read-only, for a limited time. A reason that is missing or
    too long saves nothing; a user who may not ask is refused, and the refusal is logged."""
    problem = reason_problem(reason)
    if problem is not None:
        raise problem
    unit = may_ask_emergency_access(user, case_id)
    person_id = SipCase.objects.filter(pk=case_id).values_list("person_id", flat=True).first()
    if unit is None:
        audit(
            user,
            AuditEvent.Action.GRANT,
            "emergency_access",
            case_id=case_id if person_id is not None else None,
            person_id=person_id,
            outcome=AuditEvent.Outcome.REFUSED,
            emergency=True,
        )
        raise PermissionRefused(
            "Du kan inte få nödåtkomst till denna SIP.",
            "You cannot get emergency access to this SIP.",
        )
    now = timezone.now()
    with transaction.atomic():
        grant = EmergencyAccess.objects.create(
            user=user,
            unit=unit,
            case_id=case_id,
            reason=reason.strip(),
            granted_at=now,
            expires_at=now + dt.timedelta(minutes=emergency_minutes()),
        )
        audit(
            user,
            AuditEvent.Action.GRANT,
            "emergency_access",
            case_id=case_id,
            person_id=person_id,
            unit_id=unit.pk,
            subject_user=user,
            emergency=True,
            detail=(
                f"emergency access #{grant.pk} until "
                f"{timezone.localtime(grant.expires_at):%Y-%m-%d %H:%M}; "
                f"reason hmac {fingerprint(grant.reason)}"
            ),
        )
    return grant
