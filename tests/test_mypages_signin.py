"""Signing in to Min SIP: e-legitimation through a real OpenID Connect provider on 127.0.0.1
(tests/oidc.py), followed redirect by redirect like a browser; the demo sign-in; sign-out; the
idle and absolute timeouts; and that a browser holds a staff member or a citizen, never both.

A sign-in is a Citizen in a new session and one audit row; every refusal is the same friendly
page, an audit row with the reason only, and nobody signed in."""

from __future__ import annotations

import datetime as dt
import time
from importlib import import_module
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from samplan.access.citizen import SESSION_KEY, Citizen, citizen_log_name
from samplan.access.models import AuditEvent
from samplan.accounts.oidc import LOA3, LOA4, SAMBI_LOA3
from samplan.cases.models import State
from samplan.mypages import checks
from samplan.mypages.middleware import SEEN_KEY
from samplan.mypages.oidc import NEXT_KEY, STATE_MAX_AGE, STATES_KEY, safe_next
from samplan.people.identity import make_identity_number
from samplan.people.models import RelatedParty
from tests.citizens import sign_in_as_person
from tests.factories import County, PersonFactory, UnitFactory, case_in_state, staff

LOA2 = "http://id.elegnamnden.se/loa/1.0/loa2"
OIDC_SE_CLAIM = "https://id.oidc.se/claim/personalIdentityNumber"
REFUSED = "We could not sign you in."
PASSWORD = "correct horse battery"  # tests/factories.py: UserFactory


def adult_number(serial: int) -> str:
    return make_identity_number(dt.date(1972, 8, 14), serial)


# --- The browser's side, over real HTTP against the live server ---------------------------------


@pytest.fixture
def broker(settings, live_server, oidc_provider, audit_log_flushable):
    """Samplan (the live server) registered at the provider as Min SIP's own client."""
    client = oidc_provider.add_client([f"{live_server.url}/mina-sidor/oidc/callback/"])
    for name, value in oidc_provider.relying_party_settings(client).items():
        setattr(settings, f"SAMPLAN_PERSON_{name}", value)
    settings.SAMPLAN_PERSON_OIDC_ENABLED = True
    return oidc_provider


@pytest.fixture
def web():
    session = requests.Session()
    session.headers["Accept-Language"] = "en"
    return session


def start_url(live_server, query: str = "") -> str:
    return f"{live_server.url}/mina-sidor/oidc/authenticate/{query}"


def callback_url(live_server) -> str:
    return f"{live_server.url}/mina-sidor/oidc/callback/"


def session_of(web: requests.Session):
    key = next(
        (c.value for c in web.cookies if c.name == django_settings.SESSION_COOKIE_NAME), None
    )
    if key is None:
        return {}
    return import_module(django_settings.SESSION_ENGINE).SessionStore(session_key=key)


def citizen_of(web: requests.Session) -> dict | None:
    return session_of(web).get(SESSION_KEY)


def rows(what: str = "min_sip"):
    return list(AuditEvent.objects.filter(what=what).order_by("seq"))


def assert_refused(response, live_server, web, reason: str, *secrets: str) -> None:
    assert response.url == f"{live_server.url}{reverse('mypages:sign_in')}"
    assert REFUSED in response.text
    assert citizen_of(web) is None
    [row] = rows()
    assert (row.action, row.outcome) == (AuditEvent.Action.SIGN_IN, AuditEvent.Outcome.REFUSED)
    assert row.detail == f"reason={reason}"
    assert (row.user_id, row.person_id, row.username) == (None, None, "")
    for secret in secrets:  # the number given is in no field of the row
        assert secret not in f"{row.detail} {row.username} {row.subject_username} {row.path}"


