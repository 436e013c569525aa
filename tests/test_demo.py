"""The demo county (load_demo, demo_logins) and the synthetic county (generate_county)."""

from __future__ import annotations

import copy
import datetime as dt
import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from samplan.access.citizen import Citizen
from samplan.access.models import AuditEvent
from samplan.access.services import active_unit_ids, cases_visible_to
from samplan.cases.deadlines import next_step, overdue_q
from samplan.cases.models import CaseEvent, ConsentScope, PlanVersion, SipCase, State
from samplan.demo.county import PASSWORD, DemoCounty, read_data
from samplan.demo.county.clock import Clock
from samplan.demo.county.directory import demo_totp_secret
from samplan.directory.models import Organisation, Unit, User
from samplan.errors import DomainError
from samplan.people.identity import parse_identity
from samplan.people.models import Person, RelatedParty
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def demo():
    run("load_demo")


def case_of(given_name: str) -> SipCase:
    return SipCase.objects.select_related("person").get(person__given_name=given_name)


def test_demo_county_has_a_region_three_kommuner_and_the_other_huvudmän(demo):
    kinds = list(Organisation.objects.values_list("kind", flat=True))
    assert kinds.count(Organisation.Kind.KOMMUN) == 3
    assert kinds.count(Organisation.Kind.REGION) == 1
    for kind in (
        Organisation.Kind.FORSAKRINGSKASSAN,
        Organisation.Kind.ARBETSFORMEDLINGEN,
        Organisation.Kind.SCHOOL,
        Organisation.Kind.PRIVATE_PROVIDER,
    ):
        assert kind in kinds
    for organisation in Organisation.objects.all():
        organisation.full_clean()  # Luhn-valid organisation number, well-formed HSA-id
    for unit in Unit.objects.all():
        unit.full_clean()
    names = set(Unit.objects.values_list("name", flat=True))
    assert {"Vårdcentral Centrum", "Hemtjänst Norr", "Psykiatrisk öppenvård", "BUP"} <= names


def test_demo_has_twenty_fictitious_persons_with_sips_in_every_state(demo):
    assert set(SipCase.objects.values_list("state", flat=True)) == set(State.values)
    persons = Person.objects.all()
    assert persons.count() >= 20
    for person in persons:
        assert person.is_fictitious
        identity = parse_identity(person.identity_number)
        assert identity.number == person.identity_number
        assert identity.birth_date == person.birth_date


def test_every_demo_sip_was_driven_through_the_services_by_staff(demo):
    for case in SipCase.objects.all():
        events = list(case.events.order_by("at", "pk"))
        assert events[0].action == "initiate"
        assert events[-1].to_state == case.state
        assert all(event.actor_id for event in events)
        # The services write the audit event; nothing else does.
        assert AuditEvent.objects.filter(case_id=case.pk, action="create").exists()
    times = list(CaseEvent.objects.values_list("at", flat=True))
    assert max(times) <= timezone.now()


def test_the_minor_has_two_guardians_and_his_own_views_recorded(demo):
    elias = case_of("Elias")
    assert elias.person.is_minor
    guardians = elias.person.related_parties.filter(kind=RelatedParty.Kind.GUARDIAN)
    assert guardians.count() == 2
    assert elias.guardians_contacted_at is not None
    assert "Elias" in elias.child_views
    assert elias.consents.get().given_by == "guardian"
    assert elias.valid_plan().approved_by == PlanVersion.ApprovedBy.GUARDIAN


def test_the_protected_person_has_no_address_and_cannot_be_given_one(demo):
    sara = Person.objects.get(given_name="Sara")
    assert sara.protection == Person.Protection.SKYDDAD_FOLKBOKFORING
    assert sara.address == ""
    sara.address = "Hemliga gatan 1"
    with pytest.raises(ValidationError):
        sara.full_clean()


def test_the_person_with_a_samordningsnummer_validates(demo):
    yonas = Person.objects.get(given_name="Yonas")
    assert yonas.identity_kind == Person.IdentityKind.SAMORDNINGSNUMMER
    assert int(yonas.identity_number[6:8]) > 60  # day + 60
    assert parse_identity(yonas.identity_number).kind == "samordningsnummer"


