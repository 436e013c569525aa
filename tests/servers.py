"""Real servers started by the tests (gunicorn as `make serve` runs it, nginx, PostgreSQL): a
free port, what `make serve` runs, waiting until it answers, and ending a process group with
nothing of it left behind. Used by tests/test_serve.py, test_load_balancer.py, test_pg_faults.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answering(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer within 30 s:\n{log.read_text()}")


def production_environment(var_dir: Path, **settings: str) -> dict:
    """The environment a server of ours runs in as production would: this test run's own
    (tests/conftest.py allows async-unsafe calls, which the deploy check refuses) and its
    database left out, local state under `var_dir`, then `settings` (environment variables)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "MIGRATE_DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return env | {"SAMPLAN_VAR_DIR": str(var_dir)} | settings


def process_group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def serve_commands(port: int, env: dict) -> list[str]:
    """What `make serve` runs, as `make -n` prints it: the checks, migrate, collectstatic, and
    last gunicorn (the install step, when it is due, is left out)."""
    printed = subprocess.run(
        ["make", "--no-print-directory", "-n", "serve", "HOST=127.0.0.1", f"PORT={port}"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    commands = [
        line for line in printed.replace("\\\n", " ").splitlines() if "SAMPLAN_SERVE_STATIC" in line
    ]
    assert "gunicorn" in commands[-1], printed
    return commands


def stop_group(process: subprocess.Popen, how: int = signal.SIGTERM, timeout: int = 15) -> bool:
    """End a process started with `start_new_session=True` and its whole group (gunicorn's
    workers); True when something of it was still running after all and had to be killed."""
    if process_group_alive(process.pid):
        os.killpg(process.pid, how)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    deadline = time.monotonic() + 5
    while process_group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    left_behind = process_group_alive(process.pid)
    if left_behind:
        os.killpg(process.pid, signal.SIGKILL)
    return left_behind
