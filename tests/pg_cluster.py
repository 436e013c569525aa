"""A private PostgreSQL cluster for the tests that stop, restart or replicate a database: never
the machine's own server (127.0.0.1:5432), which other test runs share.

`PgCluster` is Debian's binaries (/usr/lib/postgresql/15/bin) on a free port in a temporary
directory, with trust authentication on 127.0.0.1 only. initdb refuses root, so as root (here
and in CI) every binary runs as the `postgres` OS user, who owns the directory.

    with PgCluster() as cluster:             # initdb + start; stop and remove at the end
        cluster.create_database("samplan")
        os.environ["DATABASE_URL"] = cluster.url("samplan")
        cluster.restart()                    # pg_ctl restart -m fast
        cluster.stop(); cluster.start()

`pg_cluster` (a module fixture) gives one started cluster per test module. A streaming replica
is another PgCluster made with `PgCluster(base_backup_of=primary)` once a test needs it: the
settings are given as `PgCluster(settings={...})` and written to postgresql.conf.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from tests.servers import free_port, process_alive

BIN = Path("/usr/lib/postgresql/15/bin")
OS_USER = "postgres"
START_TIMEOUT = 60  # seconds, for pg_ctl -w on a busy machine


class PgCluster:
    """One PostgreSQL cluster of our own: its directory, port, and the server's life."""

    def __init__(self, *, port: int | None = None, settings: dict[str, str] | None = None):
        self.port = port or free_port()
        self.settings = settings or {}
        self._as_root = os.geteuid() == 0
        # Under /tmp, not pytest's tmp_path: the postgres user must reach it, and pytest's
        # directories are root's alone (0700).
        self.directory = Path(tempfile.mkdtemp(prefix="samplan-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgresql.log"
        if self._as_root:
            owner = pwd.getpwnam(OS_USER)
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)

    # --- Running the binaries -------------------------------------------------------------------

    def _run(self, *command: str, timeout: float = START_TIMEOUT) -> str:
        prefix = ["runuser", "-u", OS_USER, "--"] if self._as_root else []
        done = subprocess.run(
            [*prefix, *command],
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(command)}: {done.stdout}{done.stderr}\n{log}")
        return done.stdout

    def _pg_ctl(self, *arguments: str) -> str:
        return self._run(
            str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
            "-t", str(START_TIMEOUT), *arguments,
        )  # fmt: skip

    def init(self) -> None:
        self._run(
            str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions",
        )  # fmt: skip
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            # Its socket in its own directory: nothing of the machine's server is touched.
            "unix_socket_directories": f"'{self.directory}'",
            **self.settings,
        }
        with (self.data / "postgresql.conf").open("a") as file:
            file.writelines(f"{name} = {value}\n" for name, value in conf.items())
        # Trust on loopback only; initdb's own lines stay for the local socket.
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host all all 127.0.0.1/32 trust\n"
            "local replication all trust\n"
            "host replication all 127.0.0.1/32 trust\n"
        )

    def start(self) -> None:
        self._pg_ctl("start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast") -> None:
        self._pg_ctl("restart", "-m", mode)

    @property
    def running(self) -> bool:
        return self.postmaster_pid() is not None

    def postmaster_pid(self) -> int | None:
        """The server's process id while it runs (its postmaster.pid names a live process)."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    # --- Talking to it --------------------------------------------------------------------------

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres", **options) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database, **options
        )

    def create_database(self, name: str) -> str:
        with self.connect(autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    # --- Life -----------------------------------------------------------------------------------

    def remove(self) -> None:
        """Stop the server if it runs (immediate: nothing to keep) and delete its directory;
        RuntimeError if a process of it is left."""
        pid = self.postmaster_pid()
        if pid is not None:
            self.stop("immediate")
            deadline = time.monotonic() + 10
            while self._alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        shutil.rmtree(self.directory, ignore_errors=True)
        if pid is not None and self._alive(pid):
            raise RuntimeError(f"PostgreSQL {pid} of {self.directory} is still running")

    @staticmethod
    def _alive(pid: int) -> bool:
        return process_alive(pid)

    def __enter__(self) -> PgCluster:
        try:
            self.init()
            self.start()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


@pytest.fixture(scope="module")
def pg_cluster():
    """A started private cluster for this test module, removed (no process left) at its end."""
    with PgCluster() as cluster:
        yield cluster
