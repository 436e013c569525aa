"""Factories for the directory, people and cases. Cases are moved only through services."""

from __future__ import annotations

import datetime as dt
import itertools

import factory
from django.utils import timezone

from samplan.cases import services
from samplan.cases.models import Consent, PlanVersion, SipCase, State
from samplan.directory.models import Assignment, Organisation, Unit, User
from samplan.directory.validators import luhn_ok
from samplan.people.identity import make_identity_number
from samplan.people.models import Person, RelatedParty

_organisation_numbers = itertools.count(212000_0000 // 10)


def organisation_number() -> str:
    while True:
        base = str(next(_organisation_numbers)).zfill(9)
        for digit in range(10):
            candidate = base + str(digit)
            if luhn_ok(candidate):
                return f"{candidate[:6]}-{candidate[6:]}"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = Organisation.Kind.KOMMUN
    organisation_number = factory.LazyFunction(organisation_number)


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Enhet {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Sequence(lambda n: f"Förnamn{n}")
    last_name = "Testsson"
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def staff(unit: Unit, role: str = Assignment.Role.COORDINATOR, **kwargs) -> User:
    user = UserFactory(**kwargs)
    Assignment.objects.create(user=user, unit=unit, role=role)
    return user


_serials = itertools.count(2)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    identity_kind = Person.IdentityKind.PERSONNUMMER
    identity_number = factory.LazyFunction(
        lambda: make_identity_number(dt.date(1960, 5, 17), next(_serials) % 997 + 2)
    )
    birth_date = dt.date(1960, 5, 17)
    given_name = factory.Sequence(lambda n: f"Person{n}")
    family_name = "Exempel"
    is_fictitious = True


def minor(**kwargs) -> Person:
    birth = timezone.localdate() - dt.timedelta(days=15 * 365 + 30)
    return PersonFactory(
        identity_number=make_identity_number(birth, next(_serials) % 997 + 2),
        birth_date=birth,
        **kwargs,
    )


class RelatedPartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RelatedParty

    person = factory.SubFactory(PersonFactory)
    kind = RelatedParty.Kind.RELATIVE
    name = factory.Sequence(lambda n: f"Närstående {n}")


class County:
    """A small county: a region unit and a kommun unit, a coordinator at each, an outsider."""

    def __init__(self):
        self.region = OrganisationFactory(name="Region Test", kind=Organisation.Kind.REGION)
        self.kommun = OrganisationFactory(name="Testby kommun", kind=Organisation.Kind.KOMMUN)
        self.other_kommun = OrganisationFactory(name="Annanby kommun")
        self.vardcentral = UnitFactory(organisation=self.region, name="Vårdcentral Centrum")
        self.hemtjanst = UnitFactory(organisation=self.kommun, name="Hemtjänst Norr")
        self.elsewhere = UnitFactory(organisation=self.other_kommun, name="Socialtjänst Annanby")
        self.alice = staff(self.vardcentral, username="alice")  # coordinator, region
        self.bob = staff(self.hemtjanst, Assignment.Role.PARTICIPANT, username="bob")  # kommun
        self.charlie = staff(self.elsewhere, username="charlie")  # takes no part


def future(days: int = 7, hour: int = 10) -> dt.datetime:
    moment = timezone.localtime() + dt.timedelta(days=days)
    return moment.replace(hour=hour, minute=0, second=0, microsecond=0)


def complete_draft(county: County, **overrides) -> services.PlanDraft:
    values = dict(
        needs_today="Kan inte duscha själv; ostadig gång.",
        goals=["Jag vill kunna gå till affären själv till sommaren."],
        interventions=[
            services.InterventionData(
                description="Hemtjänst morgon och kväll",
                unit=county.hemtjanst,
                contact_name="Lena Berg",
                starts_on=timezone.localdate(),
                ends_note="Ses över om tre månader",
            )
        ],
        main_responsible_unit=county.vardcentral,
        coordination="Vårdcentralen samordnar; veckovis avstämning per telefon.",
        follow_up_on=timezone.localdate() + dt.timedelta(weeks=6),
        cooperation_ends="När hon klarar sig med hemtjänst enbart.",
        expected_of_person="Gå med rollatorn dagligen.",
        expected_of_relatives="Dottern handlar varje vecka.",
        attendees=[("Gunnel", "personen"), ("Lena Berg", "Hemtjänst Norr")],
    )
    values.update(overrides)
    return services.PlanDraft(**values)


def consent_to(case, actor, organisations, *, given_by=Consent.GivenBy.PERSON, **overrides):
    """Written consent naming these organisations, recorded by `actor`."""
    values = dict(
        method=Consent.Method.WRITTEN,
        given_by=given_by,
        given_by_name="Gunnel",
        organisations=organisations,
        information_scope="Behov, insatser och planen",
    )
    values.update(overrides)
    return services.give_consent(case, actor=actor, expected_version=case.lock_version, **values)


def case_in_state(county: County, state: str, person: Person | None = None, **initiate) -> SipCase:
    """A case coordinated by alice's vårdcentral with bob's hemtjänst taking part, driven through
    the services to `state`. `initiate`: more arguments of initiate_case (a discharge SIP)."""
    alice = county.alice
    person = person or PersonFactory()
    case = services.initiate_case(
        actor=alice,
        person=person,
        initiating_unit=county.vardcentral,
        coordinator=alice,
        **initiate,
    )
    if state == State.INITIATED:
        return case
    guardian = person.is_minor
    services.record_information(
        case, actor=alice, expected_version=case.lock_version, guardians_contacted=guardian
    )
    if state == State.INFORMED:
        return case
    consent_to(
        case,
        alice,
        [county.region, county.kommun],
        given_by=Consent.GivenBy.GUARDIAN if guardian else Consent.GivenBy.PERSON,
    )
    if state == State.CONSENTED:
        return case
    services.start_preparation(case, actor=alice, expected_version=case.lock_version)
    if state == State.PREPARATION:
        return case
    services.call_meeting(
        case,
        actor=alice,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=future(),
            duration_minutes=45,
            place="Hemma",
            units=[county.vardcentral, county.hemtjanst],
        ),
    )
    if state == State.MEETING_CALLED:
        return case
    # The plan is established at the meeting, once it has started (moved there directly: the
    # services call meetings ahead only).
    case.meetings.update(starts_at=timezone.now() - dt.timedelta(hours=1))
    draft = services.save_plan_draft(
        case, actor=alice, expected_version=None, data=complete_draft(county)
    )
    services.establish_plan(
        case,
        actor=alice,
        expected_version=draft.lock_version,
        approved_by=PlanVersion.ApprovedBy.GUARDIAN if guardian else PlanVersion.ApprovedBy.PERSON,
        approved_by_name="Gunnel",
    )
    if state == State.PLAN_ESTABLISHED:
        return case
    if state == State.FOLLOW_UP:
        services.call_follow_up(
            case,
            actor=alice,
            expected_version=case.lock_version,
            call=services.MeetingCall(
                starts_at=future(42),
                duration_minutes=45,
                place="Hemma",
                units=[county.vardcentral, county.hemtjanst],
            ),
        )
        return case
    if state == State.CLOSED:
        services.close_case(
            case,
            actor=alice,
            expected_version=case.lock_version,
            reason=SipCase.ClosingReason.GOALS_REACHED,
        )
        return case
    raise ValueError(state)


def related_party_of(case: SipCase, **kwargs) -> RelatedParty:
    """A related party of the case's person, known in that SIP (SipCase.related_parties): only
    such parties show on its page and can be invited to its meetings."""
    party = RelatedPartyFactory(person=case.person, **kwargs)
    case.related_parties.add(party)
    return party


def ready_to_establish(case: SipCase, actor) -> None:
    """What establishing a plan waits for: the meeting the case is waiting for has started
    (moved an hour back directly: the services call meetings ahead only), and at a follow-up
    every goal and intervention of the valid plan is evaluated."""
    from samplan.cases.models import Meeting

    kind = Meeting.Kind.FOLLOW_UP if case.state == State.FOLLOW_UP else Meeting.Kind.SIP
    meeting = (
        Meeting.objects.filter(case=case, kind=kind, cancelled_at__isnull=True)
        .order_by("-called_at", "-pk")
        .first()
    )
    if meeting is None:
        return
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=future(-1))
    if kind == Meeting.Kind.FOLLOW_UP:
        meeting.refresh_from_db()
        plan = case.valid_plan()
        services.record_evaluation(
            meeting,
            actor=actor,
            goals={goal.pk: services.EvaluationData("reached") for goal in plan.goals.all()},
            interventions={
                item.pk: services.EvaluationData("partly") for item in plan.interventions.all()
            },
        )
