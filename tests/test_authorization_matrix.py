"""The authorization matrix (issue 7, quality bar): every URL of samplan.urls, asked by every
role, answers as the table says. A URL without an entry fails the test, so a new page cannot
arrive without someone deciding who may open it.

Roles, around one SIP coordinated by alice's vårdcentral (region) in which bob's hemtjänst
(kommun) takes part, with a meeting called and a case message:
- coordinator: SIP coordinator at the coordinating unit (alice);
- participant: staff of a participating unit whose organisation the consent names (bob);
- other_organisation: a coordinator at a unit of an organisation that takes no part (charlie);
- unit_administrator: unit administrator of the coordinating unit;
- security_officer: security officer at the coordinating unit;
- superuser: a superuser with no assignment (administers the directory, is not staff);
- anonymous: not signed in;
and three private individuals signed in to Min SIP (samplan.mypages, e-legitimation):
- person: the person the SIP is for (an adult);
- relative: a relative known in the SIP whom the person let see the meetings only;
- stranger: someone signed in to Min SIP who has no part in this SIP;
and two systems calling the API with a bearer token (samplan.api), no session:
- system: the API client of bob's hemtjänst (a participant's rights there);
- system_other: the API client of charlie's unit, which takes no part.

Every URL is asked with GET (POST for the views that take nothing else); the action views
that show their form to everyone who sees the case are asked again with a valid POST
(EXPECTED_POST), because there the act, not the page, is what a role may or may not do.
Outcomes:
- OK: 200, or a redirect to a page that is not a sign-in page; for a POST also 400 or 409
  (the form is valid, so a 400 comes from the transition table, after the right was checked);
- REFUSED: 403 or 404 (a foreign case is a 404 so that it is not known to exist);
- SIGN_IN: a redirect to a sign-in page (ours or the admin's), or the API's 401 (a bearer
  token is the API's only way in: a staff session gets a 401 there).

Left out on purpose: the admin's own pages except its index (their access is Django's is_staff
and model permissions, the same code for every model), static files and Django's i18n
catalogue. Everything else is enumerated from the resolver, recursively.

The data are built once for the module, inside a transaction that is rolled back at its end;
each test runs in a savepoint of its own (pytest-django's `db`), so what one request changes is
gone before the next.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from samplan.api.services import create_client
from samplan.cases import services
from samplan.cases.models import CaseMessage, Invitation, Meeting, SipCase, State
from samplan.directory.models import Assignment, Unit
from samplan.documents.models import ContingencyPack
from samplan.fhir.export import PERSONNUMMER
from samplan.people.identity import make_identity_number
from samplan.people.models import RelatedParty
from tests.citizens import sign_in_citizen
from tests.factories import County, UserFactory, case_in_state, related_party_of, staff

OK, REFUSED, SIGN_IN = "ok", "refused", "sign-in"

ROLES = (
    "coordinator",
    "participant",
    "other_organisation",
    "unit_administrator",
    "security_officer",
    "superuser",
    "anonymous",
    "person",
    "relative",
    "stranger",
    "system",
    "system_other",
)
CITIZENS = ("person", "relative", "stranger")
# A system's token means nothing to the pages: there it is as anonymous as anyone.
SYSTEMS = ("system", "system_other")

SKIPPED_NAMESPACES = {"admin"}  # except admin:index, below
SKIPPED_NAMES = {"set_language"}  # Django's language switch: a POST that only sets a cookie


def _walk(patterns, namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", pattern


def url_names() -> dict[str, URLPattern]:
    """Every named URL of samplan.urls, but the admin's internals (its index stays)."""
    names = {}
    for name, pattern in _walk(get_resolver().url_patterns):
        root = name.split(":")[0] if ":" in name else ""
        if name == "admin:index" or (root not in SKIPPED_NAMESPACES and name not in SKIPPED_NAMES):
            names[name] = pattern
    return names


def every(outcome: str, **exceptions: str) -> dict[str, str]:
    """The same outcome for every role but those named; a private individual signed in to Min SIP
    is no staff member, so a staff page sends them to the staff sign-in like anyone anonymous."""
    row = {role: exceptions.get(role, outcome) for role in ROLES}
    for outsider in (*CITIZENS, *SYSTEMS):
        if outsider not in exceptions:
            row[outsider] = exceptions.get("anonymous", row["anonymous"])
    return row


