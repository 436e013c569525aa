"""Loggkontroll: the queries behind the security officer's review of the audit log.

Whose log. Patientdatalagen 4 kap. 3 § makes each vårdgivare (and, for social services, each
nämnd) review access to what it is responsible for, so a security officer reviews *their
organisation's* rows, those of every organisation where they hold an active security-officer
assignment:
  * done at one of its units (the row's organisation snapshot is theirs: reads, writes, grants of
    assignments at its units);
  * done by, or granted to, one of its staff, where the row names no organisation (sign-ins,
    searches and refusals, which carry no unit): staff means an assignment there that was valid
    at the row's time. What its staff did at another organisation's unit is that organisation's
    business, and never in this review;
  * about a SIP one of its units takes part in (or took part in): who else read or tried to read
    a plan the organisation shares, refusals of outsiders included;
  * about a person of such a SIP, where the row names neither a SIP nor an organisation: who
    looked the person up (another organisation's security officer, say).
Rows that match none of these (a failed sign-in under a name no one has) belong to no
organisation's review; django-axes and the operator see those.

A row in scope may name a person who is not theirs (one of their staff looked up, or tried to
open, someone else's SIP): the page and the export show such a row without the person, so the
review tells no officer who is registered elsewhere.

Speed. Pages are keyset pages on (at, id), newest first, never a COUNT or an OFFSET. Each filter
leads to an index of AuditEvent: a person to (person, at), a user to (user, at), a unit to
(unit, at), an action or the off-hours and many-persons flags (reads) to (action, at), refusals
to the partial index on at where refused, the emergency flag to the partial index on at where
emergency, a period or no filter at all to the index on at. The organisation test is a filter on
the rows the index gives, always applied, so its cost follows how rare the officer's rows are.
The flags other than emergency list their period only (as their counts do), which bounds the
walk. Measured on PostgreSQL 15 at 5 000 000 rows (EXPLAIN ANALYZE, before the scope went by
assignments at the row's time and by person): every page under 40 ms for a region holding 30 %
of the rows, and under 70 ms for a kommun holding 0.5 % except "protected persons" (0.2 s: no
index leads to those rows). The flag summary aggregates its whole period (0.4–1 s), so it runs
when asked for.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict, deque
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, TruncDate
from django.utils import timezone

from samplan.cases.models import Participant, SipCase
from samplan.directory.models import Assignment, Unit
from samplan.people.models import Person

from .emergency import fingerprint, fingerprint_in
from .models import AuditEvent, EmergencyAccess, LogReview
from .services import active_unit_ids

PAGE_SIZE = 50
WORKDAY_START_HOUR = 7
WORKDAY_END_HOUR = 18
MANY_PERSONS_PER_DAY = 20
BURST_REFUSALS = 5
BURST_WINDOW = dt.timedelta(minutes=10)
# The flags look at one period; longer periods are cut to their last days so the summary stays
# a bounded range scan of the (action, at) index.
FLAG_PERIOD_MAX_DAYS = 31
PROTECTED = [value for value in Person.Protection.values if value != Person.Protection.NONE]


class Flag:
    EMERGENCY = "emergency"
    PROTECTED = "protected"
    MANY_PERSONS = "many_persons"
    OFF_HOURS = "off_hours"
    REFUSAL_BURSTS = "refusal_bursts"
    ALL = (EMERGENCY, PROTECTED, MANY_PERSONS, OFF_HOURS, REFUSAL_BURSTS)


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True)
class Officer:
    """A security officer and the organisations whose log they review."""

    user: object
    organisation_ids: tuple[int, ...]

    def staff_at_the_time(self, user_field: str) -> Exists:
        """Whether the row's user (or subject user) held an assignment at one of the
        organisations' units at the row's time: a former employee's later rows, and a
        newcomer's earlier ones, are not the organisation's."""
        return Exists(
            Assignment.objects.filter(
                user_id=OuterRef(user_field),
                unit__organisation_id__in=self.organisation_ids,
                valid_from__lte=OuterRef("at"),
            ).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=OuterRef("at")))
        )

    def their_sips(self) -> QuerySet:
        return Participant.objects.filter(unit__organisation_id__in=self.organisation_ids)

    def their_persons(self) -> QuerySet:
        return SipCase.objects.filter(pk__in=self.their_sips().values("case_id")).values(
            "person_id"
        )

    def units(self) -> QuerySet[Unit]:
        return Unit.objects.filter(organisation_id__in=self.organisation_ids).order_by("name")


def officer_of(user) -> Officer | None:
    """The officer behind the user, or None: only an active security-officer assignment counts
    (a superuser, a coordinator or a unit administrator is no reviewer)."""
    units = active_unit_ids(user, (Assignment.Role.SECURITY_OFFICER,))
    if not units:
        return None
    organisations = Unit.objects.filter(pk__in=units).values_list("organisation_id", flat=True)
    return Officer(user, tuple(sorted(set(organisations))))


def scope_q(officer: Officer) -> Q:
    """The rows of the officer's organisations (see the module docstring)."""
    without_organisation = Q(organisation_id__isnull=True)
    return (
        Q(organisation_id__in=officer.organisation_ids)
        | (without_organisation & officer.staff_at_the_time("user_id"))
        | (without_organisation & officer.staff_at_the_time("subject_user_id"))
        | Q(case_id__in=officer.their_sips().values("case_id"))
        # Lookups of one of their persons tied to no SIP and no unit (the log review's own, a
        # search without a unit); what another organisation did with the person at its own units,
        # in a SIP they take no part in, stays that organisation's.
        | (without_organisation & Q(case_id__isnull=True, person_id__in=officer.their_persons()))
    )


