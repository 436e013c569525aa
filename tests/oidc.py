"""A real OpenID Connect provider for the tests: django-oidc-provider in its own process and
database (tests/oidc_provider/), on 127.0.0.1, spoken to over HTTP like a region's broker.

`oidc_provider` (a session fixture, one provider per pytest worker) gives a `TestProvider`:

    client = oidc_provider.add_client([f"{live_server.url}/oidc/callback/"])
    settings_values = oidc_provider.relying_party_settings(client)   # OIDC_OP_*, OIDC_RP_*
    person = oidc_provider.add_user({"acr": LOA3, "amr": ["sc", "pin"], "employeeHsaId": …})
    response = oidc_provider.sign_in(session, f"{live_server.url}/oidc/authenticate/", person)

A user's ID token carries the claims given (any names: an HSA-id, a personnummer, acr, amr),
over the provider's own (so a test can even give it another `aud`), signed with the provider's
RS256 key; `userinfo=` sets what the userinfo endpoint answers, so the two can disagree.
`sign_in_until(…, stop_at=callback)` stops before the redirect back, for tests that tamper with
it (state, code).

Another relying party (people signing in with an e-identification, say) registers its own
client with its own callback and gives its users e.g.
`{"acr": LOA3, "https://id.oidc.se/claim/personalIdentityNumber": "199001012384"}`.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

PROJECT_DIR = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60  # seconds; migrating the provider's SQLite file on a busy machine


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class ProviderUser:
    username: str
    password: str


class TestProvider:
    __test__ = False  # not a test class, whatever its name

    def __init__(self, url: str, secret: str):
        self.url = url
        self._secret = secret

    @property
    def issuer(self) -> str:
        return f"{self.url}/openid"

    def _post(self, path: str, data: dict) -> dict:
        response = requests.post(
            f"{self.url}{path}",
            data=json.dumps(data),
            headers={"X-Testing-Secret": self._secret, "Content-Type": "application/json"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def add_client(self, redirect_uris: list[str], scopes=("openid", "profile")) -> Client:
        """A confidential client of the code flow, RS256, no consent screen."""
        answer = self._post(
            "/testing/clients/", {"redirect_uris": list(redirect_uris), "scopes": list(scopes)}
        )
        return Client(answer["client_id"], answer["client_secret"])

    def client_credentials_token(self, client: Client, scope: str) -> str:
        """An access token for a system (the client credentials grant), as a region's broker
        gives one to a journal system that calls Samplan's API."""
        response = requests.post(
            f"{self.issuer}/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                "scope": scope,
            },
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def add_user(
        self, id_token: dict, *, userinfo: dict | None = None, username: str = ""
    ) -> ProviderUser:
        """A person who can sign in here; their ID token will carry `id_token` (acr, amr and
        any identity claims), userinfo will answer `userinfo` (default: the same claims
        without acr/amr)."""
        if userinfo is None:
            userinfo = {k: v for k, v in id_token.items() if k not in {"acr", "amr"}}
        answer = self._post(
            "/testing/users/",
            {"username": username, "id_token": id_token, "userinfo": userinfo},
        )
        return ProviderUser(answer["username"], answer["password"])

    def relying_party_settings(self, client: Client) -> dict:
        """The Django settings a relying party (mozilla-django-oidc) needs for this provider."""
        return {
            "OIDC_OP_ISSUER": self.issuer,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.issuer}/authorize",
            "OIDC_OP_TOKEN_ENDPOINT": f"{self.issuer}/token",
            "OIDC_OP_USER_ENDPOINT": f"{self.issuer}/userinfo",
            "OIDC_OP_JWKS_ENDPOINT": f"{self.issuer}/jwks",
            "OIDC_RP_CLIENT_ID": client.client_id,
            "OIDC_RP_CLIENT_SECRET": client.client_secret,
            "OIDC_RP_SIGN_ALGO": "RS256",
        }

    def sign_in(
        self, session: requests.Session, start_url: str, user: ProviderUser
    ) -> requests.Response:
        """The whole round trip, redirects followed to the end: the relying party's answer."""
        return self._submit_login(session, start_url, user, follow=True)

    def sign_in_until(
        self, session: requests.Session, start_url: str, user: ProviderUser, stop_at: str
    ) -> requests.Response:
        """Start at the relying party, sign in on the provider's page, and follow the redirects
        until one would go to a URL starting with `stop_at` (not followed: the test decides)."""
        response = self._submit_login(session, start_url, user, follow=False)
        while response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(stop_at):
                return response
            response = session.get(location, allow_redirects=False, timeout=30)
        raise AssertionError(f"no redirect to {stop_at}: {response.status_code} {response.url}")

    def _submit_login(self, session, start_url, user, *, follow: bool) -> requests.Response:
        """From the relying party's start URL to the provider's sign-in form, and submit it."""
        response = session.get(start_url, timeout=30)
        assert response.url.startswith(f"{self.url}/login/"), response.url
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text)
        return session.post(
            response.url,
            data={
                "csrfmiddlewaretoken": token.group(1),
                "username": user.username,
                "password": user.password,
            },
            allow_redirects=follow,
            timeout=30,
        )


def _read_port(process: subprocess.Popen, deadline: float, log: Path) -> int:
    line = b""
    while not line.endswith(b"\n"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the test OIDC provider did not start (see {log}): {line!r}")
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line += os.read(process.stdout.fileno(), 1)
    match = re.fullmatch(rb"listening on (\d+)\n", line)
    if not match:
        raise RuntimeError(f"the test OIDC provider said {line!r}")
    return int(match.group(1))


@contextmanager
def running_provider(data_dir: Path) -> Iterator[TestProvider]:
    """Start tests/oidc_provider on a free port of 127.0.0.1, wait for its discovery document,
    and stop it afterwards."""
    secret = secrets.token_urlsafe(24)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tests.oidc_provider.settings",
        OIDC_TEST_PROVIDER_DIR=str(data_dir),
        OIDC_TEST_PROVIDER_SECRET=secret,
        PYTHONPATH=str(PROJECT_DIR),
    )
    log = open(data_dir / "provider.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.oidc_provider.serve"],
        cwd=PROJECT_DIR,
        env=env,
        stdin=subprocess.PIPE,  # its end tells the provider to stop (serve.py)
        stdout=subprocess.PIPE,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        port = _read_port(process, deadline, data_dir / "provider.log")
        provider = TestProvider(f"http://127.0.0.1:{port}", secret)
        discovery = f"{provider.issuer}/.well-known/openid-configuration"
        while True:
            try:
                if requests.get(discovery, timeout=5).json()["issuer"] == provider.issuer:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"no discovery document at {discovery}")
            time.sleep(0.1)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdin.close()
        process.stdout.close()
        log.close()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory) -> Iterator[TestProvider]:
    """One provider per pytest worker (xdist gives each worker its own session)."""
    with running_provider(tmp_path_factory.mktemp("oidc_provider")) as provider:
        yield provider