def min_sip(**citizens: str) -> dict[str, str]:
    """A page of Min SIP: staff and anonymous visitors go to Min SIP's sign-in (a staff session
    is not a citizen's); the citizens get what is named."""
    return {**every(SIGN_IN), **citizens}


# Min SIP: the person sees all of their SIP; the relative only the meetings; the stranger nothing
# (404: another person's SIP is not known to exist).
PERSONS_OWN = min_sip(person=OK, relative=REFUSED, stranger=REFUSED)
RELATIVE_SEES = min_sip(person=OK, relative=OK, stranger=REFUSED)


# Who may open what. A case page refused is a 404 (get_case_for: a foreign case is not known to
# exist); a page that is not about one case, a 403.
CASE_READERS = every(
    REFUSED, coordinator=OK, participant=OK, unit_administrator=OK, anonymous=SIGN_IN
)
SIGNED_IN = every(OK, anonymous=SIGN_IN)
SECURITY_OFFICER = every(REFUSED, security_officer=OK, anonymous=SIGN_IN)
# The coordinating unit's coordinator drives the case; the others who see it are refused the act.
DRIVER = every(REFUSED, coordinator=OK, anonymous=SIGN_IN)
# Staff of the units that take part act on it; a unit administrator sees but never acts.
TAKING_PART = every(REFUSED, coordinator=OK, participant=OK, anonymous=SIGN_IN)

# The API: a system with a token, for what its unit may see; everyone else a 401 (SIGN_IN).
SYSTEM_READS = every(SIGN_IN, system=OK, system_other=REFUSED)
# Lists and searches answer every system, each with what its unit may see (perhaps nothing).
SYSTEM_LISTS = every(SIGN_IN, system=OK, system_other=OK)

