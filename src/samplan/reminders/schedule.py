"""The scheduler (schemaläggaren): django-tasks runs what is enqueued but has no clock, so
`manage.py scheduler` enqueues the tasks of the setting SAMPLAN_SCHEDULE when their slot comes.

    SAMPLAN_SCHEDULE = {
        "reminders": {"task": "samplan.reminders.tasks.send_due_reminders", "every_minutes": 5},
        "contingency_packs": {"task": "samplan.documents.tasks.build_contingency_packs",
                              "daily_at": "02:30"},  # Europe/Stockholm
    }

A slot is the period a run belongs to: for `every_minutes` the N-minute period of the clock it
falls in (counted from the Unix epoch, so every scheduler agrees), for `daily_at` the latest
HH:MM in Stockholm that has passed (a nightly run missed while the scheduler was down runs when it
is back, once). Each pass inserts a ScheduleSlot row (unique on name and slot) and enqueues the
task in the same transaction: with two schedulers running, one inserts and enqueues, the other's
insert fails and it does nothing. A task that cannot be imported is logged and skipped, never a
crash: the other entries still run.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import ScheduleSlot

logger = logging.getLogger(__name__)

STOCKHOLM = ZoneInfo("Europe/Stockholm")

# Names whose task could not be imported, so that it is logged once per process, not every pass.
_reported_missing: set[str] = set()


@dataclass(frozen=True)
class Entry:
    name: str
    task: str
    every_minutes: int | None = None
    daily_at: dt.time | None = None


def entries() -> list[Entry]:
    """The schedule from the setting, checked: each entry has a task and exactly one of
    `every_minutes` (a whole number of minutes, at least 1) and `daily_at` ("HH:MM")."""
    found = []
    for name, spec in getattr(settings, "SAMPLAN_SCHEDULE", {}).items():
        task = spec.get("task")
        every, daily = spec.get("every_minutes"), spec.get("daily_at")
        if not task or (every is None) == (daily is None):
            raise ImproperlyConfigured(
                f"SAMPLAN_SCHEDULE[{name!r}] needs a task and one of every_minutes or daily_at"
            )
        if every is not None:
            if not isinstance(every, int) or every < 1:
                raise ImproperlyConfigured(
                    f"SAMPLAN_SCHEDULE[{name!r}]: every_minutes is a whole number from 1"
                )
            found.append(Entry(name, task, every_minutes=every))
        else:
            try:
                at = dt.time.fromisoformat(daily)
            except (TypeError, ValueError):
                raise ImproperlyConfigured(
                    f"SAMPLAN_SCHEDULE[{name!r}]: daily_at is a time as HH:MM"
                ) from None
            found.append(Entry(name, task, daily_at=at))
    return found


def current_slot(entry: Entry, now: dt.datetime) -> dt.datetime:
    """The start of the slot `now` falls in (aware, UTC)."""
    if entry.every_minutes is not None:
        step = entry.every_minutes * 60
        seconds = int(now.timestamp())
        return dt.datetime.fromtimestamp(seconds - seconds % step, tz=dt.UTC)
    local = now.astimezone(STOCKHOLM)
    day = local.date()
    slot = dt.datetime.combine(day, entry.daily_at, tzinfo=STOCKHOLM)
    if slot > local:
        slot = dt.datetime.combine(day - dt.timedelta(days=1), entry.daily_at, tzinfo=STOCKHOLM)
    return slot.astimezone(dt.UTC)


def _task_of(entry: Entry):
    try:
        task = import_string(entry.task)
    except ImportError as error:
        if entry.name not in _reported_missing:
            _reported_missing.add(entry.name)
            logger.warning(
                "scheduler: %s is not run: its task %s cannot be imported (%s)",
                entry.name,
                entry.task,
                error,
            )
        return None
    if not hasattr(task, "enqueue"):
        raise ImproperlyConfigured(
            f"SAMPLAN_SCHEDULE[{entry.name!r}]: {entry.task} is not a django-tasks task"
        )
    _reported_missing.discard(entry.name)
    return task


def run_pass(now: dt.datetime | None = None) -> list[str]:
    """Enqueue every task whose current slot has not been enqueued yet; the names enqueued."""
    now = now or timezone.now()
    enqueued = []
    for entry in entries():
        slot = current_slot(entry, now)
        if ScheduleSlot.objects.filter(name=entry.name, slot=slot).exists():
            continue
        task = _task_of(entry)
        if task is None:
            continue
        with transaction.atomic():
            try:
                # A savepoint: a concurrent scheduler's row makes this insert fail, not the pass.
                with transaction.atomic():
                    ScheduleSlot.objects.create(name=entry.name, slot=slot, task=entry.task)
            except IntegrityError:
                continue
            task.enqueue()
        logger.info("scheduler: enqueued %s for %s", entry.name, slot.isoformat())
        enqueued.append(entry.name)
    return enqueued
