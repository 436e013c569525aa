"""Consent (samtycke): never general, documented, by a guardian for a child, revocable at any
time, in part (one organisation loses access at once) or in full (the SIP closes)."""

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from samplan.access.services import cases_visible_to, get_case_for
from samplan.cases import services
from samplan.cases.models import Consent, ConsentScope, SipCase, State
from samplan.directory.models import Assignment, Organisation
from samplan.errors import DomainError, PermissionRefused, TransitionNotAllowed
from tests.domain_helpers import assert_bilingual, error_fields, snapshot
from tests.factories import (
    OrganisationFactory,
    UnitFactory,
    case_in_state,
    future,
    minor,
    staff,
)


def consent(case, county, **overrides) -> Consent:
    values = dict(
        actor=county.alice,
        expected_version=case.lock_version,
        method=Consent.Method.WRITTEN,
        given_by=Consent.GivenBy.PERSON,
        given_by_name="Gunnel",
        organisations=[county.region, county.kommun],
        information_scope="Behov, insatser och planen",
    )
    values.update(overrides)
    return services.give_consent(case, **values)


def refused_consent(case, county, **overrides) -> DomainError:
    before = snapshot(case)
    with pytest.raises(DomainError) as caught:
        consent(case, county, **overrides)
    assert snapshot(case) == before
    assert not Consent.objects.filter(case=case).exists()
    assert_bilingual(caught.value)
    return caught.value


def sees(user, case) -> bool:
    return cases_visible_to(user).filter(pk=case.pk).exists()


@pytest.fixture
def informed(county):
    return case_in_state(county, State.INFORMED)


@pytest.mark.django_db
def test_consent_names_organisations_information_and_who_recorded_it(county, informed):
    given = consent(informed, county, exclusions="Inget om missbruket")
    informed.refresh_from_db()
    assert informed.state == State.CONSENTED
    assert set(given.scopes.values_list("organisation", flat=True)) == {
        county.region.pk,
        county.kommun.pk,
    }
    assert given.information_scope == "Behov, insatser och planen"
    assert given.exclusions == "Inget om missbruket"
    assert given.recorded_by == county.alice
    assert given.recorded_at is not None
    assert given.method == Consent.Method.WRITTEN
    assert given.is_active
    assert informed.current_consent() == given


@pytest.mark.django_db
def test_consent_without_organisations_is_refused(county, informed):
    error = refused_consent(informed, county, organisations=[])
    assert error_fields(error) == ["organisations"]


@pytest.mark.django_db
def test_consent_without_information_scope_is_refused(county, informed):
    error = refused_consent(informed, county, information_scope="")
    assert error_fields(error) == ["information_scope"]


@pytest.mark.django_db
def test_general_consent_is_refused_naming_both_missing_parts(county, informed):
    error = refused_consent(informed, county, organisations=[], information_scope="")
    assert sorted(error_fields(error)) == ["information_scope", "organisations"]


@pytest.mark.django_db
def test_consent_must_say_who_answered(county, informed):
    assert error_fields(refused_consent(informed, county, given_by_name="")) == ["given_by_name"]


@pytest.mark.django_db
def test_oral_consent_needs_documentation(county, informed):
    error = refused_consent(informed, county, method=Consent.Method.ORAL)
    assert error_fields(error) == ["documentation"]
    given = consent(
        informed,
        county,
        method=Consent.Method.ORAL,
        documentation="Muntligt samtycke i telefon 3/4, antecknat i journalen.",
    )
    assert given.method == Consent.Method.ORAL
    assert given.documentation.startswith("Muntligt")


@pytest.mark.django_db
def test_oral_decline_needs_documentation_too(county, informed):
    with pytest.raises(DomainError) as caught:
        services.decline_consent(
            informed,
            actor=county.alice,
            expected_version=informed.lock_version,
            method=Consent.Method.ORAL,
            given_by=Consent.GivenBy.PERSON,
            given_by_name="Gunnel",
        )
    assert caught.value.field == "documentation"
    assert SipCase.objects.get(pk=informed.pk).state == State.INFORMED


@pytest.mark.django_db
def test_consent_valid_until_in_the_past_is_refused(county, informed):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    error = refused_consent(informed, county, valid_until=yesterday)
    assert error_fields(error) == ["valid_until"]
    assert error.code == "past"
    given = consent(informed, county, valid_until=timezone.localdate() + dt.timedelta(days=365))
    assert given.is_active