EXPECTED: dict[str, dict[str, str]] = {
    # Public, and the way in and out.
    "home": every(OK),
    "login": every(OK),  # signed in: a redirect to the start page
    "logout": every(OK),
    "admin:index": every(SIGN_IN, superuser=OK),  # staff are not is_staff: the admin's sign-in
    # One's own account: every signed-in user, for themselves only (no id in the address).
    "accounts:account": SIGNED_IN,
    "accounts:enrol": SIGNED_IN,
    "accounts:backup_codes": SIGNED_IN,
    "accounts:password_change": SIGNED_IN,
    "accounts:second_factor": SIGNED_IN,  # two factors already: on to the start page
    "accounts:sign_out_everywhere": every(SIGN_IN),  # POST only; ends at the sign-in page
    # Single sign-on: 404 for everyone unless SAMPLAN_STAFF_OIDC is set (it is not here); with
    # it on, tests/test_oidc* drive both against a real provider.
    "oidc_authentication_init": every(REFUSED),
    "oidc_authentication_callback": every(REFUSED),
    # Lists: everyone signed in, each sees only what they may (cases_visible_to).
    "workspace:start": SIGNED_IN,
    "workspace:case_list": SIGNED_IN,
    "workspace:search": SIGNED_IN,
    # Starting a SIP: staff with a working assignment (coordinator or participant) anywhere.
    "workspace:initiate": every(
        REFUSED, coordinator=OK, participant=OK, other_organisation=OK, anonymous=SIGN_IN
    ),
    # The checksum check reads nothing from the database (and is rate limited).
    "workspace:check_identity": SIGNED_IN,
    # Log review: the security officer only; a superuser is no security officer.
    "workspace:audit_log": SECURITY_OFFICER,
    "workspace:audit_log_export": SECURITY_OFFICER,  # POST only
    "workspace:log_reviews": SECURITY_OFFICER,
    "workspace:log_review_new": SECURITY_OFFICER,
    # The case and its pages: whoever sees the case. The forms of the steps are shown to all
    # who see it; the act itself is refused by the services (see the POST rows below).
    "workspace:case_detail": CASE_READERS,
    "workspace:case_messages": CASE_READERS,
    "workspace:add_related_party": CASE_READERS,
    "workspace:change_related_party": CASE_READERS,
    "workspace:record_information": CASE_READERS,
    "workspace:record_consent": CASE_READERS,
    "workspace:revoke_consent": CASE_READERS,
    "workspace:preparation": CASE_READERS,
    "workspace:call_meeting": CASE_READERS,
    "workspace:meeting_detail": CASE_READERS,
    "workspace:move_meeting": CASE_READERS,
    "workspace:cancel_meeting": CASE_READERS,
    "workspace:record_attendance": CASE_READERS,
    "workspace:plan_edit": CASE_READERS,
    "workspace:plan_compare": CASE_READERS,
    "workspace:follow_up": CASE_READERS,
    "workspace:close_case": CASE_READERS,
    "workspace:plan_establish": DRIVER,
    # A plan version as PDF: whoever sees the case (printing is reading, audited as PRINT).
    "workspace:plan_pdf": CASE_READERS,
    # Blank SIP forms for downtime: no personal data, every signed-in user.
    "workspace:blank_form": SIGNED_IN,
    # Who already sees the case is sent to it; emergency access is for staff of a taking-part
    # unit whose organisation the consent does not cover (none of these roles): 404 for the rest.
    "workspace:emergency_access": CASE_READERS,
    # Contingency packs (beredskapspaket): a unit's coordinators and its unit administrator.
    # The list shows each user's own units (charlie's is another organisation's); building and
    # downloading are for the packs of the coordinating unit (the world's pack).
    "workspace:contingency_packs": every(
        REFUSED, coordinator=OK, other_organisation=OK, unit_administrator=OK, anonymous=SIGN_IN
    ),
    "workspace:contingency_build": every(
        REFUSED, coordinator=OK, unit_administrator=OK, anonymous=SIGN_IN
    ),
    "workspace:contingency_download": every(
        REFUSED, coordinator=OK, unit_administrator=OK, anonymous=SIGN_IN
    ),
    # Statistics: staff with a working role or a unit administrator, each for their own units
    # (charlie's is another organisation's); a security officer and a superuser hold no such
    # assignment and get a page that says so (403).
    "stats:statistics": every(
        REFUSED,
        coordinator=OK,
        participant=OK,
        other_organisation=OK,
        unit_administrator=OK,
        anonymous=SIGN_IN,
    ),
    "stats:statistics_csv": every(
        REFUSED,
        coordinator=OK,
        participant=OK,
        other_organisation=OK,
        unit_administrator=OK,
        anonymous=SIGN_IN,
    ),
    # POST only (below): the act itself.
    "workspace:start_preparation": DRIVER,
    "workspace:add_unit": DRIVER,
    "workspace:answer_invitation": TAKING_PART,
    "workspace:acknowledge_message": TAKING_PART,
    # The bell: every signed-in staff member, their own notifications only (no case in the
    # address; another user's notification is a 404, tests/test_bell.py); no page for citizens.
    "reminders:notifications": SIGNED_IN,
    "reminders:mark_read": SIGNED_IN,  # POST only
    # Min SIP. Public: about SIP, and the way in and out.
    "mypages:about": every(OK, person=OK, relative=OK, stranger=OK),
    "mypages:about_children": every(OK, person=OK, relative=OK, stranger=OK),
    "mypages:sign_in": every(OK, person=OK, relative=OK, stranger=OK),
    "mypages:sign_out": every(OK, person=OK, relative=OK, stranger=OK),
    # A demo identity that is not in the demo county (there is none here): refused, 400.
    "mypages:demo_sign_in": every(OK, person=OK, relative=OK, stranger=OK),
    # Single sign-on for private individuals: 404 unless SAMPLAN_PERSON_OIDC is set.
    "mypages:oidc_start": every(REFUSED, person=REFUSED, relative=REFUSED, stranger=REFUSED),
    "mypages:oidc_callback": every(REFUSED, person=REFUSED, relative=REFUSED, stranger=REFUSED),
    # Every citizen has a list (perhaps empty) and may ask for a SIP.
    "mypages:home": min_sip(person=OK, relative=OK, stranger=OK),
    "mypages:ask": min_sip(person=OK, relative=OK, stranger=OK),
    # One SIP: the overview and the meeting as far as granted; the rest is the person's.
    "mypages:case": RELATIVE_SEES,
    "mypages:meeting": RELATIVE_SEES,
    "mypages:meeting_ics": RELATIVE_SEES,
    "mypages:plan": PERSONS_OWN,
    "mypages:plan_version": PERSONS_OWN,
    "mypages:plan_print": PERSONS_OWN,
    "mypages:plan_pdf": PERSONS_OWN,
    "mypages:approve_plan": PERSONS_OWN,
    "mypages:request_change": PERSONS_OWN,
    "mypages:preferences": PERSONS_OWN,
    "mypages:consent": PERSONS_OWN,
    "mypages:revoke": PERSONS_OWN,
    "mypages:revoke_done": PERSONS_OWN,
    "mypages:end": PERSONS_OWN,
    "mypages:end_done": PERSONS_OWN,
    "mypages:ask_done": min_sip(person=OK, relative=OK, stranger=OK),
    "mypages:follow_up": PERSONS_OWN,
    "mypages:log_extract": PERSONS_OWN,
    "mypages:log_extract_print": PERSONS_OWN,
    # The REST API and FHIR (samplan.api): systems only, by bearer token.
    "api:sips": SYSTEM_LISTS,
    "api:sip": SYSTEM_READS,
    "api:plan": SYSTEM_READS,
    "api:plan_versions": SYSTEM_READS,
    "api:plan_version": SYSTEM_READS,
    "api:meetings": SYSTEM_READS,
    "api:messages": SYSTEM_READS,
    "api:answer_invitation": SYSTEM_READS,  # POST only: its own unit's invitation
    "api:acknowledge_message": SYSTEM_READS,  # POST only
    "api:schema": every(OK),  # the published description of the API, no personal data
    "fhir:metadata": every(OK),  # FHIR's CapabilityStatement, public by the standard
    "fhir:careplan_search": SYSTEM_LISTS,
    "fhir:careplan": SYSTEM_READS,
}