def test_a_person_signs_in_with_e_legitimation_and_lands_on_min_sip(broker, live_server, web):
    case = case_in_state(County(), State.PREPARATION)
    number = case.person.identity_number
    person = broker.add_user(
        {
            "acr": LOA3,
            "personal_identity_number": number,
            "given_name": "Gunnel",
            "family_name": "Åberg",
        }
    )
    # The way a person finds it: the sign-in page's button.
    page = web.get(f"{live_server.url}{reverse('mypages:sign_in')}").text
    assert 'href="/mina-sidor/oidc/authenticate/"' in page
    assert "Sign in with BankID or Freja e-identification" in page

    response = broker.sign_in(web, start_url(live_server), person)

    assert response.status_code == 200
    assert response.url == f"{live_server.url}{reverse('mypages:home')}"
    citizen = Citizen.from_session(citizen_of(web))
    assert (citizen.identity_number, citizen.name, citizen.method) == (
        number,
        "Gunnel Åberg",
        "oidc",
    )
    assert "_auth_user_id" not in session_of(web)
    [row] = rows()
    assert (row.action, row.outcome) == (AuditEvent.Action.SIGN_IN, AuditEvent.Outcome.ALLOWED)
    assert (row.person_id, row.user_id, row.detail) == (case.person_id, None, "oidc")
    assert (row.username, row.citizen_role) == (citizen_log_name(number), "citizen")
    assert number not in row.username
    # request.citizen is set: the sign-in page sends a signed-in citizen on to Min SIP, and
    # their own SIP opens.
    again = web.get(f"{live_server.url}{reverse('mypages:sign_in')}")
    assert again.url == f"{live_server.url}{reverse('mypages:home')}"
    overview = web.get(f"{live_server.url}{reverse('mypages:case', args=[case.pk])}")
    assert overview.status_code == 200


def test_the_oidc_se_claim_works_and_a_party_has_no_person_in_the_row(broker, live_server, web):
    case = case_in_state(County(), State.PREPARATION)
    number = adult_number(51)
    RelatedParty.objects.create(
        person=case.person, kind=RelatedParty.Kind.RELATIVE, identity_number=number, name="Dotter"
    ).cases.add(case)
    shown = f"{number[2:8]}-{number[8:]}"  # ten digits with a hyphen, as some brokers send it
    relative = broker.add_user({"acr": SAMBI_LOA3, OIDC_SE_CLAIM: shown, "name": "Birgitta Å"})

    response = broker.sign_in(web, start_url(live_server), relative)

    assert response.url == f"{live_server.url}{reverse('mypages:home')}"
    assert citizen_of(web)["identity_number"] == number
    assert citizen_of(web)["name"] == "Birgitta Å"
    [row] = rows()
    assert (row.outcome, row.person_id) == (AuditEvent.Outcome.ALLOWED, None)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"acr": LOA3}, "no_identity"),
        ({"acr": LOA3, "personal_identity_number": "197208141235"}, "bad_identity"),  # checksum
        ({"acr": LOA3, "personal_identity_number": "RES-4711"}, "bad_identity"),  # reserve no.
        ({"acr": LOA2, "personal_identity_number": "{number}"}, "too_weak"),
        ({"amr": ["mfa"], "personal_identity_number": "{number}"}, "too_weak"),  # acr only
        (
            {"acr": LOA4, "personal_identity_number": "{number}", OIDC_SE_CLAIM: "{other}"},
            "bad_identity",  # two claims naming two people
        ),
        ({"acr": LOA3, "personal_identity_number": "{number}", "aud": "another"}, "token"),
    ],
    ids=[
        "no claim",
        "bad number",
        "reserve number",
        "weak acr",
        "amr instead of acr",
        "claims disagree",
        "wrong audience",
    ],
)
def test_a_refused_sign_in_signs_nobody_in_and_logs_only_the_reason(
    broker, live_server, web, claims, reason
):
    case = case_in_state(County(), State.PREPARATION)
    number = case.person.identity_number
    values = {"number": number, "other": adult_number(52)}
    claims = {
        key: value.format(**values) if isinstance(value, str) else value
        for key, value in claims.items()
    }
    person = broker.add_user(claims)

    response = broker.sign_in(web, start_url(live_server), person)

    assert_refused(response, live_server, web, reason, number, adult_number(52))
    # Not signed in: a page of Min SIP still sends the browser to the sign-in page.
    overview = web.get(f"{live_server.url}{reverse('mypages:case', args=[case.pk])}")
    assert overview.url.startswith(f"{live_server.url}{reverse('mypages:sign_in')}?next=")