@pytest.mark.django_db
@pytest.mark.parametrize("given_by", [Consent.GivenBy.PERSON, Consent.GivenBy.LEGAL_REPRESENTATIVE])
def test_a_minors_consent_is_given_by_a_guardian_only(county, given_by):
    case = case_in_state(county, State.INFORMED, person=minor())
    error = refused_consent(case, county, given_by=given_by)
    assert error_fields(error) == ["given_by"]
    assert error.code == "guardian_required"
    assert consent(case, county, given_by=Consent.GivenBy.GUARDIAN).is_active


@pytest.mark.django_db
def test_a_minors_decline_is_given_by_a_guardian_only(county):
    case = case_in_state(county, State.INFORMED, person=minor())
    with pytest.raises(DomainError) as caught:
        services.decline_consent(
            case,
            actor=county.alice,
            expected_version=case.lock_version,
            method=Consent.Method.WRITTEN,
            given_by=Consent.GivenBy.PERSON,
            given_by_name="Kim",
        )
    assert caught.value.field == "given_by"


@pytest.mark.django_db
def test_information_to_a_child_requires_contact_with_the_guardians(county):
    case = case_in_state(county, State.INITIATED, person=minor())
    with pytest.raises(DomainError) as caught:
        services.record_information(case, actor=county.alice, expected_version=case.lock_version)
    assert caught.value.field == "guardians_contacted"
    services.record_information(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        guardians_contacted=True,
        child_views="Vill inte ha möten på skoltid.",
    )
    case.refresh_from_db()
    assert case.guardians_contacted_at is not None
    assert case.child_views == "Vill inte ha möten på skoltid."


# --- Revocation -----------------------------------------------------------------------------


@pytest.fixture
def three_organisations(county):
    """A case in preparation whose consent covers region, kommun and Försäkringskassan, with
    hemtjänst (bob) and a Försäkringskassan office (dora) taking part."""
    fk = OrganisationFactory(name="Försäkringskassan", kind=Organisation.Kind.FORSAKRINGSKASSAN)
    office = UnitFactory(organisation=fk, name="Lokalkontor Testby")
    dora = staff(office, Assignment.Role.PARTICIPANT, username="dora")
    case = case_in_state(county, State.INFORMED)
    consent(case, county, organisations=[county.region, county.kommun, fk])
    services.start_preparation(case, actor=county.alice, expected_version=case.lock_version)
    services.add_participant(case, actor=county.alice, unit=county.hemtjanst)
    services.add_participant(case, actor=county.alice, unit=office)
    return case, fk, office, dora


@pytest.mark.django_db
def test_partial_revocation_removes_that_organisations_access_at_once(county, three_organisations):
    case, fk, _office, dora = three_organisations
    assert sees(county.bob, case) and sees(dora, case) and sees(county.alice, case)

    given = services.revoke_consent(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        organisations=[county.kommun],
        note="Vill inte att hemtjänsten ser planen",
    )

    assert not sees(county.bob, case)
    with pytest.raises(Http404):
        get_case_for(county.bob, case.pk)
    assert sees(dora, case)
    assert sees(county.alice, case)
    case.refresh_from_db()
    assert case.state == State.PREPARATION
    given.refresh_from_db()
    assert given.revoked_at is None and given.is_active
    revoked = ConsentScope.objects.filter(consent=given, revoked_at__isnull=False)
    assert list(revoked.values_list("organisation", flat=True)) == [county.kommun.pk]
    assert given.scopes.count() == 3  # the revoked scope stays on record


@pytest.mark.django_db
def test_after_partial_revocation_the_organisation_can_neither_act_nor_be_called(
    county, three_organisations
):
    case, _fk, office, _dora = three_organisations
    services.revoke_consent(
        case, actor=county.alice, expected_version=case.lock_version, organisations=[county.kommun]
    )
    with pytest.raises(PermissionRefused):
        services.update_preparation(
            case, actor=county.bob, expected_version=0, values={"preferred_place": "Hemma"}
        )
    call = services.MeetingCall(
        starts_at=future(), duration_minutes=45, place="Hemma", units=[county.hemtjanst, office]
    )
    with pytest.raises(DomainError) as caught:
        services.call_meeting(
            case, actor=county.alice, expected_version=case.lock_version, call=call
        )
    assert caught.value.field == "units"
    assert "Hemtjänst Norr" in caught.value.sv
    assert "Lokalkontor" not in caught.value.sv


@pytest.mark.django_db
def test_revoking_every_organisation_one_by_one_ends_the_consent_and_closes(
    county, three_organisations
):
    case, fk, _office, _dora = three_organisations
    for organisation in (county.kommun, fk):
        services.revoke_consent(
            case, actor=county.alice, expected_version=None, organisations=[organisation]
        )
        assert SipCase.objects.get(pk=case.pk).state == State.PREPARATION
    services.revoke_consent(
        case, actor=county.alice, expected_version=None, organisations=[county.region]
    )
    case.refresh_from_db()
    assert case.state == State.CLOSED
    assert case.closing_reason == SipCase.ClosingReason.CONSENT_REVOKED
    assert Consent.objects.get(case=case).revoked_at is not None


