"""Two app servers behind a load balancer, as docs/deploy.md ("Two app servers") runs them: two
gunicorns started as `make serve` starts them, each on its own loopback port, one database
between them (a SQLite file; a fresh PostgreSQL database when the suite runs on PostgreSQL), and
Debian's nginx in front, speaking TLS, with deploy/nginx-samplan.conf itself.

Loopback plays three machines: the person's browser connects from 127.0.0.3, nginx reaches the
app servers from 127.0.0.1, the one trusted proxy (SAMPLAN_TRUSTED_PROXIES).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from django_otp.oath import TOTP

from tests.servers import (
    free_port,
    production_environment,
    serve_commands,
    stop_group,
    wait_until_answering,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
SITE_CONFIG = PROJECT_DIR / "deploy" / "nginx-samplan.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HOST = "sip.region.se"
BROWSER = "127.0.0.3"
BALANCER = "127.0.0.1"
FORGED = "198.51.100.7"  # what a client may claim in X-Forwarded-For: never believed
PASSWORD = "correct horse battery"
START = "/start/"

# One xdist worker runs the whole module (`--dist loadgroup`), so the servers start once.
pytestmark = pytest.mark.xdist_group("load_balancer")

# Made in the shared database before the app servers take requests: a coordinator with a
# password and a confirmed authenticator, whose key comes back to compute the codes.
MAKE_STAFF_MEMBER = """
import json
from samplan.directory.models import Organisation
from tests.factories import OrganisationFactory, UnitFactory, staff
from tests.two_factor import authenticator

region = OrganisationFactory(name="Region Test", kind=Organisation.Kind.REGION)
alice = staff(UnitFactory(organisation=region, name="Vårdcentral Centrum"), username="alice")
device = authenticator(alice)
print(json.dumps({"key": device.key, "step": device.step, "t0": device.t0,
                  "digits": device.digits}))
"""

SIGN_IN_ADDRESSES = """
import json
from samplan.access.models import AuditEvent
print(json.dumps(sorted(set(AuditEvent.objects.filter(username="alice").values_list(
    "what", "ip_address")))))
"""


@dataclass
class AppServer:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    def requests_served(self, method: str, path: str) -> int:
        """From gunicorn's access log (gunicorn.conf.py's format: `host "GET /path HTTP/1.0"`)."""
        return self.log.read_text().count(f'"{method} {path} ')


@dataclass
class Cluster:
    port: int
    plain_port: int
    app_servers: list[AppServer]
    nginx_log: Path
    env: dict
    staff_member: dict  # alice's authenticator: key, step, t0, digits


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    text: str


@dataclass
class Browser:
    """A person's browser: its cookies, each request on a new TLS connection from BROWSER."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict | None = None) -> Response:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self.port, timeout=15, context=context, source_address=(BROWSER, 0)
        )
        headers = {"Host": HOST, "Accept-Language": "en", "X-Forwarded-For": FORGED}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers |= {
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": f"https://{HOST}",
            }
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return Response(response.status, response.headers, text)

    def submit(self, path: str, fields: dict) -> Response:
        """Fetches the form's page and posts it, with the page's CSRF token."""
        page = self.request("GET", path)
        assert page.status == 200, (path, page.status)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return self.request("POST", path, {"csrfmiddlewaretoken": token, **fields})

    def signed_in_to_the_work(self) -> bool:
        page = self.request("GET", START)
        return page.status == 200 and 'action="/konto/logga-ut/"' in page.text


# --- Starting and stopping ---------------------------------------------------------------------


def _run(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("wb") as output:
        return subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: its workers are found and ended
        )


