"""Helpers shared by the domain tests (identity, transitions, plan, consent, meetings, access,
audit, concurrency). The fixture for transactional tests, audit_log_flushable, is in conftest."""

from __future__ import annotations

from samplan.access.models import AuditEvent
from samplan.cases.models import CaseEvent, SipCase
from samplan.errors import DomainError, DomainErrors


def error_fields(error: DomainError) -> list[str]:
    """The fields a (possibly combined) domain error names, in order."""
    if isinstance(error, DomainErrors):
        return [item.field for item in error.errors]
    return [error.field]


def errors_of(error: DomainError) -> list[DomainError]:
    return list(error.errors) if isinstance(error, DomainErrors) else [error]


def assert_bilingual(error: DomainError) -> None:
    """A message in Swedish and one in English, and they are not the same text."""
    for item in errors_of(error):
        assert item.sv.strip(), item
        assert item.en.strip(), item
        assert item.sv != item.en, item


def snapshot(case: SipCase) -> dict:
    """What a refused action must leave untouched."""
    stored = SipCase.objects.get(pk=case.pk)
    return {
        "state": stored.state,
        "lock_version": stored.lock_version,
        "events": CaseEvent.objects.filter(case=case).count(),
        "consents": stored.consents.count(),
        "plan_versions": list(stored.plan_versions.values_list("number", "status")),
        "meetings": stored.meetings.count(),
    }


def audit_rows(case: SipCase, **filters):
    return AuditEvent.objects.filter(case_id=case.pk, **filters)
