"""The scheduler (issue 9): each entry of SAMPLAN_SCHEDULE is enqueued once per slot, however
many passes or schedulers; a task that cannot be imported is logged, not a crash."""

from __future__ import annotations

import datetime as dt
import io
import logging
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django_tasks_db.models import DBTaskResult

from samplan.reminders import schedule
from samplan.reminders.models import ScheduleSlot
from samplan.reminders.schedule import STOCKHOLM, Entry, current_slot, run_pass

REMINDERS = "samplan.reminders.tasks.send_due_reminders"
MAIL = "samplan.mail.tasks.send_due_mail"
MISSING = "samplan.nowhere.tasks.build_nothing"


@pytest.fixture
def schedule_setting(settings):
    schedule._reported_missing.clear()
    settings.SAMPLAN_SCHEDULE = {
        "reminders": {"task": REMINDERS, "every_minutes": 5},
        "mail_sweep": {"task": MAIL, "every_minutes": 5},
        "missing": {"task": MISSING, "daily_at": "02:30"},
    }
    return settings


def enqueued(path: str) -> int:
    return DBTaskResult.objects.filter(task_path=path).count()


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=STOCKHOLM)


def test_a_slot_of_every_five_minutes_is_the_clocks_five_minute_period():
    entry = Entry("x", REMINDERS, every_minutes=5)
    assert current_slot(entry, local(2026, 11, 24, 10, 7, 30)) == local(2026, 11, 24, 10, 5)
    assert current_slot(entry, local(2026, 11, 24, 10, 10)) == local(2026, 11, 24, 10, 10)


def test_a_daily_slot_is_the_latest_time_of_day_in_stockholm_that_has_passed():
    entry = Entry("x", REMINDERS, daily_at=dt.time(2, 30))
    assert current_slot(entry, local(2026, 11, 24, 1, 0)) == local(2026, 11, 23, 2, 30)
    assert current_slot(entry, local(2026, 11, 24, 3, 0)) == local(2026, 11, 24, 2, 30)
    # Summer time: 02:30 in Stockholm is 00:30 UTC.
    summer = current_slot(entry, local(2026, 7, 1, 12, 0))
    assert summer == dt.datetime(2026, 7, 1, 0, 30, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_each_task_is_enqueued_once_per_slot_and_a_missing_one_is_logged(schedule_setting, caplog):
    now = local(2026, 11, 24, 10, 7)
    with caplog.at_level(logging.WARNING, logger="samplan.reminders.schedule"):
        assert sorted(run_pass(now)) == ["mail_sweep", "reminders"]
        assert run_pass(now + dt.timedelta(minutes=2)) == []  # same slot: nothing
    assert enqueued(REMINDERS) == 1
    assert enqueued(MAIL) == 1
    assert enqueued(MISSING) == 0
    assert not ScheduleSlot.objects.filter(name="missing").exists()
    warnings = [r.getMessage() for r in caplog.records if "missing" in r.getMessage()]
    assert len(warnings) == 1  # once per process, not every pass
    assert MISSING in warnings[0]

    assert sorted(run_pass(now + dt.timedelta(minutes=3))) == ["mail_sweep", "reminders"]
    assert enqueued(REMINDERS) == 2  # the next slot


@pytest.mark.django_db
def test_the_command_runs_one_pass(schedule_setting):
    out = io.StringIO()
    call_command("scheduler", "--once", stdout=out)
    assert enqueued(REMINDERS) == 1
    assert "enqueued reminders" in out.getvalue()
    call_command("scheduler", "--once", stdout=io.StringIO())
    # Once per slot (a second pass a moment later may fall in the next slot, rarely).
    assert enqueued(REMINDERS) == ScheduleSlot.objects.filter(name="reminders").count()


@pytest.mark.django_db
def test_a_bad_entry_is_a_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.SAMPLAN_SCHEDULE = {"x": {"task": REMINDERS, "every_minutes": 5, "daily_at": "1:00"}}
    with pytest.raises(ImproperlyConfigured):
        run_pass()


@pytest.mark.needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_enqueue_a_slot_once(schedule_setting, audit_log_flushable):
    now = local(2026, 11, 24, 10, 7)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def scheduler():
        try:
            barrier.wait()
            results.append(run_pass(now))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(name for names in results for name in names) == ["mail_sweep", "reminders"]
    assert enqueued(REMINDERS) == 1
    assert enqueued(MAIL) == 1