# Views that take POST as well as GET, asked again with a valid form: the act, not the page.
EXPECTED_POST: dict[str, dict[str, str]] = {
    "workspace:close_case": DRIVER,
    "workspace:cancel_meeting": DRIVER,
    "workspace:case_messages": TAKING_PART,
    "workspace:add_related_party": TAKING_PART,
    # Not editable while a meeting is called: who takes part passes the right and is stopped
    # by the transition table (400); the unit administrator by the right (403).
    "workspace:preparation": TAKING_PART,
    # Who sees the case already is sent to it; the others stay refused (404), reason or not.
    "workspace:emergency_access": CASE_READERS,
    # The reason form of a protected person's print, posted: the PDF for whoever sees the case.
    "workspace:plan_pdf": CASE_READERS,
}


def _version(world) -> dict:
    return {"version": world.case.lock_version}


def _answer(world) -> dict:
    prefix = f"answer-{world.invitation.pk}"
    return {
        f"{prefix}-version": world.invitation.lock_version,
        f"{prefix}-sequence": world.meeting.sequence,
        f"{prefix}-answer": "accepted",
    }


# The form each POST is sent with, from the module's data. POST-only views are asked with POST
# only (their GET is a 405 for everyone: test_post_only_views_refuse_get).
POST_ONLY: dict[str, Callable] = {
    "logout": lambda world: {},
    "accounts:sign_out_everywhere": lambda world: {},
    "workspace:check_identity": lambda world: {"identity_number": "19121212-1212"},
    # In "meeting called" the preparation cannot start again: the coordinator gets past the
    # right and is stopped by the transition table (400); everyone else by the right (403).
    "workspace:start_preparation": _version,
    "workspace:add_unit": lambda world: {"add-unit": world.unit_to_add.pk},
    "workspace:answer_invitation": _answer,
    "workspace:acknowledge_message": lambda world: {},
    "workspace:audit_log_export": lambda world: {},  # no filter: the newest rows, as CSV
    "reminders:mark_read": lambda world: {"all": "1"},
    "workspace:contingency_build": lambda world: {},
    "mypages:sign_out": lambda world: {},
    # A number that is not one of the demo county's (there is none here): 400 for everyone.
    "mypages:demo_sign_in": lambda world: {"identity_number": world.users["stranger"]},
    # Nothing is proposed in the world's SIP: the person passes the right and is stopped (400).
    "mypages:approve_plan": lambda world: {"version": 0},
    # The API takes JSON (ask() sends it so).
    "api:answer_invitation": lambda world: {
        "answer": "accepted",
        "version": world.invitation.lock_version,
        "sequence": world.meeting.sequence,
    },
    "api:acknowledge_message": lambda world: {},
}
# Query strings of GET requests that need one.
QUERIES: dict[str, Callable] = {
    "fhir:careplan_search": lambda world: {
        "patient.identifier": f"{PERSONNUMMER}|{world.case.person.identity_number}"
    },
}
POST_DATA: dict[str, Callable] = {
    "workspace:cancel_meeting": lambda world: {**_version(world), "reason": "Personen är sjuk."},
    "workspace:case_messages": lambda world: {"message-body": "Hemtjänsten börjar på måndag."},
    "workspace:add_related_party": lambda world: {
        "kind": "relative",
        "name": "Dottern",
        "may_see": "nothing",
    },
    "workspace:preparation": lambda world: {"version": world.case.preparation.lock_version},
    "workspace:emergency_access": lambda world: {"reason": "Akut läge, personen är medvetslös."},
    "workspace:plan_pdf": lambda world: {"layout": "participants", "reason": "Till mötet."},
    "workspace:close_case": lambda world: {
        **_version(world),
        "reason": "other",
        "note": "Flyttat.",
    },
}


