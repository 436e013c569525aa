"""Signing in with a password: lockout by user name and by address, the audit log of every
attempt, no user enumeration, timeouts, sign out (everywhere), the password rules."""

from __future__ import annotations

import time

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import reverse

from samplan.access.models import AuditEvent
from samplan.accounts import sessions
from samplan.accounts.factors import has_two_factors
from samplan.accounts.services import unknown_name_reference
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
SIGN_IN = "/konto/logga-in/"
SECOND_FACTOR = "/konto/andra-steget/"
START = "/start/"
FAILED = "The user name or the password is not right"
Action, Outcome = AuditEvent.Action, AuditEvent.Outcome


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def sign_in(client, username: str, password: str = PASSWORD, **extra):
    return client.post(SIGN_IN, {"username": username, "password": password}, **extra)


def rows(what: str, **filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(what=what, **filters).order_by("pk"))


def every_text_in_the_log() -> str:
    fields = ("username", "subject_username", "detail", "what", "path")
    return " ".join(" ".join(values) for values in AuditEvent.objects.values_list(*fields))


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- The password step ----------------------------------------------------------------------


def test_the_right_password_leads_to_the_second_factor_not_to_the_work(client, county):
    response = sign_in(client, "alice")
    assert response.status_code == 302 and response.url == SECOND_FACTOR
    assert signed_in(client)
    assert not client.session.get("samplan_second_factor")
    (row,) = rows("sign_in")
    assert (row.action, row.outcome, row.user_id) == (
        Action.SIGN_IN,
        Outcome.ALLOWED,
        county.alice.pk,
    )
    assert row.subject_user_id == county.alice.pk and row.ip_address == "127.0.0.1"
    # The work is still behind the second factor.
    assert client.get(START).url.startswith(SECOND_FACTOR)


def test_a_wrong_password_is_refused_audited_and_never_stored(client, county):
    response = sign_in(client, "alice", "Tr0ub4dor&3-secret")
    assert response.status_code == 200
    assert FAILED in response.text
    assert 'value="alice"' in response.text  # what was typed stays, the password does not
    assert "Tr0ub4dor" not in response.text
    assert not signed_in(client)
    (row,) = rows("sign_in")
    assert (row.outcome, row.user_id, row.subject_user_id) == (
        Outcome.REFUSED,
        None,
        county.alice.pk,
    )
    assert row.detail == "wrong password"
    assert "Tr0ub4dor" not in every_text_in_the_log()
    # Axes counts the failure under a keyed hash of the name, with the form data masked.
    (attempt,) = AccessAttempt.objects.all()
    assert attempt.failures_since_start == 1
    stored = f"{attempt.username} {attempt.post_data} {attempt.get_data}"
    assert "alice" not in stored and "Tr0ub4dor" not in stored


def test_an_unknown_name_gets_the_same_answer_and_is_not_stored(client, county):
    known = sign_in(client, "alice", "wrong horse battery")
    # People type their password into the name field: the typed name is never kept.
    unknown = sign_in(client, "MyS3cretPassw0rd!", "wrong horse battery")
    assert known.status_code == unknown.status_code == 200
    for response in (known, unknown):
        assert FAILED in response.text
    assert known.text.replace("alice", "MyS3cretPassw0rd!").count(FAILED) == unknown.text.count(
        FAILED
    )
    refused = rows("sign_in", outcome=Outcome.REFUSED)
    assert [row.subject_user_id for row in refused] == [county.alice.pk, None]
    assert refused[1].subject_username == ""
    assert refused[1].detail == (
        f"unknown user name, reference {unknown_name_reference('MyS3cretPassw0rd!')}"
    )
    assert "MyS3cretPassw0rd" not in every_text_in_the_log()
    assert not AccessAttempt.objects.filter(username__icontains="S3cret").exists()


def test_an_inactive_account_gets_the_same_answer(client, county):
    county.bob.is_active = False
    county.bob.save()
    response = sign_in(client, "bob")
    assert response.status_code == 200 and FAILED in response.text
    assert not signed_in(client)
    assert rows("sign_in")[0].detail == "inactive account"


