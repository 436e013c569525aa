"""Staff single sign-on through OpenID Connect, against a real provider on 127.0.0.1
(tests/oidc.py): the browser's round trip is followed with requests, redirect by redirect.

Two factors are read from the verified ID token (acr, amr); the identity is mapped to a staff
member by HSA-id; every sign-in and every refusal is in the audit log."""

from __future__ import annotations

import time
from importlib import import_module
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings as django_settings
from django.core.exceptions import SuspiciousOperation
from django.shortcuts import resolve_url

from samplan.access.models import AuditEvent
from samplan.accounts.factors import SESSION_KEY as TWO_FACTOR_KEY
from samplan.accounts.oidc import LOA3, LOA4, SAMBI_LOA3, StaffOIDCBackend, Strength
from samplan.accounts.oidc_checks import REQUIRED, single_sign_on_configured
from samplan.directory.models import User
from tests.factories import UnitFactory, staff

LOA2 = "http://id.elegnamnden.se/loa/1.0/loa2"
HSA_ID = "SE2321000016-S1T5"

TWO_FACTORS_NEEDED = "Signing in requires two factors."
NOT_KNOWN = "Your identity is not known in Samplan."
DID_NOT_COMPLETE = "Sign-in with SITHS did not complete."


@pytest.fixture
def sso(settings, live_server, oidc_provider, audit_log_flushable):
    """Samplan (the live server) registered at the provider and configured for it."""
    client = oidc_provider.add_client([f"{live_server.url}/oidc/callback/"])
    for name, value in oidc_provider.relying_party_settings(client).items():
        setattr(settings, name, value)
    settings.SAMPLAN_STAFF_OIDC_ENABLED = True
    return oidc_provider


@pytest.fixture
def web():
    """The browser's side: cookies and redirects, over real HTTP."""
    session = requests.Session()
    session.headers["Accept-Language"] = "en"
    return session


def start_url(live_server) -> str:
    return f"{live_server.url}/oidc/authenticate/"


def session_of(web: requests.Session):
    """Samplan's server-side session behind the browser's cookie (None: no session)."""
    key = next(
        (c.value for c in web.cookies if c.name == django_settings.SESSION_COOKIE_NAME), None
    )
    if key is None:
        return None
    return import_module(django_settings.SESSION_ENGINE).SessionStore(session_key=key)


def signed_in_as(web: requests.Session) -> int | None:
    """The user Samplan's session behind the browser's cookie is signed in as, if any."""
    session = session_of(web)
    user_id = session.get("_auth_user_id") if session is not None else None
    return int(user_id) if user_id else None


def login_path() -> str:
    return resolve_url(django_settings.LOGIN_URL)


def oidc_rows():
    return list(AuditEvent.objects.filter(what="sign_in_oidc").order_by("pk"))


def test_staff_member_with_loa3_signs_in_and_the_session_has_two_factors(sso, live_server, web):
    alice = staff(UnitFactory(), username="alice", hsa_id=HSA_ID)
    person = sso.add_user({"acr": LOA3, "amr": ["sc", "pin"], "employeeHsaId": HSA_ID})
    # The way a member of staff finds it: the sign-in page's link.
    sign_in_page = web.get(f"{live_server.url}{login_path()}").text
    assert 'href="/oidc/authenticate/"' in sign_in_page

    response = sso.sign_in(web, start_url(live_server), person)

    assert response.status_code == 200
    assert response.url == f"{live_server.url}/start/"
    assert signed_in_as(web) == alice.pk
    assert session_of(web).get(TWO_FACTOR_KEY) == "oidc"
    [row] = oidc_rows()
    assert (row.action, row.outcome) == (AuditEvent.Action.SIGN_IN, AuditEvent.Outcome.ALLOWED)
    assert (row.user_id, row.subject_user_id, row.subject_username) == (alice.pk, alice.pk, "alice")
    assert f"acr={LOA3}" in row.detail and "amr=sc,pin" in row.detail
    assert row.ip_address == "127.0.0.1"


