"""The backup drill: a county with SIPs in every state is backed up (`manage.py backup`) and
restored (`manage.py restore`, in its own process as an operator runs it) into a fresh database:
every table holds the same rows, and the restored audit log's hash chain holds. A damaged backup
restores nothing; a database that has data is never restored over. On PostgreSQL the restored
database keeps the audit log's append-only triggers, owners and grants (`manage.py db_roles`)."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from samplan.access.management.commands.db_roles import role_statements
from samplan.access.models import AuditEvent
from samplan.cases.models import SipCase, State
from samplan.maintenance.backup import row_counts
from tests.factories import case_in_state

PROJECT = Path(__file__).resolve().parent.parent
STATES = [
    State.INITIATED,
    State.CONSENTED,
    State.PREPARATION,
    State.MEETING_CALLED,
    State.PLAN_ESTABLISHED,
    State.FOLLOW_UP,
    State.CLOSED,
]
AUDIT_TRIGGERS = {"access_auditevent_no_change", "access_auditevent_no_truncate"}

pytestmark = [
    pytest.mark.django_db(transaction=True),  # pg_dump sees committed rows only
    pytest.mark.usefixtures("audit_log_flushable"),
]


# --- Helpers: the operator's commands, in their own process ---------------------------------


def manage(database_url: str, *arguments: str) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SAMPLAN_AUDIT_KEY": settings.SAMPLAN_AUDIT_KEY,
        "SAMPLAN_AUDIT_SINK": "",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def a_county_in_every_state(county) -> None:
    for state in STATES:
        case_in_state(county, state)
    assert set(SipCase.objects.values_list("state", flat=True)) == set(STATES)


def backed_up(tmp_path: Path, name: str) -> Path:
    out = tmp_path / name
    call_command("backup", "--out", str(out), stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert out.stat().st_mode & 0o777 == 0o600
    return out


def damaged_copies(backup: Path, tmp_path: Path) -> list[Path]:
    data = backup.read_bytes()
    cut = tmp_path / f"cut-{backup.name}"
    cut.write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    for index in range(len(data) // 2, len(data) // 2 + 64):
        flipped[index] ^= 0x55
    changed = tmp_path / f"flipped-{backup.name}"
    changed.write_bytes(bytes(flipped))
    return [cut, changed]


def source_tables() -> dict[str, list[tuple]]:
    with connection.cursor() as cursor:
        return {table: _rows(cursor, table) for table in row_counts()}


def _rows(cursor, table: str) -> list[tuple]:
    cursor.execute(f'SELECT * FROM "{table}"')
    return sorted(cursor.fetchall(), key=repr)


def assert_same_rows(restored: dict[str, list[tuple]]) -> None:
    source = source_tables()
    assert sorted(restored) == sorted(source)
    for table, rows in source.items():
        assert len(restored[table]) == len(rows), table
        assert restored[table] == rows, table
    assert len(source["access_auditevent"]) == AuditEvent.objects.count() > 30
    assert len(source["cases_sipcase"]) == len(STATES)


def assert_chain_holds(database_url: str) -> None:
    verified = manage(database_url, "audit_verify")
    assert verified.returncode == 0, verified.stderr
    assert f"Audit log intact: {AuditEvent.objects.count()} rows checked" in verified.stdout


# --- A fresh database of the same kind: a new file, or a new database on the same server ----


def database_url(name: str) -> str:
    values = connection.settings_dict
    password = f":{values['PASSWORD']}" if values.get("PASSWORD") else ""
    return (
        f"postgres://{values['USER']}{password}@{values['HOST'] or '127.0.0.1'}:"
        f"{values['PORT'] or 5432}/{name}"
    )


@pytest.fixture
def fresh_database(tmp_path):
    """Makes empty databases (their DATABASE_URL); PostgreSQL's are dropped after the test."""
    made = []

    def make() -> str:
        name = f"samplan_drill_{uuid.uuid4().hex[:12]}"
        if connection.vendor == "sqlite":
            return f"sqlite:///{tmp_path / name}.sqlite3"
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
        made.append(name)
        return database_url(name)

    def drop_all() -> None:
        with connection.cursor() as cursor:
            while made:
                cursor.execute(f"DROP DATABASE IF EXISTS {made.pop()} WITH (FORCE)")

    make.drop_all = drop_all
    yield make
    drop_all()