def test_five_wrong_passwords_lock_the_name_and_the_right_one_is_refused_alike(client, county):
    for attempt in range(5):
        response = sign_in(client, "alice", f"wrong horse {attempt}")
        assert FAILED in response.text
    (lockout,) = rows("lockout")
    assert (lockout.action, lockout.outcome, lockout.subject_user_id) == (
        Action.SIGN_IN,
        Outcome.REFUSED,
        county.alice.pk,
    )
    refused_before = sign_in(client, "alice", "wrong horse 5")

    locked = sign_in(client, "alice", PASSWORD)
    assert locked.status_code == refused_before.status_code == 200
    assert FAILED in locked.text
    assert not signed_in(client)
    assert rows("sign_in")[-1].detail == "sign-in paused by the lockout"
    assert len(rows("lockout")) == 1  # the lock is recorded when it starts
    # Another name from the same address is not locked by alice's failures.
    assert sign_in(client, "bob").url == SECOND_FACTOR


@override_settings(SAMPLAN_SIGN_IN_ADDRESS_FAILURE_LIMIT=8)
def test_an_address_is_locked_after_its_own_higher_limit(county):
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    for number in range(7):
        sign_in(guesser, f"guess{number}", "wrong horse battery")
    assert not rows("lockout")
    sign_in(guesser, "guess7", "wrong horse battery")
    (lockout,) = rows("lockout")
    assert lockout.ip_address == "203.0.113.9" and lockout.subject_user_id is None
    # From that address even the right password of an untouched name is refused…
    response = sign_in(guesser, "alice")
    assert response.status_code == 200 and FAILED in response.text
    # …while alice at her own desk signs in.
    desk = Client(REMOTE_ADDR="198.51.100.20")
    assert sign_in(desk, "alice").url == SECOND_FACTOR


class CountingHasher(MD5PasswordHasher):
    """Counts the password hashes computed (MD5 only to keep the test fast)."""

    calls = 0

    def encode(self, password, salt):
        CountingHasher.calls += 1
        return super().encode(password, salt)


@override_settings(PASSWORD_HASHERS=["tests.test_sign_in.CountingHasher"])
def test_every_refusal_costs_one_password_hash(client, county):
    county.alice.set_password(PASSWORD)
    county.alice.save()

    def hashes(username: str, password: str) -> int:
        CountingHasher.calls = 0
        response = sign_in(client, username, password)
        assert FAILED in response.text
        return CountingHasher.calls

    assert hashes("alice", "wrong horse battery") == 1
    assert hashes("nobody-here", "wrong horse battery") == 1
    for attempt in range(4):
        hashes("alice", f"wrong {attempt}")
    assert rows("lockout")
    assert hashes("alice", PASSWORD) == 1  # paused: refused before any backend, hashed anyway


# --- The session: timeouts, sign out, sign out everywhere -------------------------------------


def test_the_session_cookie_dies_with_the_browser(client, county):
    response = sign_in(client, "alice")
    cookie = response.cookies["sessionid"]
    assert not cookie["max-age"] and not cookie["expires"]


def _age_session(client, **seconds_ago) -> None:
    session = client.session
    now = time.time()
    for key, ago in seconds_ago.items():
        session[key] = now - ago
    session.save()


def test_an_idle_session_is_signed_out_with_a_message(client, county):
    client.force_login(county.alice)
    _age_session(client, **{sessions.LAST_SEEN_AT: 29 * 60})
    assert client.get(START).status_code == 200  # 29 minutes: still alive, and touched again

    _age_session(client, **{sessions.LAST_SEEN_AT: 31 * 60})
    response = client.get(START)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={START}"
    assert not signed_in(client)
    (row,) = rows("idle_timeout")
    assert (row.action, row.user_id) == (Action.SIGN_OUT, county.alice.pk)
    page = client.get(response.url)
    assert "after 30 minutes without activity" in page.text


def test_a_session_ends_after_the_absolute_timeout_however_busy(client, county):
    client.force_login(county.alice)
    _age_session(client, **{sessions.SIGNED_IN_AT: 10 * 3600 - 60})
    assert client.get(START).status_code == 200
    _age_session(client, **{sessions.SIGNED_IN_AT: 10 * 3600 + 1, sessions.LAST_SEEN_AT: 5})
    response = client.get(START)
    assert response.url.startswith(reverse("login"))
    assert rows("absolute_timeout")[0].user_id == county.alice.pk
    assert "signed in for 10 hours" in client.get(response.url).text


