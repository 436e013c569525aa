"""Hardening (issue 7, item 8): no page with personal data stored by a cache, no inline script or
style in any template, forwarded headers believed only from a configured proxy, HSTS, a limit on
searches for people, and `check --deploy` clean with production settings."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from samplan.access.models import AuditEvent
from samplan.cases.models import State
from samplan.hardening import (
    NoStoreMiddleware,
    TrustedProxyMiddleware,
    forwarded_client_address,
)
from tests.factories import case_in_state

PROJECT = Path(__file__).resolve().parent.parent
SOURCE = PROJECT / "src" / "samplan"
PROXY = "10.0.0.1"


# --- No personal data in a cache --------------------------------------------------------------


@pytest.mark.django_db
def test_a_case_page_is_never_stored(client, county):
    case = case_in_state(county, State.CONSENTED)
    client.force_login(county.alice)
    response = client.get(reverse("workspace:case_detail", args=[case.pk]))
    assert response.status_code == 200
    assert case.person.family_name in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert response["Pragma"] == "no-cache"


@pytest.mark.django_db
def test_a_refusal_and_the_sign_in_page_are_not_stored_either(client, county):
    case = case_in_state(county, State.CONSENTED)
    client.force_login(county.charlie)
    refused = client.get(reverse("workspace:case_detail", args=[case.pk]))
    assert refused.status_code == 404
    assert "no-store" in refused["Cache-Control"]
    client.logout()
    sign_in = client.get(reverse("login"))
    assert "no-store" in sign_in["Cache-Control"]


def test_static_files_stay_cacheable():
    request = RequestFactory().get("/static/samplan/samplan.css")
    response = NoStoreMiddleware(lambda request: HttpResponse("body{}"))(request)
    assert not response.has_header("Cache-Control")
    page = NoStoreMiddleware(lambda request: HttpResponse("<p>"))(RequestFactory().get("/sip/"))
    assert "no-store" in page["Cache-Control"]


# --- Strict CSP: nothing inline in any template ------------------------------------------------

INLINE = [
    (re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script> (no src=)"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"""\sstyle\s*=\s*["']""", re.I), "style= attribute"),
    (re.compile(r"""\son[a-z]+\s*=\s*["']""", re.I), "on…= event handler"),
    (re.compile(r"""\bhref\s*=\s*["']\s*javascript:""", re.I), "javascript: link"),
    (re.compile(r"\shx-on[:-]", re.I), "hx-on handler (htmx evaluates it as script)"),
]


# Rendered to PDF by WeasyPrint on the server (documents/render.py) and never sent to a
# browser, so the browser's CSP does not apply: their styles are the print layout.
PDF_ONLY = SOURCE / "documents" / "templates" / "documents"


def templates() -> list[Path]:
    found = sorted(SOURCE.glob("**/templates/**/*.html"))
    assert len(found) > 20, "the templates were not found"
    return [path for path in found if not path.is_relative_to(PDF_ONLY)]


def test_pdf_only_templates_are_never_rendered_for_the_browser():
    """The exemption above holds only while no view renders those templates as a page."""
    offenders = [
        f"{path.relative_to(PROJECT)}"
        for path in sorted(SOURCE.glob("**/*.py"))
        if not path.is_relative_to(SOURCE / "documents")
        for text in [path.read_text()]
        if re.search(r"""render(?:_to_response)?\(\s*request\s*,\s*["']documents/""", text)
        or re.search(r"""TemplateResponse\([^)]*["']documents/""", text)
    ]
    assert not offenders, offenders


def test_no_template_has_inline_script_style_or_handlers():
    """CSP is script-src 'self' and style-src 'self': anything inline would be blocked in the
    browser (and a nonce would undo the point), so it must not be written at all."""
    problems = [
        f"{path.relative_to(PROJECT)}:{text[: match.start()].count(chr(10)) + 1}: {what}"
        for path in templates()
        for text in [path.read_text()]
        for pattern, what in INLINE
        for match in pattern.finditer(text)
    ]
    assert not problems, "inline code breaks the CSP:\n" + "\n".join(problems)


def test_the_template_scan_catches_each_kind_of_inline_code():
    samples = [
        "<script>alert(1)</script>",
        "<style>p{}</style>",
        '<p style="color:red">',
        '<button onclick="go()">',
        '<a href="javascript:go()">',
        '<form hx-on::after-request="this.reset()">',
    ]
    for sample, (pattern, what) in zip(samples, INLINE, strict=True):
        assert pattern.search(sample), what
    assert not any(
        pattern.search('<script src="/static/x.js" defer></script>') for pattern, _ in INLINE
    )