def test_the_userinfo_never_lends_the_strength(broker, live_server, web):
    case = case_in_state(County(), State.PREPARATION)
    number = case.person.identity_number
    person = broker.add_user(
        {"personal_identity_number": number},
        userinfo={"acr": LOA3, "personal_identity_number": number},
    )
    response = broker.sign_in(web, start_url(live_server), person)
    assert_refused(response, live_server, web, "too_weak", number)


def test_a_token_from_another_issuer_is_refused(broker, settings, live_server, web):
    number = adult_number(53)
    person = broker.add_user({"acr": LOA3, "personal_identity_number": number})
    settings.SAMPLAN_PERSON_OIDC_OP_ISSUER = "https://broker.example.org/openid"

    response = broker.sign_in(web, start_url(live_server), person)

    assert_refused(response, live_server, web, "token", number)


def test_a_forged_state_is_refused_and_spends_nothing(broker, live_server, web):
    number = adult_number(54)
    person = broker.add_user({"acr": LOA3, "personal_identity_number": number})
    callback = callback_url(live_server)
    to_callback = broker.sign_in_until(web, start_url(live_server), person, stop_at=callback)
    query = parse_qs(urlsplit(to_callback.headers["Location"]).query)
    forged = {"code": query["code"][0], "state": query["state"][0][:-4] + "AAAA"}

    response = web.get(f"{callback}?{urlencode(forged)}")

    assert_refused(response, live_server, web, "state", number)
    # The real answer still works: the forged one spent neither the code nor the state.
    response = web.get(to_callback.headers["Location"])
    assert response.url == f"{live_server.url}{reverse('mypages:home')}"
    assert citizen_of(web)["identity_number"] == number


def test_a_replayed_callback_from_another_browser_is_refused(broker, live_server, web):
    number = adult_number(55)
    person = broker.add_user({"acr": LOA3, "personal_identity_number": number})
    callback = callback_url(live_server)
    answer = broker.sign_in_until(web, start_url(live_server), person, stop_at=callback)
    assert web.get(answer.headers["Location"]).url == f"{live_server.url}/mina-sidor/"

    other = requests.Session()
    response = other.get(answer.headers["Location"])

    assert response.url == f"{live_server.url}{reverse('mypages:sign_in')}"
    assert citizen_of(other) is None
    assert [(row.outcome, row.detail) for row in rows()] == [
        (AuditEvent.Outcome.ALLOWED, "oidc"),
        (AuditEvent.Outcome.REFUSED, "reason=state"),
    ]


def test_an_error_from_the_broker_is_refused_and_audited(broker, live_server, web):
    to_broker = web.get(start_url(live_server), allow_redirects=False).headers["Location"]
    # prompt=none to a browser not signed in at the broker: it answers error=login_required.
    response = web.get(f"{to_broker}&prompt=none")

    assert_refused(response, live_server, web, "provider_error")


def test_after_sign_in_the_browser_goes_on_within_min_sip_but_never_away(broker, live_server, web):
    case = case_in_state(County(), State.PREPARATION)
    person = broker.add_user({"acr": LOA3, "personal_identity_number": case.person.identity_number})
    overview = reverse("mypages:case", args=[case.pk])

    response = broker.sign_in(web, start_url(live_server, f"?next={overview}"), person)
    assert response.url == f"{live_server.url}{overview}"

    for away in ("https://evil.example/", "//evil.example/mina-sidor/", "/start/"):
        browser = requests.Session()
        response = broker.sign_in(browser, start_url(live_server, f"?next={away}"), person)
        assert response.url == f"{live_server.url}{reverse('mypages:home')}", away