def hide_foreign_persons(officer: Officer, rows: list[AuditEvent]) -> None:
    """Mark the rows whose person is not the organisations' (`person_hidden`): the row is theirs
    (one of their staff did it), the person is not (not in a SIP they take or took part in, and
    the row is at none of their units). One query for the page."""
    wanted = {
        row.person_id
        for row in rows
        if row.person_id and row.organisation_id not in officer.organisation_ids
    }
    theirs = set()
    if wanted:
        theirs = set(
            officer.their_persons().filter(person_id__in=wanted).values_list("person_id", flat=True)
        )
    for row in rows:
        row.person_hidden = (
            row.person_id is not None
            and row.organisation_id not in officer.organisation_ids
            and row.person_id not in theirs
        )


def is_their_person(officer: Officer, person: Person) -> bool:
    """In a SIP their units take or took part in, or named by a row at one of their units
    (the second walks the (person, at) index, stopping at the first such row)."""
    return (
        officer.their_persons().filter(person_id=person.pk).exists()
        or AuditEvent.objects.filter(
            person_id=person.pk, organisation_id__in=officer.organisation_ids
        ).exists()
    )


@dataclass
class Filters:
    """A search of the log. `start`/`end` are aware instants (end exclusive); the dates the
    officer typed are local (Europe/Stockholm) days."""

    # The person searched for, when theirs (in a SIP they take or took part in, or in a row at
    # their units); `person_searched` with no person: the number names no one of theirs.
    person: Person | None = None
    person_searched: bool = False
    user_id: int | None = None
    username: str = ""
    unit: Unit | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    action: str = ""
    outcome: str = ""
    flag: str = ""
    threshold: int = MANY_PERSONS_PER_DAY
    # Filled by `flag_summary` when the flag needs it: the users it names.
    flagged_users: list[int] = field(default_factory=list)

    @property
    def nobody(self) -> bool:
        """An identity number or user name naming no one of theirs: no rows, the same answer
        whether the number is registered elsewhere or nowhere."""
        return (self.person_searched and self.person is None) or (
            bool(self.username) and self.user_id is None
        )

    @property
    def start(self) -> dt.datetime | None:
        return local_midnight(self.date_from) if self.date_from else None

    @property
    def end(self) -> dt.datetime | None:
        return local_midnight(self.date_to + dt.timedelta(days=1)) if self.date_to else None

    def describe(self) -> str:
        """The search in words, for the audit row and the review record: never an identity
        number or a name, only keys."""
        parts = []
        if self.person is not None:
            parts.append(f"person #{self.person.pk}")
        elif self.person_searched:
            parts.append("person by identity number")
        if self.username:
            parts.append(f"user {self.username}")
        if self.unit is not None:
            parts.append(f"unit #{self.unit.pk} {self.unit.name}")
        if self.date_from or self.date_to:
            parts.append(f"period {self.date_from or '…'}–{self.date_to or '…'}")
        if self.action:
            parts.append(f"action {self.action}")
        if self.outcome:
            parts.append(f"outcome {self.outcome}")
        if self.flag:
            extra = f" >{self.threshold}/day" if self.flag == Flag.MANY_PERSONS else ""
            parts.append(f"flag {self.flag}{extra}")
        return ", ".join(parts) or "whole log"


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=local_zone())


