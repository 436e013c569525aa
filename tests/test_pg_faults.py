"""Faults, measured (issue 11, part 6), on a private PostgreSQL cluster (tests/pg_cluster.py) that
the test may restart, never the machine's shared server:

- PostgreSQL restarted under load: gunicorn as `make serve` runs it, coordinators posting case
  messages from several connections while the cluster is restarted (`pg_ctl restart -m fast`).
  No response is a 500 or a traceback; what fails during the restart is the 503 page asking to
  try again, with Retry-After; afterwards the same gunicorn workers answer normally; every
  message whose post was answered as saved is in the database, and the audit chain holds.
- A worker killed (SIGKILL) in the middle of a task: an e-mail delivery stuck at a slow SMTP
  server. django-tasks leaves the task RUNNING for ever; the scheduler's reaper
  (samplan/reminders/reaper.py) runs it again once no worker holds it, and the e-mail arrives
  once.

Everything runs in its own processes, as an operator starts them (manage.py, gunicorn), against
the cluster; the test reads the result with SQL. `-s` prints the figures of the restart.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
from aiosmtpd.controller import Controller

from tests.servers import (
    production_environment,
    serve_commands,
    stop_group,
    wait_until_answering,
)
from tests.smtp_server import SmtpServer, _Collect

pytestmark = pytest.mark.needs_postgresql

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROXY = "127.0.0.2"  # the TLS proxy, as in tests/test_serve.py
CLIENTS = 6
TRY_AGAIN = "Try again in a moment"


# --- The operator's processes, against the cluster ---------------------------------------------


@dataclass
class Site:
    """A migrated database on the private cluster and the environment of Samplan's processes."""

    cluster: object
    database: str
    env: dict

    def manage(self, *arguments: str, timeout: float = 180) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=PROJECT_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"manage.py {' '.join(arguments)}:\n{done.stdout}{done.stderr}"
        return done.stdout

    def python(self, code: str) -> dict:
        """Run Django code in the site's own process; what it prints last, as JSON."""
        return json.loads(self.manage("shell", "-c", code).strip().splitlines()[-1])

    def sql(self, query: str, parameters=()) -> list[tuple]:
        with self.cluster.connect(self.database) as connection:
            return connection.execute(query, parameters).fetchall()

    def start(self, command: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
        with log.open("ab") as log_file:
            return subprocess.Popen(
                command,
                cwd=PROJECT_DIR,
                env=env or self.env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: found and ended with it
            )


def end(process: subprocess.Popen, how: int = signal.SIGTERM) -> None:
    """End a process group we started, and check that nothing of it is left."""
    assert not stop_group(process, how, timeout=20), f"{process.args} left processes behind"


def new_site(cluster, database: str, var_dir: Path) -> Site:
    """A new database on the cluster, migrated as `make serve` and `make worker` do."""
    env = production_environment(
        var_dir,
        DATABASE_URL=cluster.create_database(database),
        SAMPLAN_AUDIT_SINK="",
        DEBUG="false",
    )
    site = Site(cluster, database, env)
    site.manage("migrate", "--noinput", "--verbosity", "0")
    return site


@pytest.fixture(scope="module")
def site(pg_cluster, tmp_path_factory):
    return new_site(pg_cluster, "samplan", tmp_path_factory.mktemp("var"))


# --- PostgreSQL restarted under load -----------------------------------------------------------

SET_UP_CASE = """
import json
from django.test import Client
from samplan.accounts.factors import SESSION_KEY
from samplan.cases.models import State
from tests.factories import County, case_in_state
county = County()
case = case_in_state(county, State.MEETING_CALLED)
client = Client()
client.force_login(county.alice)
session = client.session
session[SESSION_KEY] = "totp"
session.save()
print(json.dumps({"case": case.pk, "session": session.session_key}))
"""


@dataclass
class Answer:
    client: int
    body: str
    sent_at: float
    answered_at: float
    status: int
    retry_after: str | None
    page: str


@dataclass
class Coordinator:
    """A signed-in coordinator posting case messages through the proxy, one after another."""

    number: int
    port: int
    case: int
    session: str
    answers: list[Answer] = field(default_factory=list)
    csrf: str = field(default_factory=lambda: secrets.token_hex(16))

    def post(self, n: int) -> Answer:
        body = f"Övning {self.number}-{n}"
        form = urlencode({"message-body": body, "csrfmiddlewaretoken": self.csrf}).encode()
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=60, source_address=(PROXY, 0)
        )
        sent_at = time.monotonic()
        try:
            connection.request(
                "POST",
                f"/sip/{self.case}/meddelanden/",
                body=form,
                headers={
                    "Host": "localhost",
                    "X-Forwarded-Proto": "https",
                    "X-Forwarded-For": f"192.0.2.{self.number + 10}",
                    "Origin": "https://localhost",
                    "Accept-Language": "en",
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": f"sessionid={self.session}; csrftoken={self.csrf}",
                },
            )
            response = connection.getresponse()
            answer = Answer(
                self.number,
                body,
                sent_at,
                time.monotonic(),
                response.status,
                response.headers["Retry-After"],
                response.read().decode(errors="replace"),
            )
        finally:
            connection.close()
        self.answers.append(answer)
        return answer

    def keep_posting(self, stop: threading.Event) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            self.post(n)