def test_the_request_to_the_broker_asks_for_loa3_with_pkce_apart_from_staff(broker, client):
    response = client.get(reverse("mypages:oidc_start"), {"next": "/mina-sidor/"})

    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["client_id"] == [django_settings.SAMPLAN_PERSON_OIDC_RP_CLIENT_ID]
    assert query["redirect_uri"] == ["http://testserver/mina-sidor/oidc/callback/"]
    assert LOA3 in query["acr_values"][0].split()
    assert '"essential": true' in query["claims"][0]
    assert query["code_challenge_method"] == ["S256"]
    session = client.session
    assert list(session[STATES_KEY]) == query["state"]
    assert "oidc_states" not in session  # the staff's callback cannot spend it
    assert session[NEXT_KEY] == "/mina-sidor/"


def age_pending_sign_ins(session, seconds: float) -> None:
    """Move every pending sign-in of this session `seconds` into the past."""
    pending = session[STATES_KEY]
    for begun in pending.values():
        begun["added_on"] -= seconds
    session[STATES_KEY] = pending
    session.save()


@pytest.mark.parametrize(("minutes", "signed_in"), [(9, True), (11, False)])
def test_a_sign_in_must_come_back_within_ten_minutes(broker, live_server, web, minutes, signed_in):
    assert STATE_MAX_AGE == 10 * 60
    number = adult_number(56)
    person = broker.add_user({"acr": LOA3, "personal_identity_number": number})
    answer = broker.sign_in_until(
        web, start_url(live_server), person, stop_at=callback_url(live_server)
    )
    age_pending_sign_ins(session_of(web), minutes * 60)

    response = web.get(answer.headers["Location"])

    if signed_in:
        assert response.url == f"{live_server.url}{reverse('mypages:home')}"
        assert citizen_of(web)["identity_number"] == number
    else:  # refused and audited as a forged state would be, and the state is spent
        assert_refused(response, live_server, web, "state", number)
        assert session_of(web)[STATES_KEY] == {}


def test_beginning_a_sign_in_drops_the_expired_ones(broker, client):
    first = client.get(reverse("mypages:oidc_start"))
    age_pending_sign_ins(client.session, STATE_MAX_AGE + 1)
    second = client.get(reverse("mypages:oidc_start"))

    states = [parse_qs(urlsplit(r["Location"]).query)["state"][0] for r in (first, second)]
    assert list(client.session[STATES_KEY]) == states[1:]


class BrokerCalls:
    """What mozilla-django-oidc sends to the broker (token, JWKS, userinfo), passed on unchanged."""

    def __init__(self, monkeypatch):
        import mozilla_django_oidc.auth

        self.calls: list[dict] = []
        spy = type("Requests", (), {})()
        spy.post = lambda url, **kwargs: self._record(requests.post, url, kwargs)
        spy.get = lambda url, **kwargs: self._record(requests.get, url, kwargs)
        monkeypatch.setattr(mozilla_django_oidc.auth, "requests", spy)

    def _record(self, send, url, kwargs):
        self.calls.append({"url": url, **kwargs})
        return send(url, **kwargs)

    def to(self, url: str) -> list[dict]:
        return [call for call in self.calls if call["url"] == url]


def test_the_staff_transport_settings_never_reach_the_person_broker(
    broker, settings, live_server, monkeypatch
):
    # Staff single sign-on through a broker on a test certificate, with basic auth.
    settings.OIDC_VERIFY_SSL = False
    settings.OIDC_TOKEN_USE_BASIC_AUTH = True
    calls = BrokerCalls(monkeypatch)
    number = adult_number(57)
    person = broker.add_user({"acr": LOA3, "personal_identity_number": number})
    token_endpoint = settings.SAMPLAN_PERSON_OIDC_OP_TOKEN_ENDPOINT

    browser = requests.Session()
    response = broker.sign_in(browser, start_url(live_server), person)

    assert response.url == f"{live_server.url}{reverse('mypages:home')}"
    [token] = calls.to(token_endpoint)
    assert [call["verify"] for call in calls.calls] == [True] * len(calls.calls)
    assert token.get("auth") is None and "client_secret" in token["data"]

    # The person broker's own settings do reach it.
    settings.SAMPLAN_PERSON_OIDC_VERIFY_SSL = False
    settings.SAMPLAN_PERSON_OIDC_TOKEN_USE_BASIC_AUTH = True
    calls.calls.clear()
    browser = requests.Session()
    response = broker.sign_in(browser, start_url(live_server), person)

    assert response.url == f"{live_server.url}{reverse('mypages:home')}"
    [token] = calls.to(token_endpoint)
    assert [call["verify"] for call in calls.calls] == [False] * len(calls.calls)
    assert token["auth"] is not None and "client_secret" not in token["data"]


