"""Registering people goes through people.services: validated, audited, refused clearly."""

import pytest

from samplan.access.models import AuditEvent
from samplan.cases.models import State
from samplan.errors import DomainError, DomainErrors, PermissionRefused
from samplan.people import services
from samplan.people.models import Person, RelatedParty
from tests.factories import case_in_state

pytestmark = pytest.mark.django_db

VALID = "19121212-1212"


def register(county, **overrides):
    values = dict(
        actor=county.alice,
        unit=county.vardcentral,
        identity_number=VALID,
        given_name="Tolvan",
        family_name="Tolvansson",
    )
    values.update(overrides)
    return services.register_person(**values)


def test_registering_a_person_normalises_the_number_and_is_audited(county):
    person = register(county)
    assert person.identity_number == "191212121212"
    assert person.identity_kind == Person.IdentityKind.PERSONNUMMER
    event = AuditEvent.objects.get(person_id=person.pk)
    assert (event.action, event.what, event.unit_id, event.user_id) == (
        AuditEvent.Action.CREATE,
        "person",
        county.vardcentral.pk,
        county.alice.pk,
    )


def test_a_wrong_check_digit_is_refused_next_to_the_number_and_nothing_is_saved(county):
    with pytest.raises(DomainError) as refused:
        register(county, identity_number="19121212-1213")
    assert refused.value.field == "identity_number"
    assert refused.value.code == "checksum"
    assert not Person.objects.exists()


def test_the_same_number_twice_is_refused(county):
    register(county)
    with pytest.raises(DomainError) as refused:
        register(county, given_name="Annan")
    assert refused.value.field == "identity_number"
    assert Person.objects.count() == 1


def test_protected_registration_refuses_an_address_and_a_missing_name_together(county):
    with pytest.raises(DomainErrors) as refused:
        register(
            county,
            given_name=" ",
            protection=Person.Protection.SKYDDAD_FOLKBOKFORING,
            address="Hemlig gatan 1",
        )
    assert [error.field for error in refused.value.errors] == ["given_name", "address"]
    assert not Person.objects.exists()


def test_staff_register_only_from_a_unit_where_they_hold_an_assignment(county):
    with pytest.raises(PermissionRefused):
        register(county, actor=county.charlie, unit=county.vardcentral)
    assert not Person.objects.exists()
    assert AuditEvent.objects.filter(
        user=county.charlie, what="person", outcome=AuditEvent.Outcome.REFUSED
    ).exists()


def test_a_related_party_is_added_with_what_they_may_see_and_audited(county):
    person = register(county)
    guardian = services.add_related_party(
        actor=county.alice,
        unit=county.vardcentral,
        person=person,
        kind=RelatedParty.Kind.GUARDIAN,
        name="Vårdnadshavare Ett",
        may_see=RelatedParty.Sees.EVERYTHING,
    )
    assert guardian.acts_for_person
    assert AuditEvent.objects.filter(
        person_id=person.pk, what="related_party", action=AuditEvent.Action.CREATE
    ).exists()
    with pytest.raises(DomainError) as refused:
        services.add_related_party(
            actor=county.alice, unit=county.vardcentral, person=person, kind="cousin", name="X"
        )
    assert refused.value.field == "kind"


def test_a_related_party_added_in_a_sip_is_known_in_that_sip_only(county):
    mine = case_in_state(county, State.INITIATED)
    another = case_in_state(county, State.INITIATED, person=mine.person)
    party = services.add_related_party(
        actor=county.alice,
        unit=county.vardcentral,
        person=mine.person,
        kind=RelatedParty.Kind.RELATIVE,
        name="Dottern Eva",
        case=mine,
    )
    assert list(mine.related_parties.all()) == [party]
    assert not another.related_parties.exists()
    created = AuditEvent.objects.get(what="related_party", action=AuditEvent.Action.CREATE)
    assert created.case_id == mine.pk
    loose = services.add_related_party(
        actor=county.alice,
        unit=county.vardcentral,
        person=mine.person,
        kind=RelatedParty.Kind.RELATIVE,
        name="Sonen Erik",
    )
    assert not loose.cases.exists()  # no SIP shows it until one links it