def worker_pids(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(pid) for pid in children}


@pytest.fixture(scope="module")
def served(site, tmp_path_factory):
    """gunicorn as `make serve` starts it (checks, migrate, collectstatic, gunicorn.conf.py),
    HTTPS behind the proxy, DEBUG off, against the cluster; its log."""
    env = site.env | {
        "HTTPS": "true",
        "SAMPLAN_TRUSTED_PROXIES": PROXY,
        "ALLOWED_HOSTS": "localhost",
        "GUNICORN_WORKERS": "3",
    }
    from tests.servers import free_port

    port = free_port()
    *steps, serve = serve_commands(port, env)
    for step in steps:
        done = subprocess.run(["bash", "-c", step], cwd=PROJECT_DIR, env=env, capture_output=True)
        assert done.returncode == 0, f"{step}\n{done.stdout.decode()}{done.stderr.decode()}"
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    process = site.start(["bash", "-c", serve], log, env)
    try:
        wait_until_answering(process, port, log)
        yield port, process, log
    finally:
        end(process)


def test_a_restart_under_load_is_503s_that_pass_and_loses_no_acknowledged_write(site, served):
    port, gunicorn, log = served
    setup = site.python(SET_UP_CASE)
    coordinators = [
        Coordinator(number, port, setup["case"], setup["session"]) for number in range(CLIENTS)
    ]
    assert coordinators[0].post(0).status == 302, coordinators[0].answers[-1].page[:2000]
    workers_before = worker_pids(gunicorn.pid)

    stop = threading.Event()
    threads = [
        threading.Thread(target=coordinator.keep_posting, args=(stop,), daemon=True)
        for coordinator in coordinators
    ]
    for thread in threads:
        thread.start()
    time.sleep(2)
    restart_began = time.monotonic()
    site.cluster.restart("fast")
    restart_took = time.monotonic() - restart_began
    time.sleep(3)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)

    answers = sorted(
        (answer for coordinator in coordinators for answer in coordinator.answers),
        key=lambda answer: answer.sent_at,
    )
    by_status = {status: [a for a in answers if a.status == status] for status in {302, 503}}
    others = [a for a in answers if a.status not in by_status]
    assert not others, [(a.status, a.page[:500]) for a in others]
    assert by_status[503], "no request met the restart: the drill proved nothing"
    for answer in by_status[503]:
        assert TRY_AGAIN in answer.page
        assert answer.retry_after == "10"
        assert "Traceback" not in answer.page
    # Recovered by itself: every coordinator is saving again, through the same workers.
    for coordinator in coordinators:
        assert coordinator.post(10_000).status == 302
    assert worker_pids(gunicorn.pid) == workers_before
    assert gunicorn.poll() is None

    saved = {body for (body,) in site.sql("SELECT body FROM cases_casemessage")}
    acknowledged = {a.body for a in by_status[302]} | {c.answers[-1].body for c in coordinators}
    assert acknowledged <= saved
    site.manage("audit_verify")  # exit 1 names a broken row

    failed = sorted(answer.answered_at - restart_began for answer in by_status[503])
    back = min(a.answered_at for a in by_status[302] if a.sent_at > by_status[503][-1].sent_at)
    print(
        f"\nrestart drill: {len(answers)} posts from {CLIENTS} connections, "
        f"{len(by_status[302])} saved, {len(by_status[503])} answered 503; "
        f"pg_ctl restart -m fast took {restart_took:.2f} s; the 503s were answered from "
        f"{failed[0]:+.2f} s to {failed[-1]:+.2f} s after it began; the first save after them "
        f"at {back - restart_began:+.2f} s"
    )