# Flags whose rows are listed for the flag period only: what they mean depends on it (the users
# who read many persons, or were refused in bursts, in that period) or nothing else bounds the
# walk through the log (protected persons, hours). Emergency rows have an index of their own.
PERIOD_FLAGS = (Flag.PROTECTED, Flag.OFF_HOURS, Flag.MANY_PERSONS, Flag.REFUSAL_BURSTS)


def bound_to_flag_period(filters: Filters) -> None:
    if filters.flag in PERIOD_FLAGS:
        filters.date_from, filters.date_to = flag_period(filters)


def flag_period(filters: Filters, now: dt.datetime | None = None) -> tuple[dt.date, dt.date]:
    """The local days the flags look at: the search's period, or the last seven days when it
    has none, cut to the last FLAG_PERIOD_MAX_DAYS days."""
    today = timezone.localdate(now or timezone.now())
    last = filters.date_to or today
    first = filters.date_from or (last - dt.timedelta(days=6))
    first = max(first, last - dt.timedelta(days=FLAG_PERIOD_MAX_DAYS - 1))
    return first, last


def events(officer: Officer, filters: Filters) -> QuerySet[AuditEvent]:
    """The officer's rows that match the filters, newest first (keyset order)."""
    if filters.nobody:
        return AuditEvent.objects.none()
    # Always the whole scope, whatever the filters: a user filter must not widen it to what one
    # of their staff did elsewhere.
    rows = AuditEvent.objects.filter(scope_q(officer))
    if filters.person is not None:
        rows = rows.filter(person_id=filters.person.pk)
    if filters.user_id is not None:
        rows = rows.filter(user_id=filters.user_id)
    if filters.unit is not None:
        rows = rows.filter(unit_id=filters.unit.pk)
    if filters.start:
        rows = rows.filter(at__gte=filters.start)
    if filters.end:
        rows = rows.filter(at__lt=filters.end)
    if filters.action:
        rows = rows.filter(action=filters.action)
    if filters.outcome:
        rows = rows.filter(outcome=filters.outcome)
    rows = _flagged(rows, filters)
    return rows.order_by("-at", "-id")


