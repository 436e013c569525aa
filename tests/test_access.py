"""Access follows participation: staff of different organisations see a SIP only through an
active assignment at a unit that holds the record, or takes part while the consent covers it;
never after the retention time. Refusals are logged."""

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone

from samplan.access.models import AuditEvent
from samplan.access.services import cases_visible_to, get_case_for
from samplan.cases import services
from samplan.cases.models import Participant, SipCase, State
from samplan.directory.models import Assignment, User
from samplan.errors import DomainError, PermissionRefused
from tests.domain_helpers import audit_rows, snapshot
from tests.factories import PersonFactory, UserFactory, case_in_state, consent_to, staff


def sees(user, case) -> bool:
    return cases_visible_to(user).filter(pk=case.pk).exists()


def fresh(user) -> User:
    """The same staff member as a new object, without cached units."""
    return User.objects.get(pk=user.pk)


def refused_reads(case, user):
    return audit_rows(
        case, user=user, action=AuditEvent.Action.READ, outcome=AuditEvent.Outcome.REFUSED
    )


def close(case, actor):
    return services.close_case(
        case,
        actor=actor,
        expected_version=case.lock_version,
        reason=SipCase.ClosingReason.NO_LONGER_NEEDED,
    )


# --- Who sees ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_coordinating_unit_sees_the_case_before_consent(county):
    case = case_in_state(county, State.INITIATED)
    colleague = staff(county.vardcentral, Assignment.Role.PARTICIPANT, username="colleague")
    assert sees(county.alice, case)
    assert sees(colleague, case)
    read = get_case_for(county.alice, case.pk)
    assert read.pk == case.pk
    assert read.acting_unit_id == county.vardcentral.pk


@pytest.mark.django_db
def test_participating_kommun_unit_sees_the_case_only_once_consent_covers_its_organisation(county):
    case = case_in_state(county, State.INITIATED)
    services.add_participant(case, actor=county.alice, unit=county.hemtjanst)
    assert not sees(county.bob, case)
    services.record_information(case, actor=county.alice, expected_version=case.lock_version)
    assert not sees(county.bob, case)
    consent_to(case, county.alice, [county.region])  # the kommun is not (yet) covered
    assert not sees(county.bob, case)
    with pytest.raises(Http404):
        get_case_for(county.bob, case.pk)

    other = case_in_state(county, State.CONSENTED)  # consent covers region and kommun
    assert not sees(county.bob, other)  # …but hemtjänst does not take part yet
    services.add_participant(other, actor=county.alice, unit=county.hemtjanst)
    assert sees(county.bob, other)
    assert get_case_for(county.bob, other.pk).acting_unit_id == county.hemtjanst.pk


@pytest.mark.django_db
def test_a_unit_removed_from_the_case_loses_access(county):
    case = case_in_state(county, State.MEETING_CALLED)
    assert sees(county.bob, case)
    Participant.objects.filter(case=case, unit=county.hemtjanst).update(removed_at=timezone.now())
    assert not sees(county.bob, case)


@pytest.mark.django_db
@pytest.mark.parametrize("state", list(State))
def test_unrelated_kommun_never_sees_the_case(county, state):
    case = case_in_state(county, state)
    assert not sees(county.charlie, case)
    assert sees(county.alice, case)


