"""The second factor of a local account: nothing with personal data before it, enrolment of an
authenticator on first sign-in, codes computed the way the phone computes them, backup codes
that work once, wrong codes counted towards the lockout."""

from __future__ import annotations

import base64
import datetime as dt
import time

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from samplan.access.models import AuditEvent
from samplan.cases.models import State
from samplan.directory.models import User
from tests.factories import case_in_state
from tests.two_factor import authenticator, code_now

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
SIGN_IN = "/konto/logga-in/"
SECOND_FACTOR = "/konto/andra-steget/"
ENROL = "/konto/aktivera/"
BACKUP_CODES = "/konto/reservkoder/"
START = "/start/"
Action, Outcome = AuditEvent.Action, AuditEvent.Outcome


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def with_password(client, username: str):
    return client.post(SIGN_IN, {"username": username, "password": PASSWORD})


def two_factor(client) -> str | None:
    return client.session.get("samplan_second_factor")


def rows(what: str, **filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(what=what, **filters).order_by("pk"))


# --- No personal data before the second factor -----------------------------------------------


def test_a_password_only_session_reaches_no_page_with_personal_data(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    name = case.person.full_name
    county.alice.is_staff = county.alice.is_superuser = True
    county.alice.save()
    authenticator(county.alice)
    client.force_login(county.alice, two_factors=False)
    for url in (
        f"/sip/{case.pk}/",
        START,
        "/sip/sok/",
        f"/sip/sok/?q={case.person.given_name}",
        "/sip/",
        "/admin/",
        "/admin/directory/user/",
        "/konto/",
        BACKUP_CODES,
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(SECOND_FACTOR), url
        assert name not in response.text and case.person.given_name not in response.text
    assert not AuditEvent.objects.filter(action=Action.READ).exists()
    # htmx fragments too: the browser is sent to the second factor, no fragment is swapped in.
    response = client.get(f"/sip/{case.pk}/", HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"].startswith(SECOND_FACTOR) and name not in response.text
    # A POST is refused as well, and changes nothing.
    assert client.post(BACKUP_CODES).url == SECOND_FACTOR
    assert not StaticDevice.objects.exists()

    # The way in and out stays open: the second-factor page, the language, signing out.
    page = client.get(SECOND_FACTOR)
    assert page.status_code == 200 and name not in page.text
    assert (
        client.post("/i18n/setlang/", {"language": "sv", "next": SECOND_FACTOR}).status_code == 302
    )
    assert client.get("/static/samplan/samplan.css").status_code != 302

    # With the code, the same pages open.
    client.post(SECOND_FACTOR, {"code": code_now(authenticator(county.alice))})
    assert two_factor(client) == "totp"
    response = client.get(f"/sip/{case.pk}/")
    assert response.status_code == 200 and name in response.text


def test_the_second_factor_page_sends_where_the_person_was_going(client, county):
    device = authenticator(county.alice)
    client.force_login(county.alice, two_factors=False)
    response = client.get("/sip/sok/")
    assert response.url == f"{SECOND_FACTOR}?next=/sip/sok/"
    client.get(response.url)
    assert client.post(SECOND_FACTOR, {"code": code_now(device)}).url == "/sip/sok/"


def test_signing_out_before_the_second_factor_is_audited(client, county):
    authenticator(county.alice)
    with_password(client, "alice")
    client.post(reverse("logout"))
    (row,) = rows("sign_out")
    assert row.detail == "before the second factor"
    assert client.get(SECOND_FACTOR).url == reverse("login")


# --- Enrolment --------------------------------------------------------------------------------


def test_first_sign_in_enrols_an_authenticator_then_shows_backup_codes_once(client, county):
    response = with_password(client, "alice")
    assert client.get(response.url).url == ENROL
    page = client.get(ENROL)
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in page.text
    device = TOTPDevice.objects.get(user=county.alice)
    assert not device.confirmed
    assert client.get(ENROL).text.count(page.context["secret"]) == 1  # same secret on reload
    assert TOTPDevice.objects.filter(user=county.alice).count() == 1
    secret = page.context["secret"].replace(" ", "")
    assert base64.b32decode(secret) == device.bin_key

    wrong = client.post(ENROL, {"code": "000000" if code_now(device) != "000000" else "111111"})
    assert wrong.status_code == 200 and "The code is not right" in wrong.text
    assert rows("enrolment")[0].outcome == Outcome.REFUSED
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)

    code = f"{totp(device.bin_key):06d}"
    response = client.post(ENROL, {"code": code})
    assert response.url == BACKUP_CODES
    device.refresh_from_db()
    assert device.confirmed
    assert two_factor(client) == "totp"

    shown = client.get(BACKUP_CODES)
    codes = shown.context["codes"]
    assert len(codes) == 10 and all(code in shown.text for code in codes)
    again = client.get(BACKUP_CODES)
    assert not again.context["codes"] and codes[0] not in again.text
    assert "10 unused backup codes" in again.text
    assert client.get(START).status_code == 200
    assert [row.what for row in AuditEvent.objects.filter(action=Action.CREATE).order_by("pk")] == [
        "second_factor_device",
        "backup_codes",
    ]
    # Her own enrolment is that one CREATE row: the device's signal adds no GRANT beside it.
    assert not rows("second_factor_device", action=Action.GRANT)
    assert rows("second_factor")[-1].detail == "totp; enrolled"


def test_whoever_has_only_the_password_cannot_enrol_another_phone(client, county):
    authenticator(county.alice)
    with_password(client, "alice")
    assert client.get(ENROL).url == SECOND_FACTOR
    assert client.post(ENROL, {"code": "123456"}).url == SECOND_FACTOR
    assert TOTPDevice.objects.filter(user=county.alice).count() == 1


# --- Codes ------------------------------------------------------------------------------------


def test_a_code_from_the_app_signs_in_once(county):
    device = authenticator(county.alice)
    code = f"{totp(device.bin_key):06d}"
    first, second = Client(), Client()
    with_password(first, "alice")
    response = first.post(SECOND_FACTOR, {"code": code})
    assert response.url == START and two_factor(first) == "totp"
    (row,) = rows("second_factor")
    assert (row.outcome, row.user_id, row.detail) == (Outcome.ALLOWED, county.alice.pk, "totp")

    # Someone who watched the code being typed cannot use it again.
    with_password(second, "alice")
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    refused = second.post(SECOND_FACTOR, {"code": code})
    assert refused.status_code == 200 and "The code is not right" in refused.text
    assert two_factor(second) is None
    assert rows("second_factor")[-1].outcome == Outcome.REFUSED


def test_the_session_key_changes_with_the_second_factor(client, county):
    device = authenticator(county.alice)
    with_password(client, "alice")
    before = client.session.session_key
    client.post(SECOND_FACTOR, {"code": code_now(device)})
    assert client.session.session_key != before


def test_a_backup_code_works_once(county):
    authenticator(county.alice)
    first = Client()
    first.force_login(county.alice)
    first.post(BACKUP_CODES)
    codes = first.get(BACKUP_CODES).context["codes"]

    second = Client()
    with_password(second, "alice")
    response = second.post(SECOND_FACTOR, {"code": codes[3].upper()[:4] + " " + codes[3][4:]})
    assert response.url == START and two_factor(second) == "backup_code"
    assert rows("second_factor")[-1].detail == "backup_code; 9 backup codes left"
    assert StaticToken.objects.count() == 9

    third = Client()
    with_password(third, "alice")
    refused = third.post(SECOND_FACTOR, {"code": codes[3]})
    assert refused.status_code == 200 and two_factor(third) is None
    assert rows("second_factor")[-1].detail == "wrong backup code"


def test_new_backup_codes_void_the_old_ones(client, county):
    client.force_login(county.alice)
    client.post(BACKUP_CODES)
    old = client.get(BACKUP_CODES).context["codes"]
    client.post(BACKUP_CODES)
    new = client.get(BACKUP_CODES).context["codes"]
    assert not set(old) & set(new)
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(new)
    account = client.get("/konto/")
    assert "10 unused" in account.text


def test_a_code_during_the_pause_after_wrong_ones_is_not_even_checked(client, county):
    device = authenticator(county.alice)
    with_password(client, "alice")
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=3, throttling_failure_timestamp=timezone.now()
    )
    response = client.post(SECOND_FACTOR, {"code": code_now(device)})
    assert "Wait a few seconds" in response.text
    assert two_factor(client) is None
    assert rows("second_factor")[-1].detail == "authenticator code during the pause"
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - dt.timedelta(minutes=1)
    )
    assert client.post(SECOND_FACTOR, {"code": code_now(device)}).url == START


