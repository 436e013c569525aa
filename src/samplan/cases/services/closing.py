"""Avslut: closing a SIP with a reason that fits its state."""

from __future__ import annotations

from django.utils import timezone

from samplan.errors import DomainError
from samplan.mail import calls as mail_calls

from ..models import Meeting, PlanVersion, SipCase
from ._core import (
    _Change,
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
        # No one is to come to a meeting of a closed SIP (its calendar event says so).
        cancel_meetings_ahead(change, "SIP:en avslutades.", "The SIP was closed.")
    return case


def end_sip(case: SipCase, *, actor, expected_version: int | None, note: str = "") -> SipCase:
    """The person (or one acting for them: `actor` is their Capacity) ends their SIP in Min SIP,
    with an optional reason. The SIP closes with the reason "the person wishes to end it"; the
    coordinator sees it on the timeline and the start page; a meeting ahead is cancelled; the
    plan and everything recorded stay readable, and the person can ask for a new SIP later."""
    note = note.strip()
    with _changing(case, "end_sip", actor, expected_version) as change:
        change.note = note
        _close(change, Reason.PERSON_WISH, note)
        cancel_meetings_ahead(change, "Personen avslutade SIP:en.", "The person ended the SIP.")
    return case


def cancel_meetings_ahead(change: _Change, sv: str, en: str) -> list[Meeting]:
    """When the person ends the process (ends the SIP, revokes all consent), a meeting not yet
    started is cancelled, so no one comes to it and the person's calendar file says so. It stays
    on record with the reason; a meeting that has started is history and is left as it is.
    The reason is stored in both languages, as the meeting page shows it to anyone."""
    now = timezone.now()
    ahead = list(
        change.case.meetings.select_for_update().filter(
            cancelled_at__isnull=True, starts_at__gt=now
        )
    )
    for meeting in ahead:
        meeting.cancelled_at = now
        meeting.cancellation_reason = f"{sv} / {en}"
        # A cancellation is a change of the calendar event (RFC 5546): a higher sequence, so a
        # calendar that holds the meeting takes the cancelled copy over the one it has.
        meeting.sequence += 1
    Meeting.objects.bulk_update(ahead, ["cancelled_at", "cancellation_reason", "sequence"])
    for meeting in ahead:
        mail_calls.meeting_changed(meeting)
    return ahead