def test_discharge_sip_is_near_its_deadline_and_overdue_cases_show(demo):
    now = timezone.now()
    gunnel = case_of("Gunnel")
    assert gunnel.kind == SipCase.Kind.DISCHARGE
    assert dt.timedelta(days=1) < now - gunnel.discharge_notice_at < dt.timedelta(days=3)
    assert now < gunnel.call_deadline < now + dt.timedelta(days=2)
    assert not next_step(gunnel).overdue and next_step(gunnel).due_soon

    overdue = set(SipCase.objects.filter(overdue_q()).values_list("person__given_name", flat=True))
    # Stefan's meeting call is late; Maj-Britt's follow-up date has passed.
    assert overdue == {"Stefan", "Maj-Britt"}
    assert case_of("Maj-Britt").valid_plan().follow_up_on < timezone.localdate()


def test_the_closed_sips_keep_their_reasons(demo):
    reasons = dict(
        SipCase.objects.filter(state=State.CLOSED).values_list(
            "person__given_name", "closing_reason"
        )
    )
    assert reasons["Rolf"] == SipCase.ClosingReason.DECLINED
    assert reasons["Lars"] == SipCase.ClosingReason.GOALS_REACHED
    assert reasons["Peter"] == SipCase.ClosingReason.CONSENT_REVOKED
    bertil = case_of("Bertil")
    assert bertil.person.related_parties.get().kind == RelatedParty.Kind.GOD_MAN
    assert bertil.consents.get().given_by == "legal_representative"


def test_load_demo_if_empty_does_nothing_the_second_time(demo):
    counts = (Organisation.objects.count(), Person.objects.count(), SipCase.objects.count())
    output = run("load_demo", "--if-empty")
    assert "not loaded" in output
    assert counts == (
        Organisation.objects.count(),
        Person.objects.count(),
        SipCase.objects.count(),
    )


def test_load_demo_without_if_empty_refuses_a_database_with_organisations(demo):
    with pytest.raises(CommandError, match="already holds organisations"):
        run("load_demo")
    assert Organisation.objects.filter(kind=Organisation.Kind.REGION).count() == 1


def test_demo_coordinator_sees_only_the_sips_of_their_units(demo):
    anna = User.objects.get(username="anna")
    units = set(active_unit_ids(anna))
    visible = list(cases_visible_to(anna))
    assert 0 < len(visible) < SipCase.objects.count()
    for case in visible:
        taking_part = set(case.participants.values_list("unit_id", flat=True))
        assert units & (taking_part | {case.initiating_unit_id, case.coordinating_unit_id})
    names = {case.person.given_name for case in visible}
    assert {"Gunnel", "Bertil", "Maj-Britt"} <= names  # coordinated by others, her unit invited
    assert not names & {"Elias", "Amir", "Erik"}  # her unit takes no part


def test_amir_is_hidden_from_arbetsformedlingen_after_the_partial_revocation(demo):
    amir = case_of("Amir")
    assert amir.state == State.PLAN_ESTABLISHED  # revoking for one organisation keeps the SIP
    revoked = ConsentScope.objects.get(consent__case=amir, organisation__name="Arbetsförmedlingen")
    assert revoked.revoked_at is not None
    nina = User.objects.get(username="nina")  # Arbetsförmedlingen
    olof = User.objects.get(username="olof")  # Försäkringskassan
    assert amir.participants.filter(unit__organisation__name="Arbetsförmedlingen").exists()
    assert not cases_visible_to(nina).filter(pk=amir.pk).exists()
    assert cases_visible_to(nina).filter(person__given_name="Jonna").exists()
    assert cases_visible_to(olof).filter(pk=amir.pk).exists()


# --- The start page a newcomer lands on --------------------------------------------------------


def start_page(client, username: str) -> tuple[dict, str]:
    """The sections of the user's start page (Att göra), by key, and the page as rendered."""
    client.force_login(User.objects.get(username=username))
    response = client.get(reverse("workspace:start"))
    assert response.status_code == 200
    assert response.context["scope"].view == "mine"
    return {section.key: section for section in response.context["sections"]}, response.text


