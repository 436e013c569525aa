"""Keeping the statistics up to date: the SIPs whose facts may have changed are computed
again, and the difference between their old and new contributions is applied to the monthly
figures of their unit, their organisation and the county.

A SIP is taken up again when its timeline has a new event (read with a margin, so an event
committed a little after its `at` is not missed; taking a SIP up twice changes nothing), or
when its facts change with time alone (`CaseFacts.next_change_at`: a called meeting's start or
a follow-up date passes). The first run, and `--full`, compute every SIP.

The whole refresh is one transaction holding the lock on RefreshState's row: a second worker
waits, then finds nothing left to do. Refreshing twice gives the same figures.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator

from django.db import transaction
from django.utils import timezone

from samplan.cases.models import CaseEvent, SipCase

from .facts import compute_facts
from .models import CaseFacts, MonthlyFigures, RefreshState

# Events are read from this long before the previous refresh: more than any transaction lasts.
MARGIN = dt.timedelta(minutes=10)
BATCH = 1000
COUNTY = "county"

FACT_FIELDS = [
    field.name
    for field in CaseFacts._meta.concrete_fields
    if not field.primary_key and field.name != "case_id"
]


def unit_scope(unit_id: int) -> str:
    return f"unit:{unit_id}"


def organisation_scope(organisation_id: int) -> str:
    return f"organisation:{organisation_id}"


def scopes_of(facts: CaseFacts) -> tuple[str, str, str]:
    return unit_scope(facts.unit_id), organisation_scope(facts.organisation_id), COUNTY


def refresh_statistics(*, now: dt.datetime | None = None, full: bool = False) -> int:
    """Bring the facts and monthly figures up to `now`; the number of SIPs computed."""
    now = now or timezone.now()
    with transaction.atomic():
        RefreshState.objects.get_or_create(pk=1)
        state = RefreshState.objects.select_for_update().get(pk=1)
        if full or state.events_until is None:
            MonthlyFigures.objects.all().delete()
            CaseFacts.objects.all().delete()
            case_ids: Iterable[int] = SipCase.objects.order_by("pk").values_list("pk", flat=True)
        else:
            case_ids = sorted(_changed_since(state.events_until - MARGIN, now))
        count = 0
        for batch in _batches(case_ids):
            _refresh(batch, now)
            count += len(batch)
        state.events_until = now
        state.refreshed_at = now
        state.cases_refreshed = count
        state.save()
    return count


def _changed_since(since: dt.datetime, now: dt.datetime) -> set[int]:
    changed = set(CaseEvent.objects.filter(at__gte=since).values_list("case_id", flat=True))
    changed |= set(
        CaseFacts.objects.filter(next_change_at__lte=now).values_list("case_id", flat=True)
    )
    return changed


def _batches(ids: Iterable[int]) -> Iterator[list[int]]:
    batch: list[int] = []
    for pk in ids:
        batch.append(pk)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _refresh(case_ids: list[int], now: dt.datetime) -> None:
    old = CaseFacts.objects.in_bulk(case_ids)
    new = compute_facts(case_ids, now)
    delta: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for case_id, facts in new.items():
        before = old.get(case_id)
        if before is not None:
            _add(delta, scopes_of(before), before.contributions, -1)
        _add(delta, scopes_of(facts), facts.contributions, 1)
    _apply(delta)
    CaseFacts.objects.bulk_update(
        [facts for case_id, facts in new.items() if case_id in old], FACT_FIELDS
    )
    CaseFacts.objects.bulk_create([facts for case_id, facts in new.items() if case_id not in old])


def _add(delta, scopes, contributions: dict, sign: int) -> None:
    for month, counts in contributions.items():
        for scope in scopes:
            target = delta[(scope, month)]
            for measure, count in counts.items():
                target[measure] += sign * count


def _apply(delta: dict[tuple[str, str], Counter]) -> None:
    changes = {key: counts for key, counts in delta.items() if any(counts.values())}
    if not changes:
        return
    scopes = {scope for scope, _month in changes}
    months = {dt.date.fromisoformat(f"{month}-01") for _scope, month in changes}
    existing = {
        (row.scope, f"{row.month:%Y-%m}"): row
        for row in MonthlyFigures.objects.filter(scope__in=scopes, month__in=months)
    }
    updated, created = [], []
    for (scope, month), counts in changes.items():
        row = existing.get((scope, month))
        if row is None:
            row = MonthlyFigures(scope=scope, month=dt.date.fromisoformat(f"{month}-01"))
            created.append(row)
        else:
            updated.append(row)
        figures = Counter(row.figures)
        figures.update(counts)
        row.figures = {measure: count for measure, count in sorted(figures.items()) if count}
    stamp = timezone.now()
    for row in updated:
        row.updated_at = stamp  # bulk_update passes by auto_now
    MonthlyFigures.objects.bulk_update(updated, ["figures", "updated_at"])
    MonthlyFigures.objects.bulk_create(created)
