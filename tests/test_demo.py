"""The demo county (load_demo, demo_logins) and the synthetic county (generate_county)."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from samplan.access.models import AuditEvent
from samplan.access.services import active_unit_ids, cases_visible_to
from samplan.cases.models import CaseEvent, ConsentScope, PlanVersion, SipCase, State
from samplan.demo.county import PASSWORD
from samplan.directory.models import Organisation, Unit, User
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
    assert not gunnel.is_overdue

    overdue = set(SipCase.objects.overdue().values_list("person__given_name", flat=True))
    assert overdue == {"Stefan"}
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


def test_demo_logins_lists_every_demo_user_who_can_sign_in(demo):
    output = run("demo_logins")
    assert "http://127.0.0.1:8000/" in output
    for username in ("anna", "karin", "maria", "eva", "tomas", "admin"):
        assert username in output
        assert authenticate(username=username, password=PASSWORD) is not None
    assert "security_officer" in output
    assert "unit_administrator" in output
    assert authenticate(username="anna", password="wrong") is None


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