def names(section) -> set[str]:
    return {item.case.person.given_name for item in section.items}


def shown_in(page: str, key: str, name: str) -> bool:
    """Whether the rendered section `key` lists the person `name`."""
    start = page.find(f'data-testid="section-{key}"')
    return start >= 0 and name in page[start : page.index("</section>", start)]


def test_annas_start_page_has_work_in_every_section(demo, client):
    sections, page = start_page(client, "anna")
    expected = {
        "discharge": "Gunnel Åberg",
        "consent": "Stefan Wallin",
        "call": "Mikael Roos",
        "invitations": "Bertil Sandberg",
        "meetings": "Fatima Hassan",
        "approval": "Yonas Tesfay",
        "follow_ups": "Sven Ekström",
        "messages": "Gunnel Åberg",
    }
    for key, name in expected.items():
        assert name.split()[0] in names(sections[key]), key
        assert shown_in(page, key, name), key
    # The discharge SIP counts its hours: fewer than 24 left, so "due soon", not yet overdue.
    (gunnel,) = sections["discharge"].items
    assert gunnel.step.due_soon and not gunnel.step.overdue
    assert 0 < gunnel.step.hours_left < 24
    assert names(sections["invitations"]) == {"Bertil"}  # her unit has not answered
    assert {"Bertil", "Fatima"} <= names(sections["meetings"])
    overdue = [
        item.case.person.given_name for item in sections["consent"].items if item.step.overdue
    ]
    assert overdue == ["Stefan"]
    (sven,) = sections["follow_ups"].items
    assert sven.step.due_soon
    assert {"Gunnel", "Yonas"} <= names(sections["messages"])


def test_karins_start_page_has_work_in_every_section_but_discharge(demo, client):
    sections, page = start_page(client, "karin")
    expected = {
        "consent": "Olle Berglund",
        "call": "Hanna Eriksson",
        "invitations": "Fatima Hassan",
        "meetings": "Bertil Sandberg",
        "approval": "Ingrid Lundgren",
        "follow_ups": "Maj-Britt Holm",
        "messages": "Bertil Sandberg",
    }
    for key, name in expected.items():
        assert name.split()[0] in names(sections[key]), key
        assert shown_in(page, key, name), key
    # A discharge SIP is called by the region's fast vårdkontakt (lag 2017:612), not by the kommun.
    assert not sections["discharge"].items
    assert {"Bertil", "Fatima"} <= names(sections["meetings"])
    (maj_britt,) = sections["follow_ups"].items
    assert maj_britt.step.overdue
    # From the private provider's hemtjänst and Hemtjänst Norr; her own message to anna is not
    # unread for her.
    assert names(sections["messages"]) == {"Bertil", "Maj-Britt"}


def test_every_demo_sip_opens_for_its_coordinator(demo, client):
    for case in SipCase.objects.select_related("coordinator", "person"):
        client.force_login(case.coordinator)
        response = client.get(reverse("workspace:case_detail", args=[case.pk]))
        assert response.status_code == 200, case.person.given_name
        assert case.person.full_name in response.text


def test_the_unread_messages_come_from_other_units(demo):
    gunnel = case_of("Gunnel")
    (message,) = gunnel.messages.all()
    assert message.sender.username == "karin" and message.asks_acknowledgement
    assert message.sent_at < timezone.now()
    anna = User.objects.get(username="anna")
    assert message.sender_unit_id not in active_unit_ids(anna)


def test_the_plans_waiting_for_approval_were_proposed_through_the_service(demo):
    for given_name in ("Yonas", "Ingrid"):
        case = case_of(given_name)
        draft = case.draft_plan()
        assert case.state == State.MEETING_CALLED
        assert draft.proposed_at is not None and case.valid_plan() is None
        assert case.events.filter(action="propose_plan").exists()