# --- The data ---------------------------------------------------------------------------------


@dataclass
class World:
    users: dict
    arguments: dict[str, int]
    # Arguments for one URL that differ from the shared ones (an earlier plan version needs a
    # SIP that has one: a second SIP of the same person, with an established plan).
    url_arguments: dict[str, dict[str, int]]
    case: SipCase
    meeting: Meeting
    invitation: Invitation
    unit_to_add: Unit


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        county = County()
        case = case_in_state(county, State.MEETING_CALLED)
        meeting = case.meetings.get()
        invitation = Invitation.objects.get(meeting=meeting, unit=county.hemtjanst)
        message = services.post_message(case, actor=county.alice, body="Ring dottern i morgon.")
        assert isinstance(message, CaseMessage)
        users = {
            "coordinator": county.alice,
            "participant": county.bob,
            "other_organisation": county.charlie,
            "unit_administrator": staff(
                county.vardcentral, Assignment.Role.UNIT_ADMINISTRATOR, username="enhetsadmin"
            ),
            "security_officer": staff(
                county.vardcentral, Assignment.Role.SECURITY_OFFICER, username="sakerhet"
            ),
            "superuser": UserFactory(username="root", is_superuser=True, is_staff=True),
            "anonymous": None,
            # Private individuals: the identity number each signs in to Min SIP with.
            "person": case.person.identity_number,
            "relative": related_party_of(
                case,
                identity_number=make_identity_number(dt.date(1970, 1, 1), 321),
                may_see=RelatedParty.Sees.MEETINGS,
            ).identity_number,
            "stranger": make_identity_number(dt.date(1980, 2, 2), 654),
        }
        established = case_in_state(county, State.PLAN_ESTABLISHED, person=case.person)
        users["system"] = create_client(
            name="Hemtjänstens system", unit=county.hemtjanst, created_by="test"
        )[1]
        users["system_other"] = create_client(
            name="Annanbys system", unit=county.elsewhere, created_by="test"
        )[1]
        in_established = {"case_id": established.pk, "number": 1}
        yield World(
            users=users,
            url_arguments={
                "mypages:plan_version": {"case_id": established.pk, "number": 1},
                "mypages:plan_pdf": {"case_id": established.pk},
                "workspace:plan_pdf": {"case_id": established.pk, "number": 1},
                "workspace:blank_form": {"kind": "adult"},
                "api:plan": in_established,
                "api:plan_versions": in_established,
                "api:plan_version": in_established,
                "fhir:careplan": {"fhir_id": established.valid_plan().fhir_id},
            },
            arguments={
                "case_id": case.pk,
                "meeting_id": meeting.pk,
                "invitation_id": invitation.pk,
                "message_id": message.pk,
                "unit_id": county.vardcentral.pk,
                "pack_id": ContingencyPack.objects.create(
                    unit=county.vardcentral,
                    trigger=ContingencyPack.Trigger.SCHEDULE,
                    plan_count=0,
                    size=0,
                    sha256="0" * 64,
                    content=b"",
                ).pk,
            },
            case=case,
            meeting=meeting,
            invitation=invitation,
            unit_to_add=county.elsewhere,
        )
        transaction.set_rollback(True)