class Opened:
    """A plain DB-API connection to a restored database, beside Django's own."""

    def __init__(self, url: str):
        if url.startswith("sqlite:///"):
            # Django's converters (registered process-wide) read values as Django's connection.
            self.database = sqlite3.connect(
                url.removeprefix("sqlite:///"),
                detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES,
            )
            self.tables_query = (
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        else:
            self.database = psycopg.connect(url)
            self.tables_query = (
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
                "AND NOT c.relispartition"
            )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.database.close()

    def tables(self) -> dict[str, list[tuple]]:
        cursor = self.database.cursor()
        cursor.execute(self.tables_query)
        return {table: _rows(cursor, table) for (table,) in cursor.fetchall()}


# --- The drill, on the database the suite runs on -------------------------------------------


def test_backup_restores_into_a_fresh_database_with_every_row_and_an_intact_chain(
    county, tmp_path, fresh_database
):
    a_county_in_every_state(county)
    backup = backed_up(tmp_path, "samplan.backup")
    target = fresh_database()

    restored = manage(target, "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert re.search(rf"^access_auditevent +{AuditEvent.objects.count()}$", restored.stdout, re.M)

    with Opened(target) as copy:
        assert_same_rows(copy.tables())
        # The append-only triggers came along (SQLite's and PostgreSQL's).
        with pytest.raises(Exception, match="append-only"):
            copy.database.cursor().execute("DELETE FROM access_auditevent")
    assert_chain_holds(target)


def test_damaged_backup_is_refused_and_nothing_is_restored(county, tmp_path, fresh_database):
    case_in_state(county, State.CONSENTED)
    backup = backed_up(tmp_path, "samplan.backup")
    not_a_backup = tmp_path / "not-a-backup"
    not_a_backup.write_bytes(b"PK\x03\x04 a zip file, say")
    for damaged in [*damaged_copies(backup, tmp_path), not_a_backup]:
        target = fresh_database()
        refused = manage(target, "restore", str(damaged))
        assert refused.returncode != 0, damaged
        assert "CommandError" in refused.stderr and "Traceback" not in refused.stderr
        assert "nothing was written" in refused.stderr or "nothing restored" in refused.stderr
        with Opened(target) as copy:
            assert copy.tables() == {}, damaged


def test_restore_over_a_database_with_data_is_refused(county, tmp_path):
    case_in_state(county, State.CONSENTED)
    backup = backed_up(tmp_path, "samplan.backup")
    before = row_counts()
    with pytest.raises(CommandError, match="is not empty .* never overwrites"):
        call_command("restore", str(backup))
    assert row_counts() == before


def test_backup_never_overwrites_a_file(county, tmp_path):
    existing = tmp_path / "samplan.backup"
    existing.write_bytes(b"an earlier backup")
    with pytest.raises(CommandError, match="never overwrites"):
        call_command("backup", "--out", str(existing))
    assert existing.read_bytes() == b"an earlier backup"


# --- PostgreSQL: owners, grants and triggers ------------------------------------------------


@pytest.fixture
def split_roles(fresh_database):
    """The app role and the migration role of `manage.py db_roles`, applied to the test
    database (roles are cluster-wide: unique throwaway names), taken back afterwards, once the
    restored databases (which hold objects of the roles) are dropped."""
    suffix = uuid.uuid4().hex[:12]
    app, owner = f"samplan_drill_app_{suffix}", f"samplan_drill_owner_{suffix}"
    with connection.cursor() as cursor:
        for statement in role_statements(app, owner):
            cursor.execute(statement)
    yield app, owner
    fresh_database.drop_all()
    with connection.cursor() as cursor:
        cursor.execute(f"REASSIGN OWNED BY {owner} TO CURRENT_USER")
        cursor.execute(f"DROP OWNED BY {app}, {owner}")
        cursor.execute(f"DROP ROLE {app}")
        cursor.execute(f"DROP ROLE {owner}")


# Owners and grants of every table and sequence, and the audit log's triggers.
RIGHTS = (
    "SELECT c.relname, pg_get_userbyid(c.relowner), c.relacl::text FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
    "AND c.relkind IN ('r', 'p', 'S') ORDER BY c.relname"
)
TRIGGERS = (
    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'access_auditevent'::regclass "
    "AND NOT tgisinternal AND tgenabled = 'O' ORDER BY tgname"
)


def fetch(cursor, query: str) -> list[tuple]:
    cursor.execute(query)
    return cursor.fetchall()


@pytest.mark.needs_postgresql
def test_postgresql_restore_keeps_the_owners_grants_and_append_only_triggers(
    county, tmp_path, fresh_database, split_roles
):
    app, owner = split_roles
    a_county_in_every_state(county)
    backup = backed_up(tmp_path, "samplan.pgdump")
    target = fresh_database()

    restored = manage(target, "restore", str(backup))
    assert restored.returncode == 0, restored.stderr

    with connection.cursor() as cursor:
        rights, triggers = fetch(cursor, RIGHTS), fetch(cursor, TRIGGERS)
    assert [name for (name,) in triggers] == sorted(AUDIT_TRIGGERS)
    assert ("access_auditevent", owner, f"{{{owner}=arwdDxt/{owner},{app}=ar/{owner}}}") in rights
    with Opened(target) as copy, copy.database.cursor() as cursor:
        assert_same_rows(copy.tables())
        assert fetch(cursor, RIGHTS) == rights
        assert fetch(cursor, TRIGGERS) == triggers
        # The app role may append to the restored log, and do nothing else with it.
        cursor.execute(f"SET ROLE {app}")
        cursor.execute("SELECT count(*) FROM access_auditevent")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            cursor.execute("DELETE FROM access_auditevent")
        copy.database.rollback()  # which undoes SET ROLE too
        cursor.execute(f"SET ROLE {app}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="owner"):
            cursor.execute("ALTER TABLE access_auditevent DISABLE TRIGGER USER")
        copy.database.rollback()
    assert_chain_holds(target)
