"""Tasks whose worker died (a process killed, a machine lost): run them again.

django-tasks' database worker marks a task RUNNING when it claims it and never looks at it
again: a worker killed midway leaves the row RUNNING for ever, and the task never runs. So, on
PostgreSQL, a worker holds a session advisory lock on each task it runs, taken in the very
transaction that claims it (no one sees the task RUNNING before the lock is held) and let go
when the task is finished. A dead worker's session ends, and its locks with it.

The scheduler (`manage.py scheduler`, every pass) tries each RUNNING task's lock itself: when it
gets it, no worker is running the task, and the task is set back to READY for any worker to run
it again. Every task of Samplan is safe to run twice: mail and reminders are once per key under a
row lock (mail/tasks.py, reminders/tasks.py), the statistics and contingency packs are computed
again. A task that lost MAX_WORKERS_LOST workers is marked FAILED (WorkerLost) instead: a task
that kills its worker every time must not take every worker down with it.

A database restart ends every session too: a task then still running is run again, which is
safe for the same reason. SQLite (one developer's machine) has no such locks: nothing is reaped.
"""

from __future__ import annotations

import logging

from django.db import connection, connections, transaction
from django.db.models.signals import post_save
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger(__name__)

# pg_advisory_lock(key1, key2): the first key says "a task being run" (apart from the other
# two-key locks: 8_208_001 is a citizen's request), the second which task.
TASK_LOCK = 8_208_002
MAX_WORKERS_LOST = 3
FINISHED = (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED)


class WorkerLost(Exception):
    """The class named on a task given up after its workers died while running it."""


def _lock_sql(function: str) -> str:
    return f"SELECT {function}(%s, hashtext(%s))"


def hold_while_running(sender, instance, using, update_fields=None, **kwargs) -> None:
    """post_save of a task's row in the worker: the claim (status RUNNING, a worker id added)
    takes the task's lock for this session; the finish (SUCCESSFUL or FAILED) lets it go."""
    database = connections[using]
    if database.vendor != "postgresql" or not update_fields:
        return
    if instance.status == TaskResultStatus.RUNNING and "worker_ids" in update_fields:
        function = "pg_advisory_lock"
    elif instance.status in FINISHED and "finished_at" in update_fields:
        function = "pg_advisory_unlock"
    else:
        return
    with database.cursor() as cursor:
        cursor.execute(_lock_sql(function), [TASK_LOCK, str(instance.pk)])


def connect() -> None:
    post_save.connect(
        hold_while_running, sender=DBTaskResult, dispatch_uid="samplan.reminders.reaper"
    )


def requeue_abandoned_tasks() -> list[str]:
    """Set every RUNNING task that no live worker holds back to READY (or FAILED after
    MAX_WORKERS_LOST); the ids of the tasks handled."""
    if connection.vendor != "postgresql":
        return []
    handled = []
    for task_id in DBTaskResult.objects.running().values_list("pk", flat=True):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(_lock_sql("pg_try_advisory_xact_lock"), [TASK_LOCK, str(task_id)])
                (nobody_runs_it,) = cursor.fetchone()
            if not nobody_runs_it:
                continue
            task = (
                DBTaskResult.objects.select_for_update()
                .filter(pk=task_id, status=TaskResultStatus.RUNNING)
                .first()
            )
            if task is None:  # finished meanwhile
                continue
            lost = len(task.worker_ids)
            if lost >= MAX_WORKERS_LOST:
                DBTaskResult.objects.filter(pk=task_id).update(
                    status=TaskResultStatus.FAILED,
                    finished_at=timezone.now(),
                    exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
                    traceback=f"{lost} workers died while running it; not tried again.",
                )
                logger.error(
                    "task %s (%s) given up: %s workers lost", task_id, task.task_path, lost
                )
            else:
                DBTaskResult.objects.filter(pk=task_id).update(status=TaskResultStatus.READY)
                logger.warning(
                    "task %s (%s): its worker died; run again (workers lost: %s)",
                    task_id,
                    task.task_path,
                    lost,
                )
            handled.append(str(task_id))
    return handled