def test_the_readme_test_number_is_free_for_a_newcomer_to_register(demo, client):
    """README's "Try it": karin starts a SIP for 19121212-1212 and is asked to register them."""
    assert parse_identity("19121212-1212").number == "191212121212"
    assert not Person.objects.filter(identity_number="191212121212").exists()
    karin = User.objects.get(username="karin")
    client.force_login(karin)
    unit = Unit.objects.get(name="Biståndshandläggning")
    response = client.post(
        reverse("workspace:initiate"), {"identity_number": "19121212-1212", "unit": unit.pk}
    )
    assert response.status_code == 200
    assert "workspace/initiative/register.html" in [t.name for t in response.templates]


# --- The data file and its loader ---------------------------------------------------------------


def test_a_misspelt_field_in_the_data_file_names_its_story_and_step():
    data = copy.deepcopy(read_data())
    data["cases"]["gunnel"]["steps"][1]["notes"] = "a typo for note"
    with pytest.raises(ValueError, match="unknown fields: notes") as raised:
        DemoCounty(data).load()
    assert "demo data: gunnel, step 2 (inform)" in raised.value.__notes__
    assert not Organisation.objects.exists()  # one transaction: nothing half-loaded


def test_the_data_files_times_count_from_when_the_demo_is_loaded():
    now = timezone.make_aware(dt.datetime(2025, 3, 12, 15, 40))
    clock = Clock(now)
    assert clock.moment("now") is None
    assert clock.moment("yesterday 09:30") == timezone.make_aware(dt.datetime(2025, 3, 11, 9, 30))
    assert clock.moment("in 4 days 10:00") == timezone.make_aware(dt.datetime(2025, 3, 16, 10, 0))
    assert clock.moment("54 hours ago") == timezone.make_aware(dt.datetime(2025, 3, 10, 9, 40))
    assert clock.date("2 weeks ago") == dt.date(2025, 2, 26)
    assert clock.date("that day + 8 weeks", dt.date(2025, 1, 1)) == dt.date(2025, 2, 26)
    assert clock.born(84, "03-14") == dt.date(1940, 3, 14)  # not yet 85 on 12 March
    with pytest.raises(ValueError, match="'now' or 'N hours ago'"):
        clock.moment("today 10:00")  # ahead or behind depending on when the demo is loaded
    with pytest.raises(ValueError, match="not a date"):
        clock.date("next Tuesday")


def test_demo_logins_lists_every_demo_user_who_can_sign_in(demo, rf):
    output = run("demo_logins")
    assert "http://127.0.0.1:8000/" in output
    for username in ("anna", "karin", "maria", "eva", "tomas", "admin"):
        assert username in output
        request = rf.post(reverse("login"))
        assert authenticate(request, username=username, password=PASSWORD) is not None
        # The second factor: the authenticator's key and its otpauth address, printed.
        assert demo_totp_secret(username) in output
        assert f"otpauth://totp/Samplan%3A{username}?secret={demo_totp_secret(username)}" in output
    assert "security_officer" in output
    assert "unit_administrator" in output
    assert "demo_code <username>" in output
    assert authenticate(rf.post(reverse("login")), username="anna", password="wrong") is None


def test_a_newcomer_signs_in_with_the_password_and_the_code_demo_code_prints(demo, client):
    response = client.post(reverse("login"), {"username": "karin", "password": PASSWORD})
    assert response.url == reverse("accounts:second_factor")
    code = run("demo_code", "karin").split()[0]
    assert len(code) == 6 and code.isdigit()
    response = client.post(reverse("accounts:second_factor"), {"code": code})
    assert response.status_code == 302 and response.url == reverse("workspace:start")
    assert client.get(response.url).status_code == 200
    # Once used, the next code demo_code prints is the next one, and it works too.
    client.post(reverse("logout"))
    client.post(reverse("login"), {"username": "karin", "password": PASSWORD})
    again = run("demo_code", "karin").split()[0]
    assert again != code
    assert client.post(reverse("accounts:second_factor"), {"code": again}).url == reverse(
        "workspace:start"
    )