def test_sign_in_with_e_legitimation_is_not_there_unless_switched_on(settings, client, db):
    settings.SAMPLAN_PERSON_OIDC_ENABLED = False
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    assert client.get(reverse("mypages:oidc_start")).status_code == 404
    assert client.get(
        reverse("mypages:oidc_callback"), {"code": "x", "state": "y"}
    ).status_code == (404)
    assert "BankID" not in client.get(reverse("mypages:sign_in")).text


def test_a_callback_nobody_began_is_refused_and_signs_no_one_out(settings, client, county):
    settings.SAMPLAN_PERSON_OIDC_ENABLED = True
    case = case_in_state(county, State.PREPARATION)
    sign_in_as_person(client, case)

    response = client.get(reverse("mypages:oidc_callback"), {"error": "x", "state": "made-up"})

    assert response.url == reverse("mypages:sign_in")
    assert client.session[SESSION_KEY]["identity_number"] == case.person.identity_number
    [row] = rows()
    assert (row.outcome, row.detail) == (AuditEvent.Outcome.REFUSED, "reason=state")


# --- One browser, one kind of session -----------------------------------------------------------


@pytest.fixture
def staff_sso(broker, settings, live_server):
    """The live server's staff single sign-on, through the same provider (another client)."""
    client = broker.add_client([f"{live_server.url}/oidc/callback/"])
    for name, value in broker.relying_party_settings(client).items():
        setattr(settings, name, value)
    settings.SAMPLAN_STAFF_OIDC_ENABLED = True
    return broker


def test_a_citizen_sign_in_signs_out_the_staff_member_in_the_same_browser(
    staff_sso, live_server, web
):
    alice = staff(UnitFactory(), username="alice", hsa_id="SE2321000016-S1T5")
    staff_person = staff_sso.add_user({"acr": LOA3, "employeeHsaId": "SE2321000016-S1T5"})
    assert staff_sso.sign_in(web, f"{live_server.url}/oidc/authenticate/", staff_person).url == (
        f"{live_server.url}/start/"
    )
    assert session_of(web)["_auth_user_id"] == str(alice.pk)
    # A staff member sees a warning on the sign-in page.
    assert "signed out as staff" in web.get(f"{live_server.url}/mina-sidor/logga-in/").text
    number = adult_number(56)
    citizen = staff_sso.add_user({"acr": LOA3, "personal_identity_number": number})
    # One provider plays both brokers here: forget its own sign-in, as another broker would.
    for cookie in [c for c in web.cookies if c.name.startswith("provider_")]:
        web.cookies.clear(cookie.domain, cookie.path, cookie.name)

    staff_sso.sign_in(web, start_url(live_server), citizen)

    session = session_of(web)
    assert "_auth_user_id" not in session
    assert session[SESSION_KEY]["identity_number"] == number
    assert web.get(f"{live_server.url}/start/").url.startswith(f"{live_server.url}/konto/logga-in/")
    [signed_out] = rows("sign_out")
    assert (signed_out.action, signed_out.user_id) == (AuditEvent.Action.SIGN_OUT, alice.pk)


def test_a_staff_sign_in_drops_the_citizen(client, county):
    case = case_in_state(county, State.PREPARATION)
    citizen = sign_in_as_person(client, case)
    staff(UnitFactory(), username="dora")

    response = client.post(reverse("login"), {"username": "dora", "password": PASSWORD})

    assert response.url == reverse("accounts:second_factor")
    assert SESSION_KEY not in client.session
    [row] = rows()
    assert (row.action, row.username, row.detail) == (
        AuditEvent.Action.SIGN_OUT,
        citizen.log_name,
        "a staff sign-in",
    )