def _flagged(rows: QuerySet[AuditEvent], filters: Filters) -> QuerySet[AuditEvent]:
    if filters.flag == Flag.EMERGENCY:
        return rows.filter(emergency=True)
    if filters.flag == Flag.PROTECTED:
        return rows.filter(
            person_id__in=Person.objects.filter(protection__in=PROTECTED).values("pk")
        )
    if filters.flag == Flag.OFF_HOURS:
        zone = local_zone()
        return (
            rows.filter(action=AuditEvent.Action.READ)
            .annotate(
                local_hour=ExtractHour("at", tzinfo=zone),
                local_weekday=ExtractIsoWeekDay("at", tzinfo=zone),
            )
            .filter(
                Q(local_hour__lt=WORKDAY_START_HOUR)
                | Q(local_hour__gte=WORKDAY_END_HOUR)
                | Q(local_weekday__gte=6)
            )
        )
    if filters.flag == Flag.MANY_PERSONS:
        return rows.filter(action=AuditEvent.Action.READ, user_id__in=filters.flagged_users)
    if filters.flag == Flag.REFUSAL_BURSTS:
        return rows.filter(outcome=AuditEvent.Outcome.REFUSED, user_id__in=filters.flagged_users)
    return rows


def page(
    rows: QuerySet[AuditEvent], after: tuple[dt.datetime, int] | None, size: int = PAGE_SIZE
) -> tuple[list[AuditEvent], tuple[dt.datetime, int] | None]:
    """One keyset page: the rows after the cursor, and the cursor of the next page (or None).
    Rows sharing an `at` are ordered by id, so none repeats and none is skipped."""
    if after is not None:
        moment, pk = after
        rows = rows.filter(Q(at__lt=moment) | Q(at=moment, id__lt=pk))
    found = list(rows.select_related("person")[: size + 1])
    if len(found) > size:
        found = found[:size]
        return found, (found[-1].at, found[-1].pk)
    return found, None


EMERGENCY_GRANT = re.compile(r"emergency access #(\d+)")


def attach_emergency_reasons(rows: list[AuditEvent]) -> None:
    """Each emergency row gets `emergency_reason`: the reason given for the grant it names
    (the reason lives in EmergencyAccess, not in the log), and `reason_changed` when the grant
    row's keyed fingerprint of the reason no longer matches it. One query for the page."""
    wanted = {}
    for row in rows:
        row.emergency_reason = ""
        row.reason_changed = False
        if row.emergency and (match := EMERGENCY_GRANT.search(row.detail)):
            wanted[row.pk] = int(match.group(1))
    if not wanted:
        return
    reasons = dict(
        EmergencyAccess.objects.filter(pk__in=set(wanted.values())).values_list("pk", "reason")
    )
    for row in rows:
        if row.pk in wanted:
            reason = reasons.get(wanted[row.pk])
            row.emergency_reason = reason or ""
            logged = fingerprint_in(row.detail)
            # A grant that is gone, or whose reason was rewritten beneath the app.
            row.reason_changed = logged is not None and (
                reason is None or logged != fingerprint(reason)
            )


REVIEW_CREATED = re.compile(r"^review #(\d+) ")


def review_fingerprint(record: LogReview) -> str:
    """Over what the record says and whose it is: moving it to another organisation or
    reviewer is a change too."""
    return fingerprint(
        str(record.reviewer_id),
        str(record.organisation_id),
        record.period_start.isoformat(),
        record.period_end.isoformat(),
        record.scope,
        record.conclusion,
    )


def attach_review_checks(records: list[LogReview]) -> None:
    """Each record gets `check`: "ok" when its CREATE row in the log holds the fingerprint of
    what it says now, "changed" when it does not (rewritten after it was written), "missing"
    when no CREATE row names it (written beneath the app, or before fingerprints). One query."""
    for record in records:
        record.check = "missing"
    if not records:
        return
    ids = {record.pk for record in records}
    since = min(record.reviewed_at for record in records) - dt.timedelta(minutes=5)
    logged = {}
    created = AuditEvent.objects.filter(
        action=AuditEvent.Action.CREATE,
        what="log_review",
        outcome=AuditEvent.Outcome.ALLOWED,
        at__gte=since,
    ).values_list("detail", flat=True)
    for detail in created:
        match = REVIEW_CREATED.match(detail)
        if match and int(match.group(1)) in ids:
            logged.setdefault(int(match.group(1)), fingerprint_in(detail))
    for record in records:
        if record.pk in logged:
            record.check = "ok" if logged[record.pk] == review_fingerprint(record) else "changed"