def test_demo_code_refuses_anyone_but_a_demo_login(demo):
    with pytest.raises(CommandError, match="not a demo login"):
        run("demo_code", "someone")
    # A real account that happens to share a demo name has its own authenticator: no code.
    anna = User.objects.get(username="anna")
    TOTPDevice.objects.filter(user=anna).update(key="00" * 20)
    with pytest.raises(CommandError, match="no demo authenticator"):
        run("demo_code", "anna")


def test_demo_logins_print_the_address_make_run_really_serves(demo):
    output = run("demo_logins", "--url", "http://127.0.0.1:8123/")
    assert "http://127.0.0.1:8123/" in output
    assert ":8000" not in output


def test_demo_logins_without_a_demo_says_so():
    assert "No demo logins" in run("demo_logins")


def test_generate_county_makes_the_cases_asked_for_spread_over_every_state():
    output = run("generate_county", "--cases", "200")
    assert "Generated 200 SIPs" in output
    assert SipCase.objects.count() == 200
    assert set(SipCase.objects.values_list("state", flat=True)) == set(State.values)
    for person in Person.objects.all():
        assert parse_identity(person.identity_number).number == person.identity_number
        assert person.is_fictitious
    for case in SipCase.objects.prefetch_related("events", "participants", "plan_versions"):
        events = list(case.events.all())
        assert events[-1].to_state == case.state
        assert case.participants.all()
        if case.state in (State.PLAN_ESTABLISHED, State.FOLLOW_UP):
            plan = case.valid_plan()
            assert plan.goals.exists() and plan.interventions.exists()
        if case.state in (State.CONSENTED, State.PREPARATION, State.MEETING_CALLED):
            assert ConsentScope.objects.filter(consent__case=case).exists()
        if case.state == State.FOLLOW_UP:
            assert case.draft_plan().based_on == case.valid_plan()


def test_generated_county_is_seen_through_participation_too():
    run("generate_county", "--cases", "200")
    coordinator = User.objects.filter(username__contains="-coord-").first()
    visible = cases_visible_to(coordinator)
    assert 0 < visible.count() < 200


def test_generate_county_refuses_zero_cases():
    with pytest.raises(CommandError):
        run("generate_county", "--cases", "0")
    assert not SipCase.objects.exists()


def test_generate_county_beside_the_demo_leaves_the_keys_usable(demo):
    before = SipCase.objects.count()
    run("generate_county", "--cases", "50")
    assert SipCase.objects.count() == before + 50
    # The generator hands out keys itself; rows made afterwards must get keys past them.
    largest = Person.objects.order_by("-pk").values_list("pk", flat=True).first()
    assert PersonFactory().pk > largest


# --- Never in production -----------------------------------------------------------------------


def test_load_demo_and_demo_code_refuse_when_https_is_on(db, settings):
    settings.HTTPS = True
    with pytest.raises(CommandError, match="HTTPS is on"):
        run("load_demo")
    with pytest.raises(CommandError, match="HTTPS is on"):
        run("load_demo", "--if-empty")
    assert not Organisation.objects.exists() and not User.objects.exists()
    with pytest.raises(CommandError, match="HTTPS is on"):
        run("demo_code", "karin")


def test_check_deploy_finds_demo_authenticator_keys_an_error_behind_tls(demo, settings):
    from samplan.directory.checks import no_demo_authenticator_keys

    settings.HTTPS = False
    (warning,) = no_demo_authenticator_keys()
    assert warning.id == "samplan.W201" and not warning.is_serious()
    settings.HTTPS = True
    (error,) = no_demo_authenticator_keys()
    assert error.id == "samplan.E201" and error.is_serious()
    demo_keys = TOTPDevice.objects.count()
    assert error.msg.startswith(f"{demo_keys} accounts have the demo county's authenticator key")
    # Each owner enrols a key of their own: nothing left to find.
    for device in TOTPDevice.objects.all():
        device.key = "00" * 19 + f"{device.pk % 256:02x}"
        device.save()
    assert no_demo_authenticator_keys() == []