def test_no_citizen_is_read_while_a_staff_member_is_signed_in(client, county):
    case = case_in_state(county, State.PREPARATION)
    client.force_login(county.alice)
    session = client.session
    session[SESSION_KEY] = Citizen(case.person.identity_number).to_session()
    session.save()

    response = client.get(reverse("mypages:case", args=[case.pk]))

    assert response.status_code == 302
    assert response.url.startswith(reverse("mypages:sign_in"))


# --- Timeouts and signing out --------------------------------------------------------------------


def shift(client, *, signed_in_minutes_ago: float, seen_minutes_ago: float) -> None:
    session = client.session
    data = session[SESSION_KEY]
    data["signed_in_at"] = (
        timezone.now() - dt.timedelta(minutes=signed_in_minutes_ago)
    ).isoformat()
    session[SESSION_KEY] = data
    session[SEEN_KEY] = time.time() - seen_minutes_ago * 60
    session.save()


def test_fifteen_minutes_without_a_request_sign_the_citizen_out(client, county):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    case = case_in_state(county, State.PREPARATION)
    citizen = sign_in_as_person(client, case)
    overview = reverse("mypages:case", args=[case.pk])
    shift(client, signed_in_minutes_ago=30, seen_minutes_ago=14)
    assert client.get(overview).status_code == 200
    assert client.session[SEEN_KEY] > time.time() - 60  # the request counted as activity

    shift(client, signed_in_minutes_ago=30, seen_minutes_ago=16)
    response = client.get(overview)

    assert response.status_code == 302
    assert response.url == f"{reverse('mypages:sign_in')}?next={overview}"
    assert SESSION_KEY not in client.session
    [row] = rows("idle")
    assert (row.action, row.username, row.person_id) == (
        AuditEvent.Action.SIGN_OUT,
        citizen.log_name,
        case.person_id,
    )
    page = client.get(response.url)
    assert "signed out after 15 minutes without activity" in page.text


def test_two_hours_after_signing_in_the_citizen_is_signed_out_whatever_they_do(client, county):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    case = case_in_state(county, State.PREPARATION)
    sign_in_as_person(client, case)
    overview = reverse("mypages:case", args=[case.pk])
    shift(client, signed_in_minutes_ago=119, seen_minutes_ago=0)
    assert client.get(overview).status_code == 200

    shift(client, signed_in_minutes_ago=121, seen_minutes_ago=0)
    response = client.get(overview)

    assert response.url.startswith(reverse("mypages:sign_in"))
    assert SESSION_KEY not in client.session
    assert [row.action for row in rows("absolute")] == [AuditEvent.Action.SIGN_OUT]
    assert "signed in for 2 hours" in client.get(response.url).text


def test_the_timeouts_follow_the_settings(settings, client, county):
    settings.SAMPLAN_PERSON_IDLE_TIMEOUT_MINUTES = 5
    case = case_in_state(county, State.PREPARATION)
    sign_in_as_person(client, case)
    shift(client, signed_in_minutes_ago=6, seen_minutes_ago=6)

    assert client.get(reverse("mypages:home")).status_code == 302
    assert rows("idle")


def test_signing_out_ends_the_session_and_is_audited(client, county):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    case = case_in_state(county, State.PREPARATION)
    citizen = sign_in_as_person(client, case)

    response = client.post(reverse("mypages:sign_out"), follow=True)

    assert response.redirect_chain == [(reverse("mypages:about"), 302)]
    assert "You are signed out of My SIP." in response.text
    assert SESSION_KEY not in client.session
    [row] = rows()
    assert (row.action, row.username, row.person_id) == (
        AuditEvent.Action.SIGN_OUT,
        citizen.log_name,
        case.person_id,
    )
    assert client.get(reverse("mypages:case", args=[case.pk])).status_code == 302
    assert client.get(reverse("mypages:sign_out")).status_code == 405


