"""Staff record what lets a relative or representative into Min SIP: their identity number, and
for a god man or förvaltare whether the mandate covers acting; and for a young person of 15–17
whether they have their own view (access/citizen.py decides what each then reaches)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings

from samplan.access.citizen import Citizen
from samplan.cases import services
from samplan.cases.models import State
from samplan.errors import DomainError
from samplan.people.identity import make_identity_number
from samplan.people.models import RelatedParty
from tests.factories import County, PersonFactory, case_in_state, minor

pytestmark = pytest.mark.django_db


@pytest.fixture
def county():
    return County()


def _post_party(client, case, **fields):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client.post(
        f"/sip/{case.pk}/narstaende/ny/",
        {"kind": "relative", "name": "Dottern", "may_see": "plan", **fields},
    )


def test_a_relative_with_an_identity_number_reaches_the_sip_in_min_sip(county, client):
    case = case_in_state(county, State.PREPARATION)
    client.force_login(county.alice)
    number = make_identity_number(dt.date(1970, 4, 4), 77)
    response = _post_party(client, case, identity_number=number.replace("-", "")[2:])
    assert response.status_code == 302
    party = RelatedParty.objects.get(name="Dottern")
    assert party.identity_number == number  # normalised
    capacity = Citizen(number).capacities()[case.pk]
    assert (capacity.role, capacity.sees, capacity.may_act) == ("relative", "plan", False)


def test_a_bad_or_the_persons_own_number_is_refused_next_to_the_field(county, client):
    case = case_in_state(county, State.PREPARATION)
    client.force_login(county.alice)
    for typed in ("19700404-0000", case.person.identity_number):
        response = _post_party(client, case, identity_number=typed)
        assert response.status_code == 400
        assert typed in response.content.decode()  # what was typed stays
        assert 'id="id_identity_number-error"' in response.content.decode()
    assert not RelatedParty.objects.filter(name="Dottern").exists()


def test_only_a_god_man_or_forvaltare_has_a_mandate_to_act(county, client):
    case = case_in_state(county, State.PREPARATION)
    client.force_login(county.alice)
    assert _post_party(client, case, may_act="on").status_code == 400
    response = _post_party(
        client,
        case,
        kind="god_man",
        name="God man",
        mandate="Bevaka rätt",
        may_act="on",
        identity_number=make_identity_number(dt.date(1965, 6, 6), 88),
    )
    assert response.status_code == 302
    party = RelatedParty.objects.get(kind="god_man")
    assert Citizen(party.identity_number).capacities()[case.pk].may_act


def test_own_view_is_chosen_for_15_to_17_only(county):
    young = minor()
    case = case_in_state(county, State.INITIATED, person=young)
    services.record_information(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        guardians_contacted=True,
        own_view=True,
    )
    young.refresh_from_db()
    assert young.own_view
    adult_case = case_in_state(county, State.INITIATED, person=PersonFactory())
    with pytest.raises(DomainError) as refused:
        services.record_information(
            adult_case, actor=county.alice, expected_version=adult_case.lock_version, own_view=True
        )
    assert refused.value.field == "own_view"


def test_the_information_page_offers_own_view_only_for_15_to_17(county, client):
    client.force_login(county.alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    young_case = case_in_state(county, State.INITIATED, person=minor())
    adult_case = case_in_state(county, State.INITIATED)
    assert 'name="own_view"' in client.get(f"/sip/{young_case.pk}/information/").content.decode()
    assert (
        'name="own_view"' not in client.get(f"/sip/{adult_case.pk}/information/").content.decode()
    )