@override_settings(OTP_TOTP_THROTTLE_FACTOR=0)
def test_wrong_codes_count_towards_the_lockout_and_sign_the_session_out(client, county):
    authenticator(county.alice)
    with_password(client, "alice")
    for attempt in range(4):
        response = client.post(SECOND_FACTOR, {"code": f"00000{attempt}"})
        assert response.status_code == 200 and "The code is not right" in response.text
    response = client.post(SECOND_FACTOR, {"code": "000009"})
    assert response.url == reverse("login")
    assert "_auth_user_id" not in client.session
    assert "signing in is paused" in client.get(response.url).text
    (lockout,) = rows("lockout")
    assert lockout.subject_user_id == county.alice.pk
    # The password alone no longer gets through either, with the answer everyone gets.
    refused = with_password(client, "alice")
    assert refused.status_code == 200 and "The user name or the password" in refused.text


def test_force_login_in_tests_marks_two_factors_unless_asked_not_to(client, county):
    client.force_login(county.alice)
    assert two_factor(client) == "totp"
    other = Client()
    other.force_login(User.objects.get(username="bob"), two_factors=False)
    assert two_factor(other) is None


def test_an_administrator_removing_a_lost_phone_is_audited_and_lets_her_enrol_again(client, county):
    device = authenticator(county.alice)
    admin = User.objects.create_superuser("admin", password=PASSWORD)
    client.force_login(admin)
    response = client.post(
        f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"}, follow=False
    )
    assert response.status_code == 302
    (row,) = rows("second_factor_removed")
    assert (row.action, row.user_id, row.subject_user_id, row.detail) == (
        Action.CHANGE,
        admin.pk,
        county.alice.pk,
        "authenticator app",
    )
    alice = Client()
    with_password(alice, "alice")
    assert alice.get(SECOND_FACTOR).url == ENROL


def test_the_middleware_costs_no_query_and_writes_the_session_once_a_minute(
    rf, county, django_assert_num_queries
):
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import HttpResponse

    from samplan.accounts import sessions
    from samplan.accounts.middleware import SignInMiddleware

    middleware = SignInMiddleware(lambda request: HttpResponse("the page"))
    middleware.open_paths()  # resolved once per process
    request = rf.get(START)
    request.user = county.alice
    request.session = SessionStore()
    request.session.update(
        {
            "samplan_second_factor": "totp",
            sessions.SIGNED_IN_AT: time.time() - 600,
            sessions.LAST_SEEN_AT: time.time() - 30,
        }
    )
    request.session.modified = False
    with django_assert_num_queries(0):
        assert middleware(request).content == b"the page"
    assert not request.session.modified  # touched 30 s ago: no write
    request.session[sessions.LAST_SEEN_AT] = time.time() - 90
    request.session.modified = False
    middleware(request)
    assert request.session.modified
    anonymous = rf.get(START)
    anonymous.user = AnonymousUser()
    with django_assert_num_queries(0):
        middleware(anonymous)
