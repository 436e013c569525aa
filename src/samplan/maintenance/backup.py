"""Backup and restore of the whole database (`make backup`, `make restore FILE=…`).

PostgreSQL: `pg_dump --format=custom` of a snapshot exported by our own connection, so the row
counts printed are those of the dump; `pg_restore --single-transaction --exit-on-error` into a
database with no tables, so a damaged file restores nothing. The dump carries the audit log's
append-only triggers, the chain head function, owners and grants (`manage.py db_roles`) with the
rows: restore as the migration role or a superuser, in a cluster where those roles exist.

SQLite: the backup API copies a consistent snapshot while the app keeps writing; the copy is
gzipped (its CRC finds a damaged file) and checked (`PRAGMA integrity_check`) before a restore
writes anything, and written in one step.

A restore never overwrites: a database that has tables is refused. The audit log is append-only,
so "replace the database" would mean deleting the log; restore into a new database instead and
point DATABASE_URL at it.
"""

from __future__ import annotations

import gzip
import os
import shutil
import sqlite3
import subprocess
import tempfile
import zlib
from pathlib import Path

from django.db import connections

GZIP_MAGIC = b"\x1f\x8b"
PGDUMP_MAGIC = b"PGDMP"


class BackupRefused(Exception):
    """The backup or restore did not happen; the message says why and what to do."""


# --- What a database holds ------------------------------------------------------------------


def row_counts(alias: str = "default") -> dict[str, int]:
    """Rows per table of the database as this connection sees it (its snapshot, if any)."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        return {table: _count(cursor, connection, table) for table in _tables(cursor, connection)}


def _tables(cursor, connection) -> list[str]:
    if connection.vendor == "postgresql":
        # Tables and partitioned tables, not their partitions (counted through the parent).
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
            "AND NOT c.relispartition ORDER BY c.relname"
        )
    else:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    return [row[0] for row in cursor.fetchall()]


def _count(cursor, connection, table: str) -> int:
    cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
    return cursor.fetchone()[0]


def _sqlite_counts(database: sqlite3.Connection) -> dict[str, int]:
    tables = [
        row[0]
        for row in database.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    return {
        table: database.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
        for table in tables
    }


# --- Backup ---------------------------------------------------------------------------------


def backup(out: Path, alias: str = "default") -> dict[str, int]:
    """Write the database to `out` (mode 0600, never over an existing file); the row counts
    written, per table."""
    out = Path(out)
    if out.exists():
        raise BackupRefused(f"{out} exists: a backup never overwrites a file; choose another name.")
    connection = connections[alias]
    partial = out.with_name(out.name + ".partial")
    try:
        with _private(partial) as file:
            if connection.vendor == "postgresql":
                counts = _pg_dump(connection, file)
            elif connection.vendor == "sqlite":
                counts = _sqlite_backup(connection, file, out.parent)
            else:
                raise BackupRefused(f"No backup for the {connection.vendor} database.")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return counts


class _private:
    """A new file only its owner may read (0600 from its creation, whatever the umask)."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.file = os.fdopen(descriptor, "wb")
        return self.file

    def __exit__(self, *exc):
        self.file.close()


def _pg_environment(settings_dict: dict) -> dict[str, str]:
    # The password travels in the environment, never on a command line others can list.
    environment = dict(os.environ)
    for variable, key in (
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
        ("PGDATABASE", "NAME"),
    ):
        if settings_dict.get(key):
            environment[variable] = str(settings_dict[key])
    return environment


def _pg_dump(connection, file) -> dict[str, int]:
    # A snapshot of our own, handed to pg_dump: the counts are exactly the rows it dumps.
    connection.ensure_connection()
    if connection.in_atomic_block:
        raise BackupRefused("A backup runs outside a transaction.")
    raw = connection.connection
    with raw.cursor() as cursor:
        raw.autocommit = False
        try:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            counts = {
                table: _count(cursor, connection, table) for table in _tables(cursor, connection)
            }
            result = subprocess.run(
                ["pg_dump", "--format=custom", f"--snapshot={snapshot}"],
                stdout=file,
                stderr=subprocess.PIPE,
                env=_pg_environment(connection.settings_dict),
                check=False,
            )
        finally:
            raw.rollback()
            raw.autocommit = True
    if result.returncode != 0:
        raise BackupRefused(f"pg_dump failed: {result.stderr.decode(errors='replace').strip()}")
    return counts