def test_signing_out_of_min_sip_leaves_a_staff_member_signed_in(client, county):
    client.force_login(county.alice)

    client.post(reverse("mypages:sign_out"))

    assert client.session["_auth_user_id"] == str(county.alice.pk)
    assert not rows()


# --- The sign-in page and the demo sign-in -------------------------------------------------------


@pytest.fixture
def demo_on(settings):
    settings.HTTPS = False
    settings.SAMPLAN_PERSON_DEMO_SIGN_IN = True


def test_the_sign_in_page_is_open_to_anyone_and_shows_the_demo_box(
    demo_on, client, county, django_assert_max_num_queries
):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    case = case_in_state(county, State.PREPARATION)
    related = RelatedParty.objects.create(
        person=case.person,
        kind=RelatedParty.Kind.RELATIVE,  # an adult's guardian has no part (custody ends at 18)
        identity_number=adult_number(57),
        name="Maria Lindqvist",
        may_see=RelatedParty.Sees.EVERYTHING,
    )
    related.cases.add(case)
    RelatedParty.objects.create(
        person=case.person,
        kind=RelatedParty.Kind.RELATIVE,
        identity_number=adult_number(58),
        name="Not in the SIP",
        may_see=RelatedParty.Sees.PLAN,
    )  # known in no SIP: nothing to sign in to

    with django_assert_max_num_queries(4):
        response = client.get(reverse("mypages:sign_in"))

    assert response.status_code == 200
    page = response.text
    assert "Demo: fictitious people only" in page
    assert f'value="{case.person.identity_number}"' in page
    assert f"{case.person.full_name} – their own SIP" in page
    assert f'value="{adult_number(57)}"' in page
    assert "Not in the SIP" not in page
    assert "BankID" not in page  # e-legitimation is off in this test


def test_demo_sign_in_signs_in_a_demo_person_exactly_as_e_legitimation_does(
    demo_on, client, county
):
    case = case_in_state(county, State.PREPARATION)
    number = case.person.identity_number
    client.force_login(county.alice)  # a staff member in the same browser is signed out
    overview = reverse("mypages:case", args=[case.pk])

    response = client.post(
        reverse("mypages:demo_sign_in"), {"identity_number": number, "next": overview}
    )

    assert response.status_code == 302 and response.url == overview
    assert "_auth_user_id" not in client.session
    citizen = Citizen.from_session(client.session[SESSION_KEY])
    assert (citizen.identity_number, citizen.name, citizen.method) == (
        number,
        case.person.full_name,
        "demo",
    )
    assert client.get(overview).status_code == 200
    [row] = rows()
    assert (row.action, row.outcome, row.detail, row.person_id) == (
        AuditEvent.Action.SIGN_IN,
        AuditEvent.Outcome.ALLOWED,
        "demo",
        case.person_id,
    )


def test_demo_sign_in_refuses_a_number_not_in_the_demo(demo_on, client, county):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    real = case_in_state(county, State.PREPARATION, person=PersonFactory(is_fictitious=False))
    for number in (real.person.identity_number, adult_number(59)):
        response = client.post(reverse("mypages:demo_sign_in"), {"identity_number": number})

        assert response.status_code == 400
        assert "Choose one of the people in the list." in response.text
        assert SESSION_KEY not in client.session
    assert [row.detail for row in rows()] == ["reason=not_demo", "reason=not_demo"]
    assert all(row.outcome == AuditEvent.Outcome.REFUSED for row in rows())


def test_demo_sign_in_is_not_there_when_switched_off_or_behind_tls(settings, client, county):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    case = case_in_state(county, State.PREPARATION)
    number = case.person.identity_number
    for https, switched_on in ((False, False), (True, True)):
        settings.HTTPS = https
        settings.SAMPLAN_PERSON_DEMO_SIGN_IN = switched_on

        assert "Demo: fictitious people only" not in client.get(reverse("mypages:sign_in")).text
        response = client.post(reverse("mypages:demo_sign_in"), {"identity_number": number})
        assert response.status_code == 404
        assert SESSION_KEY not in client.session
    assert not rows()