def test_a_too_weak_acr_is_refused_and_audited(sso, live_server, web):
    alice = staff(UnitFactory(), username="alice", hsa_id=HSA_ID)
    person = sso.add_user({"acr": LOA2, "amr": ["pwd"], "employeeHsaId": HSA_ID})

    response = sso.sign_in(web, start_url(live_server), person)

    assert response.url == f"{live_server.url}{login_path()}"
    assert TWO_FACTORS_NEEDED in response.text
    assert signed_in_as(web) is None
    assert TWO_FACTOR_KEY not in session_of(web)
    [row] = oidc_rows()
    assert row.outcome == AuditEvent.Outcome.REFUSED
    assert row.user_id is None
    assert (row.subject_user_id, row.subject_username) == (alice.pk, "alice")
    assert row.detail.startswith("reason=too_weak") and f"acr={LOA2}" in row.detail
    # Not signed in: the start page still sends the browser to the sign-in page.
    assert web.get(f"{live_server.url}/start/").url.startswith(f"{live_server.url}{login_path()}")


def test_the_strength_comes_from_the_id_token_never_from_userinfo(sso, live_server, web):
    staff(UnitFactory(), hsa_id=HSA_ID)
    person = sso.add_user(
        {"acr": LOA2, "employeeHsaId": HSA_ID},
        userinfo={"acr": LOA3, "amr": ["mfa"], "employeeHsaId": HSA_ID},
    )

    response = sso.sign_in(web, start_url(live_server), person)

    assert TWO_FACTORS_NEEDED in response.text
    assert signed_in_as(web) is None
    assert oidc_rows()[0].detail.startswith(f"reason=too_weak acr={LOA2} amr=-")


def test_amr_with_two_kinds_of_factor_is_enough_when_acr_says_nothing(sso, live_server, web):
    bob = staff(UnitFactory(), hsa_id=HSA_ID)
    person = sso.add_user({"amr": ["pwd", "otp"], "employeeHsaId": HSA_ID})

    response = sso.sign_in(web, start_url(live_server), person)

    assert response.url == f"{live_server.url}/start/"
    assert signed_in_as(web) == bob.pk


def test_an_identity_not_in_the_directory_is_refused(sso, live_server, web):
    staff(UnitFactory(), username="alice", hsa_id=HSA_ID)
    person = sso.add_user({"acr": LOA3, "employeeHsaId": "SE2321000016-0THER"})

    response = sso.sign_in(web, start_url(live_server), person)

    assert response.url == f"{live_server.url}{login_path()}"
    assert NOT_KNOWN in response.text
    assert signed_in_as(web) is None
    [row] = oidc_rows()
    assert row.outcome == AuditEvent.Outcome.REFUSED
    assert (row.subject_user_id, row.subject_username) == (None, "SE2321000016-0THER")
    assert row.detail.startswith("reason=unknown_identity")


def test_an_unknown_identity_gets_an_account_only_when_the_region_asks_for_it(
    sso, settings, live_server, web
):
    settings.OIDC_CREATE_USER = True
    person = sso.add_user(
        {"acr": LOA3, "employeeHsaId": HSA_ID, "given_name": "Sara", "family_name": "Ny"}
    )

    response = sso.sign_in(web, start_url(live_server), person)

    assert response.url == f"{live_server.url}/start/"
    created = User.objects.get(hsa_id=HSA_ID)
    assert (created.username, created.get_full_name()) == (HSA_ID, "Sara Ny")
    assert not created.has_usable_password() and not created.assignments.exists()
    assert oidc_rows()[0].detail.endswith("account created")


def test_an_inactive_account_is_refused(sso, live_server, web):
    staff(UnitFactory(), hsa_id=HSA_ID, is_active=False)
    person = sso.add_user({"acr": LOA4, "employeeHsaId": HSA_ID})

    response = sso.sign_in(web, start_url(live_server), person)

    assert "not active" in response.text
    assert signed_in_as(web) is None
    assert oidc_rows()[0].detail.startswith("reason=inactive")