@dataclass(frozen=True)
class UserDay:
    user_id: int
    username: str
    day: dt.date
    persons: int


@dataclass(frozen=True)
class Burst:
    user_id: int
    username: str
    started: dt.datetime
    refusals: int


@dataclass
class FlagSummary:
    first_day: dt.date
    last_day: dt.date
    threshold: int
    emergency: int = 0
    protected: int = 0
    off_hours: int = 0
    many_persons: list[UserDay] = field(default_factory=list)
    bursts: list[Burst] = field(default_factory=list)

    def users(self, flag: str) -> list[int]:
        if flag == Flag.MANY_PERSONS:
            return sorted({entry.user_id for entry in self.many_persons})
        if flag == Flag.REFUSAL_BURSTS:
            return sorted({burst.user_id for burst in self.bursts})
        return []


# A summary counts at most this many rows of a kind; "1000+" is enough to say "look here".
SUMMARY_CAP = 1000


def flag_summary(officer: Officer, filters: Filters) -> FlagSummary:
    """What PDL asks the review to look for, over the flag period, within the officer's rows
    (and the person, user or unit searched for, if any)."""
    first, last = flag_period(filters)
    period = Filters(
        person=filters.person,
        person_searched=filters.person_searched,
        user_id=filters.user_id,
        username=filters.username,
        unit=filters.unit,
        date_from=first,
        date_to=last,
    )
    base = events(officer, period).order_by()
    summary = FlagSummary(first, last, filters.threshold)
    for name in (Flag.EMERGENCY, Flag.PROTECTED, Flag.OFF_HOURS):
        flagged = _flagged(base, Filters(flag=name)).values("pk")[:SUMMARY_CAP]
        setattr(summary, name, AuditEvent.objects.filter(pk__in=flagged).count())
    reads_by_day = (
        base.filter(action=AuditEvent.Action.READ, person_id__isnull=False, user_id__isnull=False)
        .annotate(day=TruncDate("at", tzinfo=local_zone()))
        .values("user_id", "day")
        .annotate(persons=Count("person_id", distinct=True), username=Max("username"))
        .filter(persons__gt=filters.threshold)
        .order_by("-persons", "day", "user_id")
    )
    summary.many_persons = [
        UserDay(row["user_id"], row["username"], row["day"], row["persons"])
        for row in reads_by_day[:SUMMARY_CAP]
    ]
    summary.bursts = refusal_bursts(
        base.filter(outcome=AuditEvent.Outcome.REFUSED, user_id__isnull=False)
    )
    return summary


def refusal_bursts(refusals: QuerySet[AuditEvent]) -> list[Burst]:
    """Users refused at least BURST_REFUSALS times within BURST_WINDOW: someone trying doors.
    One burst per user (the first), in a sliding window over the refusals of the period."""
    times: dict[int, deque] = defaultdict(deque)
    found: dict[int, Burst] = {}
    rows = refusals.order_by("at", "id").values_list("user_id", "username", "at")
    for user_id, username, at in rows[: SUMMARY_CAP * 10]:
        if user_id in found:
            continue
        window = times[user_id]
        window.append(at)
        while at - window[0] > BURST_WINDOW:
            window.popleft()
        if len(window) >= BURST_REFUSALS:
            found[user_id] = Burst(user_id, username, window[0], len(window))
    return sorted(found.values(), key=lambda burst: burst.started)


def contains_protected(rows: QuerySet[AuditEvent], limit: int) -> bool:
    """Whether any of the first `limit` rows (what an export would hold) is about a person with
    protected personal data."""
    shown = rows.order_by("-at", "-id").values("pk")[:limit]
    return AuditEvent.objects.filter(pk__in=shown, person__protection__in=PROTECTED).exists()