@pytest.mark.django_db
def test_get_case_for_an_outsider_is_404_and_logs_the_refusal_with_case_and_person(county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    with pytest.raises(Http404):
        get_case_for(county.charlie, case.pk)
    row = refused_reads(case, county.charlie).get()
    assert row.person_id == case.person_id
    assert row.username == "charlie"
    assert row.what == "sip_case"
    assert not audit_rows(case, user=county.charlie, outcome=AuditEvent.Outcome.ALLOWED).exists()


@pytest.mark.django_db
def test_get_case_for_a_missing_case_is_the_same_404_and_is_logged(county):
    with pytest.raises(Http404):
        get_case_for(county.alice, 987654)
    row = AuditEvent.objects.get(user=county.alice, outcome=AuditEvent.Outcome.REFUSED)
    assert (row.case_id, row.person_id) == (None, None)


@pytest.mark.django_db
def test_allowed_read_is_logged_with_the_unit_that_grants_it(county):
    case = case_in_state(county, State.MEETING_CALLED)
    get_case_for(county.bob, case.pk, what="plan")
    row = audit_rows(case, user=county.bob, action=AuditEvent.Action.READ).get()
    assert row.outcome == AuditEvent.Outcome.ALLOWED
    assert row.unit_id == county.hemtjanst.pk
    assert row.unit_name == "Hemtjänst Norr"
    assert row.person_id == case.person_id
    assert row.what == "plan"


@pytest.mark.django_db
def test_anonymous_user_sees_nothing(county):
    case = case_in_state(county, State.INITIATED)
    assert not cases_visible_to(AnonymousUser()).exists()
    with pytest.raises(Http404):
        get_case_for(AnonymousUser(), case.pk)
    row = refused_reads(case, None).get()
    assert row.username == ""


@pytest.mark.django_db
def test_a_security_officer_opens_no_case(county):
    case = case_in_state(county, State.INITIATED)
    officer = staff(county.vardcentral, Assignment.Role.SECURITY_OFFICER, username="officer")
    assert not sees(officer, case)
    with pytest.raises(PermissionRefused):
        close(case, officer)


@pytest.mark.django_db
def test_a_unit_administrator_sees_the_units_cases_but_never_acts(county):
    case = case_in_state(county, State.PREPARATION)
    elsewhere = services.initiate_case(
        actor=county.charlie, person=PersonFactory(), initiating_unit=county.elsewhere
    )
    admin = staff(county.vardcentral, Assignment.Role.UNIT_ADMINISTRATOR, username="admin")
    assert sees(admin, case)
    assert not sees(admin, elsewhere)
    assert get_case_for(admin, case.pk).acting_unit_id == county.vardcentral.pk
    with pytest.raises(PermissionRefused):
        close(case, admin)
    with pytest.raises(PermissionRefused):
        services.update_preparation(
            case, actor=admin, expected_version=0, values={"preferred_place": "Här"}
        )
    assert case.state == State.PREPARATION


@pytest.mark.django_db
def test_what_a_unit_administrator_sees_is_not_acted_on_through_another_unit(county):
    # Bob's hemtjänst takes part, but the consent names the region only: as a participant he
    # may not act on it, even while his administrator role at the vårdcentral shows it to him.
    case = case_in_state(county, State.INFORMED)
    services.add_participant(case, actor=county.alice, unit=county.hemtjanst)
    consent_to(case, county.alice, [county.region])
    services.start_preparation(case, actor=county.alice, expected_version=case.lock_version)
    assert not sees(county.bob, case)
    Assignment.objects.create(
        user=county.bob, unit=county.vardcentral, role=Assignment.Role.UNIT_ADMINISTRATOR
    )
    bob = fresh(county.bob)
    assert sees(bob, case)
    with pytest.raises(PermissionRefused):
        services.update_preparation(
            case, actor=bob, expected_version=0, values={"preferred_place": "Här"}
        )


# --- Who may act ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_outsider_transition_is_refused_rolled_back_and_the_refusal_survives_in_the_log(county):
    case = case_in_state(county, State.PREPARATION)
    before = snapshot(case)
    with pytest.raises(PermissionRefused) as caught:
        close(case, county.charlie)
    assert caught.value.sv and caught.value.en and caught.value.sv != caught.value.en
    assert snapshot(case) == before
    row = audit_rows(
        case, user=county.charlie, action=AuditEvent.Action.CHANGE
    ).get()  # exactly one row, the refusal
    assert row.outcome == AuditEvent.Outcome.REFUSED
    assert row.person_id == case.person_id


@pytest.mark.django_db
def test_outsider_cannot_take_part_either(county):
    case = case_in_state(county, State.PREPARATION)
    with pytest.raises(PermissionRefused) as caught:
        services.update_preparation(
            case, actor=county.charlie, expected_version=0, values={"preferred_place": "Här"}
        )
    assert "deltar inte" in caught.value.sv
    assert "does not take part" in caught.value.en
    assert case.preparation.preferred_place == ""
    assert audit_rows(case, user=county.charlie, outcome=AuditEvent.Outcome.REFUSED).count() == 1


@pytest.mark.django_db
def test_participating_unit_may_take_part_but_not_drive(county):
    case = case_in_state(county, State.MEETING_CALLED)
    invitation = case.meetings.get().invitations.get(unit=county.hemtjanst)
    services.record_answer(invitation, actor=county.bob, answer="accepted")
    row = audit_rows(case, user=county.bob, action=AuditEvent.Action.CHANGE).get()
    assert row.unit_id == county.hemtjanst.pk

    before = snapshot(case)
    with pytest.raises(PermissionRefused) as caught:
        close(case, county.bob)
    assert "SIP-ansvarig" in caught.value.sv
    assert "coordinator" in caught.value.en
    assert snapshot(case) == before
    assert audit_rows(case, user=county.bob, outcome=AuditEvent.Outcome.REFUSED).count() == 1


@pytest.mark.django_db
def test_a_participant_at_the_coordinating_unit_cannot_drive_but_its_coordinators_can(county):
    case = case_in_state(county, State.CONSENTED)
    clerk = staff(county.vardcentral, Assignment.Role.PARTICIPANT, username="clerk")
    stand_in = staff(county.vardcentral, Assignment.Role.COORDINATOR, username="standin")
    with pytest.raises(PermissionRefused):
        services.start_preparation(case, actor=clerk, expected_version=case.lock_version)
    services.start_preparation(case, actor=stand_in, expected_version=case.lock_version)
    assert SipCase.objects.get(pk=case.pk).state == State.PREPARATION


@pytest.mark.django_db
def test_initiative_only_at_a_unit_where_the_user_holds_an_assignment(county):
    from tests.factories import PersonFactory

    person = PersonFactory()
    with pytest.raises(PermissionRefused) as caught:
        services.initiate_case(
            actor=county.charlie, person=person, initiating_unit=county.vardcentral
        )
    assert caught.value.field == "initiating_unit"
    assert not SipCase.objects.filter(person=person).exists()
    row = AuditEvent.objects.get(user=county.charlie, person_id=person.pk)
    assert (row.action, row.outcome) == (AuditEvent.Action.CREATE, AuditEvent.Outcome.REFUSED)


# --- Assignments in time --------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("valid_from", "valid_to"),
    [
        (dt.timedelta(days=-400), dt.timedelta(days=-1)),  # ended yesterday
        (dt.timedelta(days=-400), dt.timedelta(seconds=-1)),  # ended a second ago
        (dt.timedelta(days=1), None),  # starts tomorrow
    ],
)
def test_assignment_outside_its_validity_grants_nothing(county, valid_from, valid_to):
    case = case_in_state(county, State.PREPARATION)
    now = timezone.now()
    former = UserFactory(username="former")
    Assignment.objects.create(
        user=former,
        unit=county.vardcentral,
        role=Assignment.Role.COORDINATOR,
        valid_from=now + valid_from,
        valid_to=now + valid_to if valid_to is not None else None,
    )
    assert not sees(former, case)
    with pytest.raises(Http404):
        get_case_for(former, case.pk)
    before = snapshot(case)
    with pytest.raises(PermissionRefused):
        close(case, fresh(former))
    assert snapshot(case) == before