def test_an_adult_persons_guardian_is_offered_only_what_the_register_gives(demo_on, county):
    from samplan.demo.county import demo_citizens

    case = case_in_state(county, State.PREPARATION)
    for serial, kind, sees in (
        (60, RelatedParty.Kind.GUARDIAN, RelatedParty.Sees.NOTHING),  # of an adult: not granted
        (61, RelatedParty.Kind.RELATIVE, RelatedParty.Sees.MEETINGS),
    ):
        party = RelatedParty.objects.create(
            person=case.person,
            kind=kind,
            identity_number=adult_number(serial),
            name=kind,
            may_see=sees,
        )
        party.cases.add(case)

    offered = {citizen.identity_number: citizen for citizen in demo_citizens()}

    assert adult_number(60) not in offered
    assert (offered[adult_number(61)].sees, offered[adult_number(61)].may_act) == (
        "meetings",
        False,
    )


def test_a_signed_in_citizen_is_sent_on_from_the_sign_in_page(client, county):
    case = case_in_state(county, State.PREPARATION)
    sign_in_as_person(client, case)
    overview = reverse("mypages:case", args=[case.pk])

    assert client.get(reverse("mypages:sign_in")).url == reverse("mypages:home")
    assert client.get(reverse("mypages:sign_in"), {"next": overview}).url == overview


def test_next_is_only_a_page_of_min_sip_on_this_host(rf, db):
    request = rf.get("/")
    assert safe_next(request, "/mina-sidor/sip/12/plan/") == "/mina-sidor/sip/12/plan/"
    for unsafe in (
        "https://evil.example/mina-sidor/",
        "//evil.example/mina-sidor/",
        "/start/",
        "/mina-sidor/logga-in/",
        "/mina-sidor/oidc/callback/",
        "/mina-sidor/no-such-page/",
        "javascript:alert(1)",
        "",
        None,
    ):
        assert safe_next(request, unsafe) == "", unsafe


# --- Start-up checks -----------------------------------------------------------------------------


def test_switched_on_without_a_broker_is_an_error_at_startup(settings):
    settings.SAMPLAN_PERSON_OIDC_ENABLED = True
    for name in checks.REQUIRED:
        setattr(settings, name, "")
    settings.SAMPLAN_PERSON_OIDC_RP_CLIENT_ID = "min-sip"
    settings.SAMPLAN_PERSON_OIDC_ACCEPTED_ACR = []

    found = checks.person_sign_in_configured()

    assert sum(error.id == "samplan.E301" for error in found) == len(checks.REQUIRED) - 1
    assert any(error.id == "samplan.E302" for error in found)
    settings.SAMPLAN_PERSON_OIDC_ENABLED = False
    assert checks.person_sign_in_configured() == []


def test_the_broker_s_certificate_unchecked_is_a_warning_at_startup(settings):
    settings.SAMPLAN_PERSON_OIDC_ENABLED = True
    settings.OIDC_VERIFY_SSL = False  # the staff's: no warning about the person broker
    assert "samplan.W306" not in [error.id for error in checks.person_sign_in_configured()]
    settings.SAMPLAN_PERSON_OIDC_VERIFY_SSL = False
    assert "samplan.W306" in [error.id for error in checks.person_sign_in_configured()]


def test_the_demo_sign_in_behind_tls_is_an_error_at_startup(settings):
    settings.HTTPS = True
    settings.SAMPLAN_PERSON_DEMO_SIGN_IN = True
    assert [error.id for error in checks.no_demo_sign_in_behind_tls()] == ["samplan.E305"]
    settings.SAMPLAN_PERSON_DEMO_SIGN_IN = False
    assert checks.no_demo_sign_in_behind_tls() == []
    settings.HTTPS = False
    settings.SAMPLAN_PERSON_DEMO_SIGN_IN = True
    assert checks.no_demo_sign_in_behind_tls() == []


def test_the_checks_run_with_manage_py_check(settings):
    settings.HTTPS = True
    settings.SAMPLAN_PERSON_DEMO_SIGN_IN = True
    with pytest.raises(Exception, match="samplan.E305"):
        call_command("check")