def test_a_forged_state_is_refused_and_the_code_is_not_used(sso, live_server, web):
    alice = staff(UnitFactory(), hsa_id=HSA_ID)
    person = sso.add_user({"acr": LOA3, "employeeHsaId": HSA_ID})
    callback = f"{live_server.url}/oidc/callback/"
    to_callback = sso.sign_in_until(web, start_url(live_server), person, stop_at=callback)
    query = parse_qs(urlsplit(to_callback.headers["Location"]).query)
    forged = {"code": query["code"][0], "state": query["state"][0][:-4] + "AAAA"}

    response = web.get(f"{callback}?{urlencode(forged)}")

    assert response.url == f"{live_server.url}{login_path()}"
    assert DID_NOT_COMPLETE in response.text
    assert signed_in_as(web) is None
    [row] = oidc_rows()
    assert (row.outcome, row.detail) == (AuditEvent.Outcome.REFUSED, "reason=state acr=- amr=-")
    # The forged request spent neither the code nor the state this browser was given.
    assert web.get(to_callback.headers["Location"]).url == f"{live_server.url}/start/"
    assert signed_in_as(web) == alice.pk


def test_an_id_token_for_another_sign_in_is_refused_by_its_nonce(sso, live_server, web):
    staff(UnitFactory(), hsa_id=HSA_ID)
    person = sso.add_user({"acr": LOA3, "employeeHsaId": HSA_ID})
    to_broker = web.get(start_url(live_server), allow_redirects=False).headers["Location"]
    scheme, netloc, path, query, _ = urlsplit(to_broker)
    params = {key: values[0] for key, values in parse_qs(query).items()}
    # As if the code came from an authorization request an attacker began himself.
    params["nonce"] = "not-the-nonce-this-browser-was-given"

    response = sso.sign_in(web, f"{scheme}://{netloc}{path}?{urlencode(params)}", person)

    assert DID_NOT_COMPLETE in response.text
    assert signed_in_as(web) is None
    assert oidc_rows()[0].detail.startswith("reason=token")


def test_after_sign_in_the_browser_goes_where_it_was_going_but_never_away(sso, live_server, web):
    staff(UnitFactory(), hsa_id=HSA_ID)
    person = sso.add_user({"acr": LOA3, "employeeHsaId": HSA_ID})

    response = sso.sign_in(web, f"{start_url(live_server)}?next=/sip/sok/", person)
    assert response.url == f"{live_server.url}/sip/sok/"

    away = requests.Session()
    response = sso.sign_in(away, f"{start_url(live_server)}?next=https://evil.example/", person)
    assert response.url == f"{live_server.url}/start/"


def test_an_error_from_the_broker_is_refused_and_audited(sso, live_server, web):
    to_broker = web.get(start_url(live_server), allow_redirects=False).headers["Location"]
    # prompt=none to a browser not signed in at the broker: it answers error=login_required.
    response = web.get(f"{to_broker}&prompt=none")

    assert response.url == f"{live_server.url}{login_path()}"
    assert DID_NOT_COMPLETE in response.text
    [row] = oidc_rows()
    assert row.outcome == AuditEvent.Outcome.REFUSED
    assert row.detail == "reason=provider_error acr=- amr=- error=login_required"


def test_an_error_answer_nobody_asked_for_signs_no_one_out(settings, client, db):
    settings.SAMPLAN_STAFF_OIDC_ENABLED = True
    alice = staff(UnitFactory())
    client.force_login(alice)

    response = client.get("/oidc/callback/?error=access_denied&state=made-up")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)
    assert oidc_rows()[0].detail == "reason=state acr=- amr=- error answer"


def test_an_id_token_the_broker_issued_to_another_client_is_refused(sso, live_server, web):
    staff(UnitFactory(), hsa_id=HSA_ID)
    # The provider signs whatever claims a user has, its own included: here a token for another
    # relying party, signed with the right key.
    person = sso.add_user({"acr": LOA3, "employeeHsaId": HSA_ID, "aud": "another-client"})

    response = sso.sign_in(web, start_url(live_server), person)

    assert DID_NOT_COMPLETE in response.text
    assert signed_in_as(web) is None
    assert oidc_rows()[0].detail.startswith("reason=token")


def test_a_token_from_another_issuer_is_refused(sso, settings, live_server, web):
    staff(UnitFactory(), hsa_id=HSA_ID)
    person = sso.add_user({"acr": LOA3, "employeeHsaId": HSA_ID})
    settings.OIDC_OP_ISSUER = "https://broker.example.org/openid"

    response = sso.sign_in(web, start_url(live_server), person)

    assert DID_NOT_COMPLETE in response.text
    assert signed_in_as(web) is None
    assert oidc_rows()[0].detail.startswith("reason=token")