@pytest.mark.django_db
def test_assignment_within_its_validity_grants_access(county):
    case = case_in_state(county, State.PREPARATION)
    now = timezone.now()
    temp = UserFactory(username="temp")
    Assignment.objects.create(
        user=temp,
        unit=county.vardcentral,
        role=Assignment.Role.COORDINATOR,
        valid_from=now - dt.timedelta(days=1),
        valid_to=now + dt.timedelta(days=1),
    )
    assert sees(temp, case)
    close(case, temp)
    assert SipCase.objects.get(pk=case.pk).state == State.CLOSED


@pytest.mark.django_db
def test_named_coordinator_whose_assignment_ended_can_no_longer_drive(county):
    case = case_in_state(county, State.CONSENTED)  # alice is the named coordinator
    # One by one: each end of an assignment is an audited grant (bulk updates are refused).
    for assignment in Assignment.objects.filter(user=county.alice):
        assignment.valid_to = timezone.now() - dt.timedelta(minutes=1)
        assignment.save()
    alice = fresh(county.alice)
    assert not sees(alice, case)
    with pytest.raises(PermissionRefused):
        services.start_preparation(case, actor=alice, expected_version=case.lock_version)


# --- Retention ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_closed_case_stays_visible_within_retention_and_disappears_after(county, settings):
    settings.SAMPLAN_RETENTION_DAYS = 30
    case = case_in_state(county, State.CLOSED)
    assert sees(county.alice, case)
    SipCase.objects.filter(pk=case.pk).update(closed_at=timezone.now() - dt.timedelta(days=29))
    assert sees(county.alice, case)
    assert sees(county.bob, case)  # consent was never revoked: bob's unit read it too
    SipCase.objects.filter(pk=case.pk).update(closed_at=timezone.now() - dt.timedelta(days=31))
    assert not sees(county.alice, case)
    assert not sees(county.bob, case)
    with pytest.raises(Http404):
        get_case_for(county.alice, case.pk)
    assert refused_reads(case, county.alice).count() == 1


@pytest.mark.django_db
def test_retention_does_not_hide_open_cases_however_old(county, settings):
    settings.SAMPLAN_RETENTION_DAYS = 1
    case = case_in_state(county, State.FOLLOW_UP)
    SipCase.objects.filter(pk=case.pk).update(initiated_at=timezone.now() - dt.timedelta(days=900))
    assert sees(county.alice, case)


@pytest.mark.django_db
def test_the_initiating_unit_sees_the_case_before_consent_and_after_only_if_consent_covers_it(
    county,
):

    ward = county.elsewhere  # a unit of another kommun hands the SIP to the vårdcentral
    initiator = county.charlie
    case = services.initiate_case(
        actor=initiator,
        person=PersonFactory(),
        initiating_unit=ward,
        coordinating_unit=county.vardcentral,
        coordinator=county.alice,
    )
    assert cases_visible_to(initiator).filter(pk=case.pk).exists()
    services.record_information(case, actor=county.alice, expected_version=case.lock_version)
    assert cases_visible_to(initiator).filter(pk=case.pk).exists()

    consent_to(case, county.alice, [county.region, county.kommun])
    assert not cases_visible_to(initiator).filter(pk=case.pk).exists()
    assert cases_visible_to(county.alice).filter(pk=case.pk).exists()
    colleague = staff(ward, username="colleague")
    assert not cases_visible_to(colleague).filter(pk=case.pk).exists()


@pytest.mark.django_db
def test_the_named_coordinator_must_be_a_coordinator_at_the_coordinating_unit(county):
    with pytest.raises(DomainError) as refused:
        services.initiate_case(
            actor=county.alice,
            person=PersonFactory(),
            initiating_unit=county.vardcentral,
            coordinator=county.bob,  # a participant at a kommun unit
        )
    assert refused.value.field == "coordinator"
    assert not SipCase.objects.exists()