def _manage_py_shell(code: str, env: dict) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _site_config(directory: Path, ports: dict[str, int]) -> str:
    """deploy/nginx-samplan.conf with loopback addresses and the test's own certificate."""
    replacements = {
        "10.0.0.11:8000": f"127.0.0.1:{ports['app1']}",
        "10.0.0.12:8000": f"127.0.0.1:{ports['app2']}",
        "listen 80;": f"listen 127.0.0.1:{ports['plain']};",
        "listen 443 ssl": f"listen 127.0.0.1:{ports['tls']} ssl",
        "/etc/ssl/certs/sip.region.se.pem": str(directory / "certificate.pem"),
        "/etc/ssl/private/sip.region.se.key": str(directory / "key.pem"),
    }
    text = SITE_CONFIG.read_text()
    for production, here in replacements.items():
        assert text.count(production) == 1, f"{production!r} is not once in {SITE_CONFIG}"
        text = text.replace(production, here)
    return text


def _start_nginx(directory: Path, ports: dict[str, int]) -> tuple[subprocess.Popen, Path]:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", f"/CN={HOST}", "-keyout", directory / "key.pem"]
        + ["-out", directory / "certificate.pem"],
        check=True,
        capture_output=True,
    )
    (directory / "samplan.conf").write_text(_site_config(directory, ports))
    # What Debian's /etc/nginx/nginx.conf gives the site, in the foreground and in the test's
    # directory; one worker process, so that round robin is one sequence.
    (directory / "nginx.conf").write_text(
        f"""
daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {directory}/samplan.conf;
}}
"""
    )
    # `make test` installs it first (scripts/system-deps): missing, the test fails and says so.
    assert os.path.exists(NGINX), "nginx is not installed: run `make system-deps`"
    command = [NGINX, "-p", str(directory), "-e", "stderr", "-c", str(directory / "nginx.conf")]
    if os.geteuid() == 0:
        # As root, nginx's workers would run as nobody, who cannot enter the test's directory.
        command += ["-g", "user root;"]
    process = _run(command, {"PATH": os.environ["PATH"]}, directory / "stderr.log")
    wait_until_answering(process, ports["tls"], directory / "stderr.log")
    return process, directory / "error.log"


