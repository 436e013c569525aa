"""The one way staff reach personal data, and the one way the audit log is written.

Access follows participation (SIP.md): a staff member sees a SIP only through an active assignment
(medarbetaruppdrag) at a unit that
  * coordinates the SIP (it keeps the original), or initiated it and consent is not yet asked; or
  * takes part in the SIP, while the person's consent covers that unit's organisation;
and, once the SIP is closed, only for the retention time (settings.SAMPLAN_RETENTION_DAYS).

A unit administrator (enhetschef) follows up the work of the unit: an active assignment in that
role lets them *see* what the unit's staff see, under the same rule, but never act. Acting goes
through `acting_unit_for` and the rules, which count the working roles only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from samplan.access.chain import write_events
from samplan.access.middleware import current_request_info
from samplan.access.models import AuditEvent
from samplan.cases.models import Consent, ConsentScope, Participant, SipCase, State
from samplan.directory.models import Assignment, Unit

WORKING_ROLES = (Assignment.Role.COORDINATOR, Assignment.Role.PARTICIPANT)
SEEING_ROLES = (*WORKING_ROLES, Assignment.Role.UNIT_ADMINISTRATOR)


def active_assignments(user) -> list[tuple[int, str]]:
    """(unit, role) of each active assignment of the user. One query per request: every
    question about the user's units and roles reads this."""
    if not getattr(user, "is_authenticated", False):
        return []
    cache = user.__dict__.setdefault("_samplan_unit_ids", {})
    if None not in cache:
        cache[None] = list(
            Assignment.objects.active().filter(user=user).order_by().values_list("unit_id", "role")
        )
    return cache[None]


def active_unit_ids(user, roles: Iterable[str] = WORKING_ROLES) -> list[int]:
    """Units where the user holds an active assignment in one of the roles. Cached per request."""
    roles = set(roles)
    return sorted({unit for unit, role in active_assignments(user) if role in roles})


def forget_cached_units(user) -> None:
    user.__dict__.pop("_samplan_unit_ids", None)


def consent_covers_q(unit_ids: list[int], today: dt.date) -> Q:
    """True for a case when one of the units takes part and an active consent names the
    organisation of that unit. Written per organisation as two index lookups (participant by
    case and unit, scope by consent and organisation), which planners handle well at 100 000s
    of cases, rather than one subquery joining organisation → units → participations."""
    by_organisation: dict[int, list[int]] = {}
    for organisation_id, unit_id in Unit.objects.filter(pk__in=unit_ids).values_list(
        "organisation_id", "pk"
    ):
        by_organisation.setdefault(organisation_id, []).append(unit_id)
    covered = Q(pk__in=[])
    for organisation_id, units in by_organisation.items():
        takes_part = Exists(
            Participant.objects.filter(
                case=OuterRef("pk"), unit_id__in=units, removed_at__isnull=True
            )
        )
        consent_names_it = Exists(
            ConsentScope.objects.filter(
                consent__case=OuterRef("pk"),
                consent__decision=Consent.Decision.GIVEN,
                consent__revoked_at__isnull=True,
                revoked_at__isnull=True,
                organisation_id=organisation_id,
            ).filter(Q(consent__valid_until__isnull=True) | Q(consent__valid_until__gte=today))
        )
        covered |= Q(takes_part) & Q(consent_names_it)
    return covered


def visibility_q(unit_ids: list[int], now: dt.datetime | None = None) -> Q:
    now = now or timezone.now()
    # The coordinating unit keeps the original plan and always sees it (for the retention time).
    # The initiating unit sees the case before consent is asked for; after that, only the
    # consent lets it in, like every other unit.
    holds_record = Q(coordinating_unit_id__in=unit_ids) | Q(
        initiating_unit_id__in=unit_ids, state__in=[State.INITIATED, State.INFORMED]
    )
    within_retention = Q(closed_at__isnull=True) | Q(
        closed_at__gte=now - dt.timedelta(days=settings.SAMPLAN_RETENTION_DAYS)
    )
    # Every case a user may see has one of their units among its participants (the initiating
    # and coordinating units are participants from the start), so start from those rows: an
    # index range on (unit, case) instead of testing every case in the database.
    takes_part = Q(pk__in=Participant.objects.filter(unit_id__in=unit_ids).values("case_id"))
    return (
        takes_part
        & (holds_record | consent_covers_q(unit_ids, timezone.localdate(now)))
        & within_retention
    )


def cases_visible_to(user) -> QuerySet[SipCase]:
    """Every SIP the user may see, annotated with `acting_unit_id`: the user's unit that grants
    the access (logged with each read). Querysets of cases in views start here."""
    unit_ids = active_unit_ids(user, SEEING_ROLES)
    if not unit_ids:
        return SipCase.objects.none()
    my_participation = Participant.objects.filter(
        case=OuterRef("pk"), unit_id__in=unit_ids
    ).order_by("role", "unit_id")
    return SipCase.objects.filter(visibility_q(unit_ids)).annotate(
        acting_unit_id=Subquery(my_participation.values("unit_id")[:1])
    )