@pytest.mark.django_db
def test_partial_revocation_of_an_organisation_outside_the_consent_is_refused(
    county, three_organisations
):
    case, *_ = three_organisations
    other = county.other_kommun
    before = snapshot(case)
    with pytest.raises(DomainError) as caught:
        services.revoke_consent(
            case, actor=county.alice, expected_version=case.lock_version, organisations=[other]
        )
    assert caught.value.code == "not_in_scope"
    assert caught.value.field == "organisations"
    assert snapshot(case) == before


@pytest.mark.django_db
def test_the_coordinating_organisation_is_not_revoked_alone_but_all_can_be(
    county, three_organisations
):
    case, fk, _office, _dora = three_organisations
    before = snapshot(case)
    for chosen in ([county.region], [county.region, fk]):
        with pytest.raises(DomainError) as caught:
            services.revoke_consent(
                case, actor=county.alice, expected_version=case.lock_version, organisations=chosen
            )
        assert caught.value.code == "coordinating_organisation"
        assert caught.value.field == "organisations"
        assert_bilingual(caught.value)
        assert "Region Test" in caught.value.sv and "Vårdcentral Centrum" in caught.value.sv
        assert "Region Test" in caught.value.en and "all organisations" in caught.value.en
        assert snapshot(case) == before
        assert not ConsentScope.objects.filter(revoked_at__isnull=False).exists()
    assert sees(county.bob, case) and sees(county.alice, case)

    services.revoke_consent(case, actor=county.alice, expected_version=case.lock_version)
    case.refresh_from_db()
    assert case.state == State.CLOSED
    assert case.closing_reason == SipCase.ClosingReason.CONSENT_REVOKED
    assert not sees(county.bob, case)


@pytest.mark.django_db
def test_naming_every_organisation_with_the_coordinating_one_revokes_all(
    county, three_organisations
):
    case, fk, _office, _dora = three_organisations
    services.revoke_consent(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        organisations=[county.region, county.kommun, fk],
    )
    case.refresh_from_db()
    assert case.state == State.CLOSED
    assert Consent.objects.get(case=case).revoked_at is not None


@pytest.mark.django_db
def test_full_revocation_closes_the_case_and_ends_shared_access(county):
    case = case_in_state(county, State.MEETING_CALLED)
    assert sees(county.bob, case)
    given = services.revoke_consent(
        case, actor=county.bob, expected_version=case.lock_version, note="Sa det i telefon"
    )
    case.refresh_from_db()
    assert case.state == State.CLOSED
    assert case.closing_reason == SipCase.ClosingReason.CONSENT_REVOKED
    assert case.closed_at is not None
    assert given.revoked_at is not None
    assert given.revoked_by == county.bob  # any unit taking part may record it
    assert given.revocation_note == "Sa det i telefon"
    assert not given.is_active
    assert not sees(county.bob, case)
    assert sees(county.alice, case)  # the record holder keeps reading what was recorded


@pytest.mark.django_db
@pytest.mark.parametrize("state", [State.INITIATED, State.INFORMED])
def test_revocation_before_any_consent_is_refused(county, state):
    case = case_in_state(county, state)
    before = snapshot(case)
    with pytest.raises(TransitionNotAllowed):
        services.revoke_consent(case, actor=county.alice, expected_version=case.lock_version)
    assert snapshot(case) == before


@pytest.mark.django_db
def test_revocation_when_the_consent_is_already_revoked_is_refused(county):
    case = case_in_state(county, State.CONSENTED)
    Consent.objects.filter(case=case).update(revoked_at=timezone.now())
    before = snapshot(case)
    with pytest.raises(DomainError) as caught:
        services.revoke_consent(case, actor=county.alice, expected_version=case.lock_version)
    assert caught.value.code == "no_consent"
    assert caught.value.field == "organisations"
    assert_bilingual(caught.value)
    assert snapshot(case) == before


@pytest.mark.django_db
def test_expired_consent_no_longer_lets_the_participating_unit_see_the_case(county):
    case = case_in_state(county, State.MEETING_CALLED)
    assert sees(county.bob, case)
    Consent.objects.filter(case=case).update(valid_until=timezone.localdate())
    assert sees(county.bob, case)  # valid through its last day
    Consent.objects.filter(case=case).update(
        valid_until=timezone.localdate() - dt.timedelta(days=1)
    )
    assert not sees(county.bob, case)
    assert sees(county.alice, case)