def url_of(name: str, pattern: URLPattern, arguments: dict[str, int]) -> str:
    needed = list(pattern.pattern.converters)
    unknown = [kwarg for kwarg in needed if kwarg not in arguments]
    assert not unknown, f"{name} takes {unknown}: add an object for it to world()"
    return reverse(name, kwargs={kwarg: arguments[kwarg] for kwarg in needed})


def outcome_of(response, method: str) -> str:
    status = response.status_code
    if status in (301, 302, 303):
        path = urlsplit(response["Location"]).path
        sign_in_pages = {
            resolve_url(settings.LOGIN_URL),
            reverse("admin:login"),
            reverse("mypages:sign_in"),
        }
        if path in sign_in_pages:
            return SIGN_IN
        return OK
    if status in (200, 201) or (method == "POST" and status in (400, 409)):
        return OK
    if status in (403, 404):
        return REFUSED
    if status == 401:
        return SIGN_IN
    return f"unexpected {status}"


def ask(client, world, name: str, role: str, method: str):
    user = world.users[role]
    if role in CITIZENS:
        sign_in_citizen(client, user)
    elif role in SYSTEMS:
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {user}"
    elif user is not None:
        client.force_login(user)
    url = url_of(name, NAMES[name], {**world.arguments, **world.url_arguments.get(name, {})})
    if method == "POST":
        data = {**POST_ONLY, **POST_DATA}[name](world)
        if name.startswith("api:"):
            response = client.post(url, json.dumps(data), content_type="application/json")
        else:
            response = client.post(url, data)
    else:
        response = client.get(url, QUERIES[name](world) if name in QUERIES else None)
    return url, response


# --- The tests --------------------------------------------------------------------------------

NAMES = url_names()


def test_every_url_has_an_entry_in_the_matrix():
    missing = sorted(set(NAMES) - set(EXPECTED))
    assert not missing, (
        "URLs without an entry in EXPECTED (tests/test_authorization_matrix.py); decide who "
        "may open each and add it:\n" + "\n".join(missing)
    )


def test_every_entry_names_a_url_and_every_role():
    assert not sorted(set(EXPECTED) - set(NAMES)), "entries for URLs that no longer exist"
    for name, row in EXPECTED.items():
        assert set(row) == set(ROLES), name


def test_post_only_views_refuse_get(client, world, db):
    client.force_login(world.users["coordinator"])
    citizen = Client()
    sign_in_citizen(citizen, world.users["person"])
    system = Client(headers={"Authorization": f"Bearer {world.users['system']}"})
    for name in POST_ONLY:
        if name in NAMES and name.startswith("api:"):
            url = url_of(name, NAMES[name], world.arguments)
            assert system.get(url).status_code == 405, f"{name} answers GET: not POST-only"
        elif name in NAMES and name.startswith("mypages:"):
            url = url_of(name, NAMES[name], world.arguments)
            assert citizen.get(url).status_code == 405, f"{name} answers GET: not POST-only"
        elif name in NAMES:
            url = url_of(name, NAMES[name], world.arguments)
            assert client.get(url).status_code == 405, f"{name} answers GET: not POST-only"


def _cases():
    for name in sorted(set(NAMES) & set(EXPECTED)):
        yield name, "POST" if name in POST_ONLY else "GET", EXPECTED[name]
    for name in sorted(set(NAMES) & set(EXPECTED_POST)):
        yield name, "POST", EXPECTED_POST[name]


CASES = [(name, method, role, row[role]) for name, method, row in _cases() for role in ROLES]


@pytest.mark.parametrize(
    "name, method, role, expected",
    CASES,
    ids=[f"{name}-{method}-{role}" for name, method, role, _ in CASES],
)
def test_the_role_gets_what_the_matrix_says(client, world, db, name, method, role, expected):
    url, response = ask(client, world, name, role, method)
    assert outcome_of(response, method) == expected, (
        f"{role} {method} {url}: {response.status_code} {response.get('Location', '')}"
    )


def test_each_request_left_the_shared_data_as_they_were(world, db):
    """Every test runs in a savepoint rolled back at its end: a case closed by one request
    (the coordinator's POST above) must not be closed for the next role's."""
    world.case.refresh_from_db()
    assert world.case.state == State.MEETING_CALLED
    assert not SipCase.objects.filter(state=State.CLOSED).exists()