def test_a_replayed_callback_is_refused(sso, live_server, web):
    alice = staff(UnitFactory(), hsa_id=HSA_ID)
    person = sso.add_user({"acr": SAMBI_LOA3, "employeeHsaId": HSA_ID})
    callback = f"{live_server.url}/oidc/callback/"
    to_callback = sso.sign_in_until(web, start_url(live_server), person, stop_at=callback)
    callback_url = to_callback.headers["Location"]
    assert web.get(callback_url).url == f"{live_server.url}/start/"

    # The same code and state again, from another browser that never began a sign-in.
    other = requests.Session()
    response = other.get(callback_url)

    assert response.url == f"{live_server.url}{login_path()}"
    assert signed_in_as(other) is None
    assert [(row.outcome, row.subject_user_id) for row in oidc_rows()] == [
        (AuditEvent.Outcome.ALLOWED, alice.pk),
        (AuditEvent.Outcome.REFUSED, None),
    ]


def test_an_id_token_for_another_client_or_out_of_date_is_refused(settings):
    settings.OIDC_RP_CLIENT_ID = "samplan"
    settings.OIDC_OP_ISSUER = "https://broker.example.org"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": "https://broker.example.org", "sub": "1", "aud": "samplan", "iat": now}
    backend = StaffOIDCBackend()

    def verify(**changes):
        token = jwt.encode({"exp": now + 600, **claims, **changes}, key, algorithm="RS256")
        return backend._verify_jws(token, key.public_key())

    assert verify()["sub"] == "1"
    assert verify(aud=["samplan", "api"], azp="samplan")["sub"] == "1"
    for changes in (
        {"aud": "another-client"},
        {"aud": ["samplan", "another-client"], "azp": "another-client"},
        {"exp": now - 3600},
        {"iss": "https://evil.example.org"},
    ):
        with pytest.raises(SuspiciousOperation):
            verify(**changes)


def test_a_local_sign_in_never_reaches_the_broker(sso, rf):
    request = rf.post("/konto/logga-in/?code=stolen&state=made-up")
    request.session = {}

    assert StaffOIDCBackend().authenticate(request, username="alice", password="x") is None
    assert not hasattr(request, "samplan_oidc_result")  # no token exchange was tried


def test_the_request_to_the_broker_asks_for_two_factor_strength(sso, client):
    response = client.get("/oidc/authenticate/")

    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["acr_values"] == [" ".join(django_settings.SAMPLAN_OIDC_ACCEPTED_ACR)]
    assert LOA3 in query["claims"][0] and '"essential": true' in query["claims"][0]
    assert query["code_challenge_method"] == ["S256"]


def test_single_sign_on_is_not_there_unless_switched_on(settings, client, db):
    settings.SAMPLAN_STAFF_OIDC_ENABLED = False

    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404


def test_switched_on_without_a_broker_is_an_error_at_startup(settings):
    settings.SAMPLAN_STAFF_OIDC_ENABLED = True
    for name in REQUIRED:
        setattr(settings, name, "")
    settings.OIDC_RP_CLIENT_ID = "samplan"

    errors = [error.msg for error in single_sign_on_configured() if error.id == "samplan.E101"]

    assert len(errors) == len(REQUIRED) - 1
    assert not any("OIDC_RP_CLIENT_ID" in error for error in errors)
    settings.SAMPLAN_STAFF_OIDC_ENABLED = False
    assert single_sign_on_configured() == []


@pytest.mark.parametrize(
    ("acr", "amr", "two_factors"),
    [
        (LOA3, [], True),
        (SAMBI_LOA3, [], True),
        (LOA2, [], False),
        ("", ["mfa"], True),
        ("", ["sc", "pin"], True),
        ("", ["pwd", "fpt"], True),
        ("", ["pwd", "pin"], False),  # two things known: one kind of factor
        ("", ["otp"], False),
        ("", [], False),
    ],
)
def test_what_counts_as_two_factors(acr, amr, two_factors):
    strength = Strength.of({"acr": acr, "amr": amr})

    assert strength.is_two_factor(django_settings.SAMPLAN_OIDC_ACCEPTED_ACR) is two_factors


def test_amr_is_not_trusted_when_the_region_says_so():
    assert not Strength.of({"amr": ["mfa"]}).is_two_factor([LOA3], trust_amr=False)