@pytest.mark.django_db
def test_pages_carry_the_strict_policy(client):
    policy = client.get(reverse("login"))["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy


# --- Forwarded headers only from our proxy ------------------------------------------------------


@pytest.fixture
def behind_tls(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SAMPLAN_TRUSTED_PROXIES = [PROXY, "192.168.0.0/16"]
    return settings


@pytest.mark.django_db
def test_x_forwarded_proto_from_the_trusted_proxy_counts_as_https(client, behind_tls):
    response = client.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"


@pytest.mark.django_db
def test_x_forwarded_proto_from_anyone_else_is_ignored(client, behind_tls):
    response = client.get("/", REMOTE_ADDR="198.51.100.20", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")
    assert not response.has_header("Strict-Transport-Security")


@pytest.mark.django_db
def test_a_direct_tls_connection_is_secure_without_the_header(client, behind_tls):
    response = client.get("/", REMOTE_ADDR="198.51.100.20", secure=True)
    assert response.status_code == 200


def test_the_proxy_middleware_drops_forwarded_headers_from_anyone_but_our_proxy(settings):
    settings.SAMPLAN_TRUSTED_PROXIES = [PROXY]
    headers = {
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_FORWARDED_FOR": "203.0.113.5",
        "HTTP_X_FORWARDED_HOST": "evil.example",
        "HTTP_X_FORWARDED_PORT": "443",
    }
    seen = {}

    def view(request):
        seen.update({name: request.META.get(name) for name in headers})
        return HttpResponse()

    middleware = TrustedProxyMiddleware(view)
    middleware(RequestFactory().get("/", REMOTE_ADDR="198.51.100.20", **headers))
    assert seen == dict.fromkeys(headers)
    middleware(RequestFactory().get("/", REMOTE_ADDR=PROXY, **headers))
    assert seen == headers


@pytest.mark.django_db
def test_the_audit_log_takes_the_address_the_trusted_proxy_saw(client, county, settings):
    case = case_in_state(county, State.INITIATED)
    client.force_login(county.alice)
    path = reverse("workspace:case_detail", args=[case.pk])
    settings.SAMPLAN_TRUSTED_PROXIES = [PROXY]
    # Untrusted sender: its header is dropped, its own address is logged.
    client.get(path, REMOTE_ADDR="198.51.100.20", HTTP_X_FORWARDED_FOR="203.0.113.5")
    # Trusted proxy: the client forged the first entry; the proxy appended what it saw.
    client.get(path, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="192.0.2.66, 203.0.113.5")
    reads = AuditEvent.objects.filter(case=case, action=AuditEvent.Action.READ).order_by("pk")
    assert list(reads.values_list("ip_address", flat=True)) == ["198.51.100.20", "203.0.113.5"]


@pytest.mark.parametrize(
    "remote, forwarded, client_address",
    [
        ("198.51.100.20", "203.0.113.5", "198.51.100.20"),  # not our proxy: header ignored
        (PROXY, "", PROXY),  # our proxy, no header: the proxy itself
        (PROXY, "192.0.2.66, 203.0.113.5", "203.0.113.5"),
        (PROXY, "192.0.2.66, 203.0.113.5, 192.168.4.4", "203.0.113.5"),  # two of our proxies
        (PROXY, "192.168.4.4, 192.168.4.5", "192.168.4.4"),  # all ours: the leftmost
        (PROXY, "203.0.113.5, not-an-address, 192.168.4.4", "192.168.4.4"),  # garbage stops
        ("2001:db8::1", "203.0.113.5", "2001:db8::1"),
        (f"::ffff:{PROXY}", "203.0.113.5", "203.0.113.5"),  # our proxy, seen over IPv6
    ],
)
def test_the_client_is_the_rightmost_address_that_is_not_our_proxy(
    settings, remote, forwarded, client_address
):
    settings.SAMPLAN_TRUSTED_PROXIES = [PROXY, "192.168.0.0/16"]
    meta = {"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": forwarded}
    assert forwarded_client_address(meta) == client_address


def test_no_trusted_proxy_means_no_forwarded_address(settings):
    settings.SAMPLAN_TRUSTED_PROXIES = []
    meta = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.5"}
    assert forwarded_client_address(meta) == PROXY


def test_a_malformed_trusted_proxy_fails_loudly(settings):
    settings.SAMPLAN_TRUSTED_PROXIES = ["10.0.0.300"]
    with pytest.raises(ImproperlyConfigured, match="SAMPLAN_TRUSTED_PROXIES"):
        forwarded_client_address({"REMOTE_ADDR": PROXY})


# --- Rate limit on searching for people ----------------------------------------------------------

SEARCH_URL = "/sip/sok/"
CHECK_URL = "/sip/ny/kontrollera-nummer/"


@pytest.fixture
def limit_of_three(settings):
    settings.SAMPLAN_SEARCH_RATE_LIMIT = 3
    return 3


def refused_searches(user):
    return AuditEvent.objects.filter(
        user=user, outcome=AuditEvent.Outcome.REFUSED, detail="rate limit"
    )


@pytest.mark.django_db
def test_searching_for_people_past_the_limit_is_refused_and_logged(client, county, limit_of_three):
    client.force_login(county.alice)
    for _ in range(limit_of_three):
        assert client.post(SEARCH_URL, {"q": "Person"}).status_code == 200
    response = client.post(SEARCH_URL, {"q": "Person"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert "Too many searches" in response.content.decode()
    assert "rows" not in (response.context or {})
    row = refused_searches(county.alice).get()
    assert (row.action, row.what) == (AuditEvent.Action.READ, "search")
    # Another staff member is not held back by alice's searches.
    client.force_login(county.bob)
    assert client.post(SEARCH_URL, {"q": "Person"}).status_code == 200


@pytest.mark.django_db
def test_a_sip_number_or_filters_alone_are_not_limited(client, county, limit_of_three):
    case = case_in_state(county, State.INITIATED)
    client.force_login(county.alice)
    for _ in range(limit_of_three):
        client.post(SEARCH_URL, {"q": "Person"})
    assert client.post(SEARCH_URL, {"q": str(case.pk)}).status_code == 200
    assert client.get(SEARCH_URL, {"state": State.INITIATED}).status_code == 200
    assert not refused_searches(county.alice).exists()


@pytest.mark.django_db
def test_the_identity_check_is_limited_by_the_same_count(client, county, limit_of_three):
    client.force_login(county.alice)
    assert client.post(CHECK_URL, {"identity_number": "19121212-1212"}).status_code == 200
    for _ in range(limit_of_three):
        client.post(SEARCH_URL, {"q": "Person"})
    refused = client.post(CHECK_URL, {"identity_number": "19121212-1212"})
    assert refused.status_code == 429
    # Through htmx the refusal is said where the check's answer would have gone.
    fragment = client.post(
        CHECK_URL,
        {"identity_number": "19121212-1212"},
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "Too many searches" in fragment.content.decode()
    assert "govuk-error-message" in fragment.content.decode()
    assert list(refused_searches(county.alice).values_list("what", flat=True)) == [
        "identity_check",
        "identity_check",
    ]


@pytest.mark.django_db
def test_lookups_by_identity_number_count_towards_the_same_limit(client, county, limit_of_three):
    client.force_login(county.alice)
    for _ in range(limit_of_three):
        find = {"step": "find", "identity_number": "19121212-1212", "unit": county.vardcentral.pk}
        assert client.post("/sip/ny/", find).status_code == 200
    assert AuditEvent.objects.filter(user=county.alice, what="person_lookup").count() == 3
    assert client.post(SEARCH_URL, {"q": "Person"}).status_code == 429


@pytest.mark.django_db
def test_the_limit_costs_one_query(client, county, limit_of_three):
    """Measured: the check is one indexed query on the audit log's (user, at) index."""
    client.force_login(county.alice)
    client.post(SEARCH_URL, {"q": "Person"})
    with CaptureQueriesContext(connection) as queries:
        client.post(SEARCH_URL, {"q": "Person"})
    limit_queries = [
        q["sql"] for q in queries if "access_auditevent" in q["sql"] and "LIMIT 3" in q["sql"]
    ]
    assert len(limit_queries) == 1, limit_queries


# --- check --deploy with production settings ------------------------------------------------------


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HTTPS": "true",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "samplan.region.example",
        "CSRF_TRUSTED_ORIGINS": "https://samplan.region.example",
        "SAMPLAN_TRUSTED_PROXIES": "10.0.0.0/8,127.0.0.1",
        "SAMPLAN_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_identity_numbers_and_health_details_stay_out_of_error_reports(client, county):
    """Django's error reports (mail to ADMINS, the debug page) show POST bodies: the views that
    take identity numbers, names, reasons or a search name theirs as sensitive, and the report
    shows stars instead."""
    from django.views.debug import SafeExceptionReporterFilter

    case = case_in_state(county, State.PREPARATION)
    client.force_login(county.alice)
    posts = [
        (reverse("workspace:search"), {"q": "19121212-1212"}, {"q"}),
        (reverse("workspace:check_identity"), {"identity_number": "191212121212"}, None),
        (reverse("workspace:initiate"), {"step": "find", "identity_number": "191212121212"}, None),
        (
            reverse("workspace:add_related_party", args=[case.pk]),
            {"name": "Gunnel Exempel", "phone": "070-1234567"},
            None,
        ),
    ]
    for url, data, expected in posts:
        request = client.post(url, data).wsgi_request
        names = set(request.sensitive_post_parameters)
        assert set(data) - {"step"} <= names, url
        if expected is not None:
            assert names == expected
        shown = SafeExceptionReporterFilter().get_post_parameters(request)
        assert all(shown[name] != value for name, value in data.items() if name != "step"), url