# --- A worker killed in the middle of a task ---------------------------------------------------


class _SlowOnce(_Collect):
    """The first delivery hangs at RCPT (the message not yet accepted); later ones are quick."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if not self.server.stalled.is_set():
            self.server.stalled.set()
            await asyncio.sleep(60)
        envelope.rcpt_tos.append(address)
        return "250 OK"


class SlowSmtpServer(SmtpServer):
    def __init__(self):
        super().__init__()
        self.stalled = threading.Event()

    def start(self) -> None:
        self.controller = Controller(_SlowOnce(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()


QUEUE_MAIL = """
import json
from samplan.mail.outbox import queue_mail
queue_mail(key="drill-killed-worker", to="enhet@example.org", subject="Påminnelse", body="Hej")
print(json.dumps({}))
"""


def task_rows(site, task: str) -> list[tuple]:
    return site.sql(
        "SELECT status, worker_ids, return_value FROM django_tasks_database_dbtaskresult "
        "WHERE task_path = %s ORDER BY enqueued_at",
        [task],
    )


def wait_for(condition, seconds: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.2)


DELIVER = "samplan.mail.tasks.deliver_mail"
SWEEP = "samplan.mail.tasks.send_due_mail"


def test_a_worker_killed_midway_through_a_delivery_is_replaced_and_the_mail_arrives_once(
    pg_cluster, tmp_path
):
    site = new_site(pg_cluster, "worker", tmp_path)
    with SlowSmtpServer() as smtp:
        env = site.env | {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp.port)}
        worker_command = [
            sys.executable, "manage.py", "db_worker", "--interval", "0.2", "--no-startup-delay",
        ]  # fmt: skip
        site.python(QUEUE_MAIL)
        first = site.start(worker_command, tmp_path / "worker1.log", env)
        try:
            assert smtp.stalled.wait(60), (tmp_path / "worker1.log").read_text()
        finally:
            end(first, signal.SIGKILL)

        # The library's view: the task is RUNNING for ever; the outbox row is unsent and free.
        [(status, workers, _)] = task_rows(site, DELIVER)
        assert status == "RUNNING" and len(workers) == 1
        assert site.sql("SELECT sent_at FROM mail_outgoingmail") == [(None,)]
        second = site.start(worker_command, tmp_path / "worker2.log", env)
        try:
            time.sleep(2)
            assert task_rows(site, DELIVER)[0][0] == "RUNNING"
            assert smtp.messages == []

            # The scheduler's reaper finds no worker holding it and sets it ready again.
            reaped = site.manage("scheduler", "--once")
            assert "lost its worker; run again" in reaped
            wait_for(lambda: task_rows(site, DELIVER)[0][0] == "SUCCESSFUL", what="the rerun")
            [(status, workers, returned)] = task_rows(site, DELIVER)
            assert len(workers) == 2 and returned == "sent"
            # The mail sweep the scheduler enqueued besides finds nothing left to send.
            wait_for(
                lambda: [row[0::2] for row in task_rows(site, SWEEP)] == [("SUCCESSFUL", 0)],
                what="the mail sweep",
            )
            assert "lost its worker" not in site.manage("scheduler", "--once")
        finally:
            end(second)

    assert len(smtp.messages) == 1
    assert smtp.recipients == ["enhet@example.org"]
    [(sent_at,)] = site.sql("SELECT sent_at FROM mail_outgoingmail")
    assert sent_at is not None
