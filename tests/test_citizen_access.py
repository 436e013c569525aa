"""access/citizen.py: which SIPs a signed-in private individual reaches, in which capacity, and
that every read and refusal is in the log (Min SIP's one way to personal data)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from samplan.access.citizen import (
    Citizen,
    cases_for_citizen,
    citizen_log_name,
    get_case_for_citizen,
)
from samplan.access.models import AuditEvent
from samplan.cases.models import CaseEvent, State
from samplan.cases.services._core import _changing
from samplan.errors import PermissionRefused
from samplan.people.identity import make_identity_number
from samplan.people.models import RelatedParty
from tests.factories import County, case_in_state, minor, related_party_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def county():
    return County()


def _adult_number(serial: int) -> str:
    return make_identity_number(dt.date(1975, 3, 3), serial)


def test_the_adult_person_sees_and_acts_in_their_own_sip(county):
    case = case_in_state(county, State.PREPARATION)
    citizen = Citizen(case.person.identity_number, "Gunnel")
    rows = cases_for_citizen(citizen)
    assert [(c.pk, cap.role, cap.may_act) for c, cap in rows] == [(case.pk, "person", True)]
    read = AuditEvent.objects.get(what="sip_case_list")
    assert (read.person_id, read.user_id, read.citizen_role) == (case.person_id, None, "person")
    assert read.username == citizen_log_name(case.person.identity_number)
    assert case.person.identity_number not in read.username


def test_someone_else_gets_a_404_whether_the_sip_exists_or_not_and_it_is_logged(county):
    case = case_in_state(county, State.PREPARATION)
    stranger = Citizen(_adult_number(41), "Främling")
    for case_id in (case.pk, case.pk + 1000):
        with pytest.raises(Http404):
            get_case_for_citizen(stranger, case_id)
    refused = AuditEvent.objects.filter(outcome=AuditEvent.Outcome.REFUSED).order_by("seq")
    assert [r.case_id for r in refused] == [case.pk, None]
    assert all(r.username == stranger.log_name for r in refused)


def test_a_guardian_acts_for_a_child_and_a_child_under_15_has_no_own_view(county):
    child = minor()  # 15 years old
    case = case_in_state(county, State.PREPARATION, person=child)
    number = _adult_number(42)
    related_party_of(case, kind=RelatedParty.Kind.GUARDIAN, identity_number=number, name="Mamma")
    _, capacity = get_case_for_citizen(Citizen(number), case.pk, part="act")
    assert (capacity.role, capacity.may_act) == ("guardian", True)
    # 15–17 see their own plan only when they and the guardians chose it.
    assert Citizen(child.identity_number).capacities() == {}
    child.own_view = True
    child.save()
    own = Citizen(child.identity_number).capacities()[case.pk]
    assert (own.may_act, own.may_steer, own.sees) == (False, True, "everything")


def test_a_relative_sees_only_what_was_granted_and_never_acts(county):
    case = case_in_state(county, State.PREPARATION)
    number = _adult_number(43)
    related_party_of(case, identity_number=number, may_see=RelatedParty.Sees.MEETINGS)
    citizen = Citizen(number)
    get_case_for_citizen(citizen, case.pk, part="meetings")
    with pytest.raises(Http404):
        get_case_for_citizen(citizen, case.pk, part="plan")
    capacity = citizen.capacities()[case.pk]
    with pytest.raises(PermissionRefused), _changing(case, "end_sip", capacity, None):
        pass
    assert not CaseEvent.objects.filter(action="end_sip").exists()


def test_a_party_not_known_in_the_sip_reaches_nothing(county):
    case = case_in_state(county, State.PREPARATION)
    number = _adult_number(44)
    RelatedParty.objects.create(
        person=case.person, kind="relative", name="X", identity_number=number, may_see="everything"
    )
    assert Citizen(number).capacities() == {}


def test_a_staff_action_is_refused_to_a_citizen_and_a_person_action_to_staff(county):
    case = case_in_state(county, State.PREPARATION)
    capacity = Citizen(case.person.identity_number).capacities()[case.pk]
    with pytest.raises(PermissionRefused), _changing(case, "call_meeting", capacity, None):
        pass
    with (
        pytest.raises(PermissionRefused),
        _changing(case, "update_preferences", county.alice, None),
    ):
        pass
    with _changing(case, "update_preferences", capacity, case.lock_version):
        pass
    event = CaseEvent.objects.get(action="update_preferences")
    assert (event.actor_id, event.citizen_role) == (None, "person")


def test_closed_sips_past_retention_are_gone(county, settings):
    case = case_in_state(county, State.CLOSED)
    citizen = Citizen(case.person.identity_number)
    assert case.pk in citizen.capacities()
    type(case).objects.filter(pk=case.pk).update(
        closed_at=timezone.now() - dt.timedelta(days=settings.SAMPLAN_RETENTION_DAYS + 1)
    )
    assert Citizen(case.person.identity_number).capacities() == {}


def test_a_guardian_sees_nothing_once_the_child_is_18(county):
    child = minor()
    case = case_in_state(county, State.PREPARATION, person=child)
    number = _adult_number(45)
    related_party_of(case, kind=RelatedParty.Kind.GUARDIAN, identity_number=number)
    assert Citizen(number).capacities()[case.pk].may_act
    adult = timezone.localdate() - dt.timedelta(days=18 * 366)
    type(child).objects.filter(pk=child.pk).update(birth_date=adult)
    # Custody has ended: what the guardian saw for the child is not the adult's grant.
    assert Citizen(number).capacities() == {}
    with pytest.raises(Http404):
        get_case_for_citizen(Citizen(number), case.pk)
