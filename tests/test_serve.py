"""The production server itself, as `make serve` starts it: gunicorn with gunicorn.conf.py,
DEBUG off, HTTPS on, static files from collectstatic served by WhiteNoise, on a fresh SQLite
database, spoken to over HTTP.

The TLS proxy is played by the loopback address 127.0.0.2 (SAMPLAN_TRUSTED_PROXIES): a request
from there with `X-Forwarded-Proto: https` is one the proxy received over TLS. The same header
from 127.0.0.1 is anyone's and must not count.
"""

from __future__ import annotations

import gzip
import http.client
import posixpath
import re
import subprocess
import sys
from pathlib import Path

import brotli
import pytest

from tests.servers import (
    free_port,
    production_environment,
    serve_commands,
    stop_group,
    wait_until_answering,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PROXY = "127.0.0.2"
ELSEWHERE = "127.0.0.1"
ONE_YEAR = 365 * 24 * 3600


class Server:
    def __init__(self, port: int):
        self.port = port

    def get(self, path: str, *, source: str = PROXY, headers: dict | None = None):
        """(status, headers, body) of a GET, sent as the proxy would unless `source` says
        otherwise; the proxy tells what it received over TLS and whom from."""
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=15, source_address=(source, 0)
        )
        sent = {"Host": "localhost", "Accept-Language": "en"}
        if source == PROXY:
            sent |= {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.10"}
        try:
            connection.request("GET", path, headers=sent | (headers or {}))
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()


def _run(command: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        command, cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


# One xdist worker runs the whole module (`--dist loadgroup`), so gunicorn starts once.
pytestmark = pytest.mark.xdist_group("serve")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("var")
    # A fresh SQLite database under var_dir.
    env = production_environment(
        var_dir,
        HTTPS="true",
        SAMPLAN_TRUSTED_PROXIES=PROXY,
        ALLOWED_HOSTS="localhost",
        GUNICORN_WORKERS="2",
    )
    port = free_port()
    *steps, serve = serve_commands(port, env)
    # The steps before gunicorn do not depend on each other: side by side, the test is faster.
    running = [_run(["bash", "-c", step], env) for step in steps]
    for step, process in zip(steps, running, strict=True):
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, f"{step}\n{output.decode()}"

    log = var_dir / "gunicorn.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            ["bash", "-c", serve],  # `exec gunicorn`: the process is gunicorn's master
            cwd=PROJECT_DIR,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the workers are found and ended
        )
    try:
        wait_until_answering(process, port, log)
        yield Server(port)
    finally:
        assert not stop_group(process), "gunicorn left processes behind"


def _static_path(page: bytes, name: str) -> str:
    stem, extension = posixpath.splitext(name)
    match = re.search(
        rf"/static/{re.escape(stem)}\.[0-9a-f]{{12}}{re.escape(extension)}", page.decode()
    )
    assert match, f"no hashed {name} in the page"
    return match.group(0)


def _max_age(headers) -> int:
    match = re.search(r"max-age=(\d+)", headers["Cache-Control"] or "")
    return int(match.group(1)) if match else 0


def test_sign_in_page_answers_through_the_proxy_with_the_security_headers(server):
    status, headers, body = server.get("/konto/logga-in/")

    assert status == 200
    assert b'name="password"' in body
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in headers["Cache-Control"]
    assert "; Secure" in headers["Set-Cookie"]


def test_forwarded_https_from_anyone_but_the_proxy_is_redirected_without_hsts(server):
    # gunicorn's own default would believe this header from 127.0.0.1 (forwarded_allow_ips).
    status, headers, _ = server.get(
        "/konto/logga-in/", source=ELSEWHERE, headers={"X-Forwarded-Proto": "https"}
    )

    assert status == 301
    assert headers["Location"] == "https://localhost/konto/logga-in/"
    assert headers["Strict-Transport-Security"] is None


def test_unknown_address_is_our_404_page_not_the_debug_page(server):
    status, headers, body = server.get("/no-such-page/")

    assert status == 404
    assert b"Page not found" in body
    assert b"The page does not exist" in body
    assert b"URLconf" not in body  # Django's technical 404 under DEBUG names the URLconf
    assert "no-store" in headers["Cache-Control"]


def test_static_file_is_served_under_its_hashed_name_cached_for_a_year_and_compressed(server):
    _, _, page = server.get("/konto/logga-in/")
    path = _static_path(page, "vendor/htmx/htmx.min.js")
    plain_status, plain_headers, plain = server.get(path)
    _, gzip_headers, gzipped = server.get(path, headers={"Accept-Encoding": "gzip"})
    _, brotli_headers, brotli_body = server.get(path, headers={"Accept-Encoding": "br, gzip"})

    assert plain_status == 200
    assert plain.startswith(b"var htmx")
    assert plain_headers["Content-Encoding"] is None
    assert _max_age(plain_headers) >= ONE_YEAR
    assert "immutable" in plain_headers["Cache-Control"]
    assert "no-store" not in plain_headers["Cache-Control"]
    assert plain_headers["X-Content-Type-Options"] == "nosniff"
    assert gzip_headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(gzipped) == plain
    assert brotli_headers["Content-Encoding"] == "br"
    assert brotli.decompress(brotli_body) == plain
    assert len(brotli_body) < len(plain) / 2


def test_stylesheet_is_served_under_its_hashed_name(server):
    _, _, page = server.get("/konto/logga-in/")
    status, headers, body = server.get(
        _static_path(page, "vendor/govuk-frontend/govuk-frontend.min.css")
    )

    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert _max_age(headers) >= ONE_YEAR
    assert b".govuk-" in body


def test_the_module_samplan_js_imports_is_served(server):
    # samplan.js imports GOV.UK Frontend by a relative path, which collectstatic does not
    # rewrite: the file must answer under its plain name beside the hashed one.
    _, _, page = server.get("/konto/logga-in/")
    path = _static_path(page, "samplan/samplan.js")
    _, _, script = server.get(path)
    imported = re.search(rb'from "([^"]+)"', script).group(1).decode()
    status, headers, body = server.get(
        posixpath.normpath(posixpath.join(posixpath.dirname(path), imported))
    )

    assert status == 200
    assert headers["Content-Type"].startswith("text/javascript")
    assert b"initAll" in body