def _sqlite_backup(connection, file, directory: Path) -> dict[str, int]:
    connection.ensure_connection()
    with tempfile.TemporaryDirectory(dir=directory, prefix=".samplan-backup-") as scratch:
        copy_path = Path(scratch) / "copy.sqlite3"
        copy = sqlite3.connect(copy_path)
        try:
            # Consistent while the app writes: the API restarts a copy that a writer interrupts.
            connection.connection.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
            counts = _sqlite_counts(copy)
        finally:
            copy.close()
        with open(copy_path, "rb") as source, gzip.GzipFile(fileobj=file, mode="wb") as packed:
            shutil.copyfileobj(source, packed, 1 << 20)
    return counts


# --- Restore --------------------------------------------------------------------------------


def restore(path: Path, alias: str = "default") -> dict[str, int]:
    """Restore the backup at `path` into the database `alias`, which must have no tables; the
    row counts restored, per table. Nothing is written unless all of it is."""
    path = Path(path)
    if not path.is_file():
        raise BackupRefused(f"{path}: no such backup file.")
    connection = connections[alias]
    with connection.cursor() as cursor:
        tables = _tables(cursor, connection)
    if tables:
        raise BackupRefused(
            f"The database {connection.settings_dict['NAME']} is not empty ({len(tables)} tables, "
            f"e.g. {tables[0]}): a restore never overwrites a database (its audit log is "
            "append-only). Create a new, empty database and restore into that."
        )
    if connection.vendor == "postgresql":
        _pg_restore(connection, path)
    elif connection.vendor == "sqlite":
        _sqlite_restore(connection, path)
    else:
        raise BackupRefused(f"No restore for the {connection.vendor} database.")
    connection.close()
    return row_counts(alias)


def _pg_restore(connection, path: Path) -> None:
    with open(path, "rb") as file:
        magic = file.read(len(PGDUMP_MAGIC))
    if magic != PGDUMP_MAGIC:
        raise BackupRefused(
            f"{path} is not a PostgreSQL backup (pg_dump custom format): nothing restored."
        )
    connection.close()
    result = subprocess.run(
        [
            "pg_restore",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            connection.settings_dict["NAME"],
            str(path),
        ],
        capture_output=True,
        env=_pg_environment(connection.settings_dict),
        check=False,
    )
    if result.returncode != 0:
        said = result.stderr.decode(errors="replace").strip()
        raise BackupRefused(
            f"{path} could not be restored (damaged, or not a Samplan backup?), nothing was "
            f"written: {said or f'pg_restore stopped with exit code {result.returncode}'}"
        )


def _sqlite_restore(connection, path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix=".samplan-restore-") as scratch:
        unpacked = Path(scratch) / "backup.sqlite3"
        try:
            with gzip.open(path, "rb") as packed, open(unpacked, "wb") as plain:
                shutil.copyfileobj(packed, plain, 1 << 20)
        except (OSError, EOFError, zlib.error) as error:
            raise BackupRefused(
                f"{path} is damaged or not a Samplan SQLite backup ({error}): nothing restored."
            ) from error
        source = sqlite3.connect(f"file:{unpacked}?mode=ro", uri=True)
        try:
            problems = [row[0] for row in source.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupRefused(
                    f"{path} is damaged ({'; '.join(problems[:3])}): nothing restored."
                )
            connection.ensure_connection()
            # One step (pages=-1): the destination is written in a single transaction.
            source.backup(connection.connection, pages=-1)
        except sqlite3.DatabaseError as error:
            raise BackupRefused(f"{path} is damaged ({error}): nothing restored.") from error
        finally:
            source.close()