def _environment(var_dir: Path, database_url: str | None) -> dict:
    env = production_environment(
        var_dir,
        HTTPS="true",
        SAMPLAN_TRUSTED_PROXIES=BALANCER,
        ALLOWED_HOSTS=HOST,
        GUNICORN_WORKERS="2",
        # The same on every app server (docs/deploy.md), given as production gives them.
        SECRET_KEY=secrets.token_urlsafe(50),
        SAMPLAN_AUDIT_KEY=secrets.token_hex(32),
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


@pytest.fixture(scope="module")
def postgres_database():
    """A fresh PostgreSQL database when the suite runs on PostgreSQL (DATABASE_URL), else None:
    the app servers share a SQLite file."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield None
        return
    import psycopg

    name = f"samplan_lb_{secrets.token_hex(6)}"
    server = urllib.parse.urlsplit(url)
    maintenance = server._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield server._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(maintenance, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, postgres_database):
    directory = tmp_path_factory.mktemp("load-balancer")
    env = _environment(directory / "var", postgres_database)
    ports = {name: free_port() for name in ("app1", "app2", "plain", "tls")}
    *steps, serve = serve_commands(ports["app1"], env)
    # check --deploy, migrate and collectstatic once: one database, and here one disk.
    running = [
        _run(["bash", "-c", step], env, directory / f"step{n}.log") for n, step in enumerate(steps)
    ]
    for n, process in enumerate(running):
        assert process.wait(timeout=120) == 0, (directory / f"step{n}.log").read_text()

    started: list[subprocess.Popen] = []
    try:
        app_servers = []
        for name in ("app1", "app2"):
            command = serve.replace(f":{ports['app1']}", f":{ports[name]}")
            log = directory / f"{name}.log"
            process = _run(["bash", "-c", command], env, log)  # `exec gunicorn`: its master
            started.append(process)
            app_servers.append(AppServer(name, ports[name], process, log))
        staff_member = json.loads(_manage_py_shell(MAKE_STAFF_MEMBER, env))
        for server in app_servers:
            wait_until_answering(server.process, server.port, server.log)
        nginx, nginx_log = _start_nginx(directory, ports)
        started.append(nginx)
        yield Cluster(ports["tls"], ports["plain"], app_servers, nginx_log, env, staff_member)
    finally:
        left_behind = [process.args for process in started if stop_group(process)]
        assert not left_behind, f"left running: {left_behind}"


def _served_since(servers: list[AppServer], before: list[int], total: int) -> list[int]:
    """GET /start/ requests each server logged since `before`. gunicorn writes the line just
    after the response has gone, so the last one may still be on its way: wait for `total`."""
    deadline = time.monotonic() + 5
    while True:
        served = [
            server.requests_served("GET", START) - count
            for server, count in zip(servers, before, strict=True)
        ]
        if sum(served) >= total or time.monotonic() > deadline:
            return served
        time.sleep(0.05)


def _code_now(staff_member: dict) -> str:
    totp = TOTP(bytes.fromhex(staff_member["key"]), staff_member["step"], staff_member["t0"])
    return f"{totp.token():0{staff_member['digits']}d}"


@pytest.fixture(scope="module")
def signed_in(cluster) -> Browser:
    """alice, signed in through nginx with her password and her authenticator's code."""
    browser = Browser(cluster.port)
    password_step = browser.submit("/konto/logga-in/", {"username": "alice", "password": PASSWORD})
    assert (password_step.status, password_step.headers["Location"]) == (
        302,
        "/konto/andra-steget/",
    )
    second_step = browser.submit("/konto/andra-steget/", {"code": _code_now(cluster.staff_member)})
    assert second_step.status == 302, second_step.text
    return browser


# --- The tests ------------------------------------------------------------------------------


def test_the_session_holds_on_both_app_servers_in_turn(cluster, signed_in):
    served_before = [server.requests_served("GET", START) for server in cluster.app_servers]

    pages = [signed_in.signed_in_to_the_work() for _ in range(6)]

    served = _served_since(cluster.app_servers, served_before, total=6)
    assert pages == [True] * 6
    assert sum(served) == 6
    assert min(served) >= 2, f"round robin sent {served} of the pages to each app server"


def test_a_browser_without_the_session_is_sent_to_sign_in(cluster):
    page = Browser(cluster.port).request("GET", START)

    assert page.status == 302
    assert page.headers["Location"].startswith("/konto/logga-in/")


def test_the_audit_log_has_the_address_nginx_passed_on_not_nginx_nor_a_forged_one(
    cluster, signed_in
):
    rows = json.loads(_manage_py_shell(SIGN_IN_ADDRESSES, cluster.env))

    assert ["sign_in", BROWSER] in rows and ["second_factor", BROWSER] in rows
    assert {address for _, address in rows} == {BROWSER}


def test_plain_http_is_sent_to_https(cluster):
    connection = http.client.HTTPConnection("127.0.0.1", cluster.plain_port, timeout=15)
    try:
        connection.request("GET", START, headers={"Host": HOST})
        response = connection.getresponse()
    finally:
        connection.close()

    assert response.status == 301
    assert response.headers["Location"] == f"https://{HOST}{START}"


def test_with_one_app_server_killed_the_next_requests_are_served_and_the_session_holds(
    cluster, signed_in
):
    killed, survivor = cluster.app_servers
    served_before = [server.requests_served("GET", START) for server in cluster.app_servers]
    os.killpg(killed.process.pid, signal.SIGKILL)
    killed.process.wait()

    # Round robin turns to the killed server within any two requests: nginx finds it refusing
    # and passes the request on to the survivor.
    pages = [signed_in.signed_in_to_the_work() for _ in range(4)]

    assert pages == [True] * 4
    assert _served_since(cluster.app_servers, served_before, total=4) == [0, 4]
    refused = [
        line
        for line in cluster.nginx_log.read_text().splitlines()
        if "(111: Connection refused) while connecting to upstream" in line
    ]
    assert refused and all(f"127.0.0.1:{killed.port}/" in line for line in refused)
