"""Fixtures for the browser tests: a Swedish-speaking Chromium, and a live server whose
database can be emptied after each test although the audit log is append-only."""

from __future__ import annotations

import pytest
from django.db import connection

AUDIT_TABLE = "access_auditevent"


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # Staff browsers in Sweden ask for Swedish; the site's default is Swedish as well.
    return {**browser_context_args, "locale": "sv-SE", "timezone_id": "Europe/Stockholm"}


@pytest.fixture(autouse=True)
def _audit_log_flushable(transactional_db):
    """A live-server test runs outside a transaction, so Django empties every table afterwards.
    The audit log refuses DELETE and TRUNCATE by trigger; this lets the flush through and leaves
    the triggers in force for every other test.

    Runs its teardown just before the flush (it depends on `transactional_db`, whose teardown
    flushes). SQLite: drop the triggers, empty the table, put the same triggers back; the flush
    then deletes no audit row. PostgreSQL: `session_replication_role = replica` keeps ordinary
    triggers from firing on this connection during the flush; Django closes the connection
    right after a transactional test, which ends the setting."""
    yield
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [AUDIT_TABLE],
            )
            triggers = cursor.fetchall()
            for name, _ in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
            cursor.execute(f"DELETE FROM {AUDIT_TABLE}")
            for _, sql in triggers:
                cursor.execute(sql)
        elif connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