def get_case_for(user, case_id: int, *, what: str = "sip_case") -> SipCase:
    """The case, if the user may see it; its read is logged. Otherwise 404, and the refusal is
    logged: a missing or foreign case looks the same from outside.

    Under emergency access (access/emergency.py) the case comes back too, read-only, with
    `case.emergency_access` set to the grant (None otherwise) and the read flagged in the log."""
    case = (
        cases_visible_to(user)
        .select_related("person", "coordinating_unit__organisation", "coordinator")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        # Imported here: emergency access is built on this module.
        from samplan.access.emergency import case_under_emergency_access

        case = case_under_emergency_access(user, case_id)
    if case is None:
        refused = SipCase.objects.filter(pk=case_id).values_list("person_id", flat=True).first()
        audit(
            user,
            AuditEvent.Action.READ,
            what,
            case_id=case_id if refused is not None else None,
            person_id=refused,
            outcome=AuditEvent.Outcome.REFUSED,
        )
        raise Http404
    grant = getattr(case, "emergency_access", None)
    case.emergency_access = grant
    audit(
        user,
        AuditEvent.Action.READ,
        what,
        case_id=case.pk,
        person_id=case.person_id,
        unit_id=case.acting_unit_id,
        **({"emergency": True, "detail": f"emergency access #{grant.pk}"} if grant else {}),
    )
    return case


def log_list_reads(user, cases: Iterable[SipCase], what: str = "sip_case_list") -> None:
    """One read row per case shown in a list: the person's log extract must show every unit
    that saw their name."""
    cases = list(cases)
    units = _unit_snapshots({case.acting_unit_id for case in cases})
    rows = [
        _event(
            user,
            AuditEvent.Action.READ,
            what,
            case.pk,
            case.person_id,
            case.acting_unit_id,
            unit=units.get(case.acting_unit_id),
        )
        for case in cases
    ]
    write_events(rows)


def audit_each(
    user,
    action: str,
    what: str,
    cases: Iterable[tuple[int | None, int | None]],
    *,
    unit_id: int | None = None,
    **extra,
) -> None:
    """One row per (case id, person id), written in one insert: a bulk export or print must
    name every person in it, so each person's log extract shows it (documents/contingency.py)."""
    unit = _unit_snapshots([unit_id]).get(unit_id) if unit_id else None
    rows = [
        _event(user, action, what, case_id, person_id, unit_id, unit=unit, **extra)
        for case_id, person_id in cases
    ]
    write_events(rows)


def acting_unit_for(user, case: SipCase) -> Unit | None:
    """The user's unit through which they act on this case (first coordinating, then others).
    Only a working role acts, and only on a case those roles let the user see: what a unit
    administrator sees through that role alone cannot be acted on through another unit."""
    unit_ids = active_unit_ids(user)
    if not unit_ids:
        return None
    participations = Participant.objects.filter(
        case=case, unit_id__in=unit_ids, removed_at__isnull=True
    )
    if active_unit_ids(user, SEEING_ROLES) != unit_ids:
        seen_at_work = SipCase.objects.filter(visibility_q(unit_ids), pk=case.pk).values("pk")
        participations = participations.filter(case__in=seen_at_work)
    participation = participations.select_related("unit").order_by("role", "unit_id").first()
    return participation.unit if participation else None


def _unit_snapshots(unit_ids) -> dict[int, tuple[str, int, str]]:
    """(name, organisation id, organisation name) of each unit, for the log's snapshots."""
    ids = [unit_id for unit_id in unit_ids if unit_id]
    if not ids:
        return {}
    return {
        pk: (name, organisation_id, organisation_name)
        for pk, name, organisation_id, organisation_name in Unit.objects.filter(
            pk__in=ids
        ).values_list("pk", "name", "organisation_id", "organisation__name")
    }


def _event(
    user,
    action,
    what,
    case_id=None,
    person_id=None,
    unit_id=None,
    outcome=None,
    *,
    unit: tuple[str, int, str] | None = None,
    **extra,
) -> AuditEvent:
    """An unsaved row: who, from where, which unit and organisation, what, about whom."""
    address, path = current_request_info.get()
    authenticated = getattr(user, "is_authenticated", False)
    if unit_id and unit is None:
        unit = _unit_snapshots([unit_id]).get(unit_id)
    unit_name, organisation_id, organisation_name = unit or ("", None, "")
    subject = extra.get("subject_user")
    if subject is not None and not extra.get("subject_username"):
        extra["subject_username"] = subject.get_username()  # the snapshot outlives the account
    username = user.get_username() if authenticated else ""
    # A private individual in Min SIP (access/citizen.py: Citizen or Capacity): no user, a
    # pseudonym, and the capacity they acted in.
    citizen_fields = getattr(user, "audit_fields", None)
    if citizen_fields is not None:
        fields = citizen_fields()
        username = fields.pop("username")
        extra = {**fields, **extra}
    return AuditEvent(
        user=user if authenticated else None,
        username=username,
        unit_id=unit_id,
        unit_name=unit_name,
        organisation_id=organisation_id,
        organisation_name=organisation_name,
        case_id=case_id,
        person_id=person_id,
        action=action,
        outcome=outcome or AuditEvent.Outcome.ALLOWED,
        what=what,
        ip_address=address,
        path=path,
        **extra,
    )


def audit(
    user,
    action: str,
    what: str,
    *,
    case_id: int | None = None,
    person_id: int | None = None,
    unit_id: int | None = None,
    outcome: str | None = None,
    **extra,
) -> AuditEvent:
    """Write one row of the audit log. `extra`: subject_user (its user name is kept as well),
    subject_username (for a subject without an account), detail, emergency (see AuditEvent)."""
    event = _event(user, action, what, case_id, person_id, unit_id, outcome, **extra)
    write_events([event])
    return event