def test_an_htmx_request_after_the_timeout_sends_the_browser_to_sign_in(client, county):
    client.force_login(county.alice)
    _age_session(client, **{sessions.LAST_SEEN_AT: 31 * 60})
    response = client.get(START, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"].startswith(reverse("login"))


def test_sign_out_is_audited_and_ends_the_session(client, county):
    client.force_login(county.alice)
    assert client.get(reverse("logout")).status_code == 405  # a link cannot sign anyone out
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response.url == "/"
    assert not signed_in(client)
    (row,) = rows("sign_out")
    assert (row.action, row.user_id, row.detail) == (Action.SIGN_OUT, county.alice.pk, "")


def test_sign_out_everywhere_ends_every_other_session_of_that_user(county):
    laptop, phone, bobs = Client(), Client(), Client()
    laptop.force_login(county.alice)
    phone.force_login(county.alice)
    bobs.force_login(county.bob)
    account = laptop.get(reverse("accounts:account"))
    assert "Sign out everywhere" in account.text

    response = laptop.post(reverse("accounts:sign_out_everywhere"))
    assert response.url == reverse("login")
    assert not signed_in(laptop)
    ended = phone.get(START)
    assert ended.status_code == 302 and ended.url.startswith(reverse("login"))
    assert not signed_in(phone)
    assert "signed out everywhere" in phone.get(ended.url).text
    assert bobs.get(START).status_code == 200  # someone else's sessions live on
    assert [
        row.what for row in AuditEvent.objects.filter(action=Action.SIGN_OUT).order_by("pk")
    ] == [
        "sign_out_everywhere",
        "signed_out_everywhere",
    ]
    # A sign-in after it works as before.
    laptop.force_login(county.alice)
    assert laptop.get(START).status_code == 200


# --- Pages and rules --------------------------------------------------------------------------


def test_the_sign_in_page_makes_no_claim_it_cannot_keep_and_offers_sso_when_on(client, settings):
    page = client.get(SIGN_IN).text
    assert "SITHS" not in page
    assert "authenticator app" in page
    settings.SAMPLAN_STAFF_OIDC_ENABLED = True
    page = client.get(f"{SIGN_IN}?next=/sip/").text
    try:
        sso = reverse("oidc_authentication_init")
    except Exception:  # the single sign-on URLs are not installed: no button to nowhere
        assert "SITHS" not in page
    else:
        assert "Sign in with SITHS (e-service card)" in page
        assert f'href="{sso}?next=/sip/"' in page


def test_the_next_page_survives_both_steps(client, county):
    from tests.two_factor import authenticator, code_now

    device = authenticator(county.alice)
    response = client.post(
        SIGN_IN, {"username": "alice", "password": PASSWORD, "next": "/sip/sok/"}
    )
    assert response.url == SECOND_FACTOR
    response = client.post(SECOND_FACTOR, {"code": code_now(device)})
    assert response.url == "/sip/sok/"
    # Never somewhere else.
    client.post(reverse("logout"))
    client.post(
        SIGN_IN, {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert client.post(SECOND_FACTOR, {"code": code_now(device)}).url == START


def test_the_admin_signs_in_through_the_same_page(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response.url == f"{SIGN_IN}?next=/admin/"
    assert client.get("/admin/").url.startswith("/admin/login/")


@pytest.mark.parametrize(
    "password, problem",
    [
        ("kort-ord-1", "too short"),
        ("password1234", "too common"),
        ("837261548273645", "entirely numeric"),
        ("testsson1234x", "too similar"),
    ],
)
def test_local_passwords_follow_the_rules(password, problem):
    user = UserFactory.build(username="alice", first_name="Alice", last_name="Testsson")
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user)
    assert problem in " ".join(refused.value.messages)


def test_a_good_password_passes_and_a_change_is_audited(client, county):
    validate_password("lingon sylt tre kor", county.alice)
    client.force_login(county.alice)
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "lingon sylt tre kor",
            "new_password2": "lingon sylt tre kor",
        },
    )
    assert response.status_code == 302 and response.url == reverse("accounts:account")
    assert client.get(START).status_code == 200  # this session lives on, still two-factor
    (row,) = rows("password")
    assert (row.action, row.user_id) == (Action.CHANGE, county.alice.pk)
    assert "lingon" not in every_text_in_the_log()
    short = client.post(
        reverse("accounts:password_change"),
        {"old_password": "lingon sylt tre kor", "new_password1": "kort", "new_password2": "kort"},
    )
    assert short.status_code == 200 and "at least 12 characters" in short.text
    assert 'value="kort"' not in short.text


def test_has_two_factors_needs_a_user_and_a_mark(rf, county):
    request = rf.get("/")
    request.session = {}
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    request.session["samplan_second_factor"] = "totp"
    assert not has_two_factors(request)
    request.user = county.alice
    assert has_two_factors(request)
    request.session.clear()
    assert not has_two_factors(request)