def test_check_deploy_is_quiet_on_a_database_without_the_demo(county, settings):
    from samplan.directory.checks import no_demo_authenticator_keys

    settings.HTTPS = True
    TOTPDevice.objects.create(user=county.alice, name="Phone", confirmed=True)
    assert no_demo_authenticator_keys() == []


# --- Min SIP: who signs in to the person's own pages in the demo county ---------------------------


def test_demo_logins_print_the_min_sip_sign_ins_beside_the_staff(demo, settings):
    settings.HTTPS = False
    settings.SAMPLAN_PERSON_DEMO_SIGN_IN = True
    output = run("demo_logins", "--url", "http://127.0.0.1:8123/")
    minsip = output[output.index("Min SIP") :]
    assert "http://127.0.0.1:8123/mina-sidor/logga-in/" in minsip
    assert "Demo: fictitious people only" in minsip
    amir = Person.objects.get(given_name="Amir")
    for expected in (
        "Amir Haddad",
        "the person (acts)",
        "Maria Lindqvist",
        "guardian (acts for them)",
        "19820422-4680",
        "Leila Haddad",
        "relative (sees the approved plan)",
        "Gösta Lund",
        "god man (acts for them)",
        amir.display_identity,
    ):
        assert expected in minsip, expected
    # Elias is 15 without a view of his own: his guardians sign in for him, he does not.
    elias = Person.objects.get(given_name="Elias")
    assert elias.display_identity not in output


def test_the_demo_parties_who_sign_in_have_valid_numbers_as_the_register_keeps_them(demo):
    parties = RelatedParty.objects.exclude(identity_number="")
    assert parties.count() >= 5
    for party in parties:
        assert parse_identity(party.identity_number).number == party.identity_number
        assert party.person.is_fictitious
    assert RelatedParty.objects.get(name="Gösta Lund").may_act
    assert not RelatedParty.objects.get(name="Leila Haddad").may_act


def test_a_bad_party_number_in_the_data_file_names_its_story_and_party():
    data = copy.deepcopy(read_data())
    data["cases"]["gunnel"]["parties"]["daughter"]["identity_number"] = "19610711-2847"
    with pytest.raises(DomainError) as raised:
        DemoCounty(data).load()
    assert "demo data: gunnel, party daughter" in raised.value.__notes__


@pytest.mark.parametrize(
    ("name", "whose", "acts", "sees_plan"),
    [
        ("Amir Haddad", "Amir", True, True),
        ("Maria Lindqvist", "Elias", True, True),
        ("Gösta Lund", "Bertil", True, True),
        ("Leila Haddad", "Amir", False, True),
    ],
)
def test_a_newcomer_signs_in_to_min_sip_with_the_demo_sign_in(
    demo, client, settings, name, whose, acts, sees_plan
):
    settings.HTTPS = False
    settings.SAMPLAN_PERSON_DEMO_SIGN_IN = True
    from samplan.demo.county import demo_citizens

    chosen = next(citizen for citizen in demo_citizens() if citizen.name == name)
    response = client.post(
        reverse("mypages:demo_sign_in"), {"identity_number": chosen.identity_number}
    )
    assert response.url == reverse("mypages:home")
    case = case_of(whose)
    assert client.get(reverse("mypages:case", args=[case.pk])).status_code == 200
    capacity = Citizen(chosen.identity_number).capacities()[case.pk]
    assert (capacity.may_act, capacity.sees_part("plan")) == (acts, sees_plan)


def test_demo_logins_print_an_api_token_that_lists_the_units_sips(demo):
    output = run("demo_logins", "--url", "http://127.0.0.1:8123/")
    [token] = re.findall(
        r"Bearer (spl_demo_[0-9a-f]+)' http://127\.0\.0\.1:8123/api/v1/sips/", output
    )
    answer = Client(headers={"Authorization": f"Bearer {token}"}).get("/api/v1/sips/")
    assert answer.status_code == 200
    listed = {item["coordinating_unit"]["name"] for item in answer.json()["results"]}
    assert "Vårdcentral Centrum" in listed
    wrong = Client(headers={"Authorization": f"Bearer {token}x"}).get("/api/v1/sips/")
    assert wrong.status_code == 401
