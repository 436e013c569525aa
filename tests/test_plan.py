"""The plan: its mandatory parts, responsible actors, follow-up date, approval by the person or
a guardian, and versions that never change once approved."""

import datetime as dt

import pytest
from django.utils import timezone

from samplan.cases import services
from samplan.cases.models import Attendee, Goal, Intervention, Meeting, PlanVersion, SipCase, State
from samplan.errors import DomainError, StaleEdit
from tests.domain_helpers import assert_bilingual, error_fields, errors_of, snapshot
from tests.factories import RelatedPartyFactory, case_in_state, complete_draft, future, minor

MANDATORY = [
    "needs_today",
    "goals",
    "interventions",
    "main_responsible_unit",
    "coordination",
    "follow_up_on",
    "cooperation_ends",
    "expected_of_person",
    "attendees",
    "approved_by_name",
]


def meeting_started(county, **kwargs) -> SipCase:
    """A case whose SIP meeting started an hour ago (moved there directly: the services call
    meetings ahead only), so that its plan can be established."""
    case = case_in_state(county, State.MEETING_CALLED, **kwargs)
    Meeting.objects.filter(case=case).update(starts_at=timezone.now() - dt.timedelta(hours=1))
    return case


def save_draft(case, county, **overrides) -> PlanVersion:
    draft = case.draft_plan()
    return services.save_plan_draft(
        case,
        actor=county.alice,
        expected_version=draft.lock_version if draft else None,
        data=complete_draft(county, **overrides),
    )


def establish(case, county, draft, *, approved_by=PlanVersion.ApprovedBy.PERSON, name="Gunnel"):
    return services.establish_plan(
        case,
        actor=county.alice,
        expected_version=draft.lock_version,
        approved_by=approved_by,
        approved_by_name=name,
    )


def refused_establish(case, county, draft, **kwargs) -> DomainError:
    before = snapshot(case)
    with pytest.raises(DomainError) as caught:
        establish(case, county, draft, **kwargs)
    assert snapshot(case) == before  # still a draft, state unchanged, no event
    assert PlanVersion.objects.get(pk=draft.pk).status == PlanVersion.Status.DRAFT
    assert_bilingual(caught.value)
    return caught.value


def plan_content(plan: PlanVersion) -> dict:
    plan = PlanVersion.objects.get(pk=plan.pk)
    return {
        "fields": {
            name: getattr(plan, name)
            for name in (
                "number",
                "needs_today",
                "coordination",
                "main_responsible_unit_id",
                "follow_up_on",
                "cooperation_ends",
                "expected_of_person",
                "expected_of_relatives",
                "approved_at",
                "approved_by",
                "approved_by_name",
            )
        },
        "goals": list(plan.goals.values_list("text", flat=True)),
        "interventions": list(
            plan.interventions.values_list("description", "unit_id", "starts_on", "ends_note")
        ),
        "attendees": list(plan.attendees.values_list("name", "represents")),
    }


@pytest.mark.django_db
def test_empty_plan_cannot_be_established_and_every_missing_part_is_named(county):
    case = meeting_started(county)
    draft = services.save_plan_draft(
        case, actor=county.alice, expected_version=None, data=services.PlanDraft()
    )
    error = refused_establish(case, county, draft, name="")
    assert sorted(set(error_fields(error))) == sorted(MANDATORY)
    for item in errors_of(error):
        assert item.code == "required"


@pytest.mark.django_db
@pytest.mark.parametrize("missing", MANDATORY)
def test_plan_missing_one_part_is_refused_naming_just_that_part(county, missing):
    case = meeting_started(county)
    empty = {
        "needs_today": "   ",
        "goals": ["  "],
        "interventions": [],
        "main_responsible_unit": None,
        "coordination": "",
        "follow_up_on": None,
        "cooperation_ends": "",
        "expected_of_person": "",
        "attendees": [("", "")],
    }
    overrides = {missing: empty[missing]} if missing in empty else {}
    draft = save_draft(case, county, **overrides)
    name = "" if missing == "approved_by_name" else "Gunnel"
    error = refused_establish(case, county, draft, name=name)
    assert error_fields(error) == [missing]


@pytest.mark.django_db
def test_complete_plan_is_established_and_becomes_the_valid_version(county):
    case = meeting_started(county)
    draft = save_draft(case, county)
    plan = establish(case, county, draft)
    case.refresh_from_db()
    assert case.state == State.PLAN_ESTABLISHED
    assert plan.status == PlanVersion.Status.VALID
    assert plan.number == 1
    assert plan.approved_at is not None
    assert plan.approved_by_name == "Gunnel"
    assert plan.established_by == county.alice
    assert case.valid_plan() == plan
    assert case.draft_plan() is None


@pytest.mark.django_db
def test_intervention_without_a_responsible_actor_is_refused_naming_it(county):
    case = meeting_started(county)
    without_actor = services.InterventionData(
        description="Boendestöd två gånger i veckan",
        starts_on=timezone.localdate(),
        ends_note="Vid uppföljningen",
    )
    draft = save_draft(case, county, interventions=[without_actor])
    error = refused_establish(case, county, draft)
    assert error.field == "interventions-0-responsible"  # the editor's row and input
    assert error.code == "responsible_missing"
    assert "Boendestöd två gånger i veckan" in error.sv
    assert "saknar ansvarig aktör" in error.sv
    assert "Boendestöd två gånger i veckan" in error.en
    assert "no responsible actor" in error.en


@pytest.mark.django_db
def test_each_intervention_lacking_an_actor_gets_its_own_message(county):
    case = meeting_started(county)
    today = timezone.localdate()
    items = [
        services.InterventionData(
            "Hemtjänst", unit=county.hemtjanst, starts_on=today, ends_note="-"
        ),
        services.InterventionData("Boendestöd", starts_on=today, ends_note="-"),
        services.InterventionData("Dagverksamhet", starts_on=today, ends_note="-"),
    ]
    draft = save_draft(case, county, interventions=items)
    error = refused_establish(case, county, draft)
    messages = [item.en for item in errors_of(error)]
    assert len(messages) == 2
    assert "Intervention 2 (Boendestöd)" in messages[0]
    assert "Intervention 3 (Dagverksamhet)" in messages[1]
    assert error_fields(error) == ["interventions-1-responsible", "interventions-2-responsible"]


@pytest.mark.django_db
def test_intervention_needs_a_start_and_an_end(county):
    case = meeting_started(county)
    item = services.InterventionData("Hemtjänst", unit=county.hemtjanst)
    draft = save_draft(case, county, interventions=[item])
    error = refused_establish(case, county, draft)
    assert sorted(item.code for item in errors_of(error)) == ["end_missing", "start_missing"]
    assert error_fields(error) == ["interventions-0-starts_on", "interventions-0-ends_on"]


@pytest.mark.django_db
def test_intervention_without_a_description_is_refused_at_its_row(county):
    case = meeting_started(county)
    today = timezone.localdate()
    items = [
        services.InterventionData(
            "Hemtjänst", unit=county.hemtjanst, starts_on=today, ends_note="-"
        ),
        services.InterventionData("  ", unit=county.hemtjanst, starts_on=today, ends_note="-"),
    ]
    draft = save_draft(case, county, interventions=items)
    error = refused_establish(case, county, draft)
    assert (error.field, error.code) == ("interventions-1-description", "description_missing")
    assert "Insats 2:" in error.sv
    assert "Intervention 2:" in error.en


@pytest.mark.django_db
def test_intervention_ending_before_it_starts_is_refused_when_saving_the_draft(county):
    case = meeting_started(county)
    today = timezone.localdate()
    item = services.InterventionData(
        "Hemtjänst", unit=county.hemtjanst, starts_on=today, ends_on=today - dt.timedelta(days=1)
    )
    with pytest.raises(DomainError) as caught:
        save_draft(case, county, interventions=[item])
    assert caught.value.field == "interventions-0-ends_on"
    assert caught.value.code == "end_before_start"
    assert case.draft_plan() is None


@pytest.mark.django_db
def test_a_relative_or_an_organisation_can_carry_an_intervention(county):
    case = meeting_started(county)
    daughter = RelatedPartyFactory(person=case.person, name="Dottern Eva")
    today = timezone.localdate()
    items = [
        services.InterventionData(
            "Handlar", responsible_party=daughter, starts_on=today, ends_note="Tills vidare"
        ),
        services.InterventionData(
            "Rehab", organisation=county.region, starts_on=today, ends_on=today + dt.timedelta(90)
        ),
    ]
    plan = establish(case, county, save_draft(case, county, interventions=items))
    assert [i.responsible_name for i in plan.interventions.all()] == ["Dottern Eva", "Region Test"]


@pytest.mark.django_db
def test_follow_up_date_in_the_past_is_refused(county):
    case = meeting_started(county)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    draft = save_draft(case, county, follow_up_on=yesterday)
    error = refused_establish(case, county, draft)
    assert error.field == "follow_up_on"
    assert error.code == "past"


@pytest.mark.django_db
def test_follow_up_today_is_accepted(county):
    case = meeting_started(county)
    draft = save_draft(case, county, follow_up_on=timezone.localdate())
    assert establish(case, county, draft).follow_up_on == timezone.localdate()


# --- Approved versions never change ---------------------------------------------------------


@pytest.fixture
def established(county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    return case, case.valid_plan()


@pytest.mark.django_db
def test_saving_a_draft_over_an_approved_version_is_refused(county, established):
    case, valid = established
    before = plan_content(valid)
    with pytest.raises(DomainError) as caught:
        services.save_plan_draft(
            case,
            actor=county.alice,
            expected_version=valid.lock_version,
            data=complete_draft(county, needs_today="Skrivet över"),
            plan_version=valid,
        )
    assert caught.value.code == "approved_version_locked"
    assert caught.value.field == "plan"
    assert_bilingual(caught.value)
    assert plan_content(valid) == before
    assert case.plan_versions.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("update_fields", [None, ["needs_today"]])
def test_approved_version_cannot_be_saved_directly(established, update_fields):
    _case, valid = established
    before = plan_content(valid)
    valid.needs_today = "Ändrat i efterhand"
    with pytest.raises(DomainError) as caught:
        valid.save(update_fields=update_fields)
    assert caught.value.code == "approved_version_locked"
    assert plan_content(valid) == before


@pytest.mark.django_db
def test_superseded_version_cannot_be_saved_directly(county, established):
    case, v1 = established
    establish(case, county, save_draft(case, county, needs_today="Version två"))
    v1.refresh_from_db()
    assert v1.status == PlanVersion.Status.SUPERSEDED
    v1.coordination = "Ändrat"
    with pytest.raises(DomainError):
        v1.save()


@pytest.mark.django_db
def test_goals_interventions_and_attendees_of_an_approved_version_are_locked(established):
    _case, valid = established
    before = plan_content(valid)
    goal = valid.goals.first()
    goal.text = "Ett annat mål"
    for attempt in (
        goal.save,
        goal.delete,
        lambda: Goal.objects.create(plan_version=valid, text="Nytt mål"),
        valid.interventions.first().delete,
        lambda: Intervention.objects.create(plan_version=valid, description="Ny insats"),
        valid.attendees.first().delete,
        lambda: Attendee.objects.create(plan_version=valid, name="Någon annan"),
    ):
        with pytest.raises(DomainError) as caught:
            attempt()
        assert caught.value.code == "approved_version_locked"
    assert plan_content(valid) == before


@pytest.mark.django_db
def test_change_after_establishment_is_version_two_and_version_one_stays_unchanged(
    county, established
):
    case, v1 = established
    before = plan_content(v1)
    changed = complete_draft(
        county,
        needs_today="Behöver nu även hjälp med medicinerna.",
        goals=["Jag vill kunna gå till affären själv.", "Jag vill sova bättre."],
        follow_up_on=timezone.localdate() + dt.timedelta(weeks=10),
    )
    draft = services.save_plan_draft(case, actor=county.alice, expected_version=None, data=changed)
    assert draft.number == 2
    assert draft.based_on == v1
    assert draft.status == PlanVersion.Status.DRAFT
    assert case.valid_plan() == v1  # the approved plan still applies while v2 is drafted

    v2 = establish(case, county, draft)
    v1.refresh_from_db()
    assert v2.status == PlanVersion.Status.VALID
    assert v1.status == PlanVersion.Status.SUPERSEDED
    assert plan_content(v1) == before
    assert list(v2.goals.values_list("text", flat=True)) == changed.goals
    assert [(v.number, v.status) for v in case.plan_versions.order_by("number")] == [
        (1, PlanVersion.Status.SUPERSEDED),
        (2, PlanVersion.Status.VALID),
    ]


@pytest.mark.django_db
def test_establishing_needs_a_draft(county, established):
    case, _valid = established
    with pytest.raises(DomainError) as caught:
        establish(case, county, PlanVersion(lock_version=0))
    assert caught.value.code == "no_draft"


# --- Established at the meeting ------------------------------------------------------------


def started(meeting: Meeting) -> None:
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now() - dt.timedelta(minutes=5))


def evaluate_everything(meeting: Meeting, county) -> None:
    plan = meeting.case.valid_plan()
    services.record_evaluation(
        meeting,
        actor=county.alice,
        goals={goal.pk: services.EvaluationData("reached") for goal in plan.goals.all()},
        interventions={
            item.pk: services.EvaluationData("partly") for item in plan.interventions.all()
        },
    )


@pytest.mark.django_db
def test_the_plan_is_not_established_before_the_sip_meeting_has_started(county):
    case = case_in_state(county, State.MEETING_CALLED)
    meeting = case.meetings.get()
    draft = save_draft(case, county)
    error = refused_establish(case, county, draft)
    assert (error.code, error.field) == ("meeting_not_started", "")
    assert "SIP-mötet har börjat" in error.sv
    assert "SIP meeting has started" in error.en
    assert f"{timezone.localtime(meeting.starts_at):%Y-%m-%d %H:%M}" in error.en

    started(meeting)
    plan = establish(case, county, draft)
    assert plan.status == PlanVersion.Status.VALID
    assert case.state == State.PLAN_ESTABLISHED


@pytest.mark.django_db
def test_a_cancelled_meeting_that_was_due_does_not_count_only_the_one_now_called(county):
    case = case_in_state(county, State.MEETING_CALLED)
    cancelled = case.meetings.get()
    started(cancelled)
    services.cancel_meeting(
        cancelled, actor=county.alice, expected_version=case.lock_version, reason="Sjuk"
    )
    services.call_meeting(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=future(14), duration_minutes=45, place="Hemma", units=[county.hemtjanst]
        ),
    )
    draft = save_draft(case, county)
    assert refused_establish(case, county, draft).code == "meeting_not_started"
    started(case.meetings.get(cancelled_at__isnull=True))
    assert establish(case, county, draft).status == PlanVersion.Status.VALID


@pytest.mark.django_db
def test_in_follow_up_the_new_version_waits_for_the_meeting_and_its_evaluation(county):
    case = case_in_state(county, State.FOLLOW_UP)
    meeting = services.follow_up_meeting(case)
    draft = save_draft(case, county, needs_today="Efter uppföljningen")

    error = refused_establish(case, county, draft)
    assert (error.code, error.field) == ("meeting_not_started", "")
    assert "uppföljningsmötet har börjat" in error.sv
    assert "follow-up meeting has started" in error.en

    started(meeting)
    error = refused_establish(case, county, draft)
    assert (error.code, error.field) == ("evaluation_missing", "")
    assert "uppföljningen" in error.sv
    assert "follow-up" in error.en

    meeting.refresh_from_db()
    evaluate_everything(meeting, county)
    plan = establish(case, county, PlanVersion.objects.get(pk=draft.pk))
    assert (plan.number, plan.status) == (2, PlanVersion.Status.VALID)
    assert case.state == State.PLAN_ESTABLISHED


@pytest.mark.django_db
def test_the_meeting_is_named_together_with_the_missing_parts(county):
    case = case_in_state(county, State.MEETING_CALLED)
    draft = save_draft(case, county, coordination="")
    error = refused_establish(case, county, draft)
    assert sorted(item.code for item in errors_of(error)) == ["meeting_not_started", "required"]


@pytest.mark.django_db
def test_between_meetings_a_new_version_is_established_without_a_meeting(county, established):
    case, _valid = established
    assert not case.meetings.filter(starts_at__gt=timezone.now()).exists()
    case.meetings.update(starts_at=future(30))  # even the old meeting's time does not matter
    plan = establish(case, county, save_draft(case, county, needs_today="Nytt behov"))
    assert plan.number == 2


# --- Approval of a minor's plan -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "approved_by", [PlanVersion.ApprovedBy.PERSON, PlanVersion.ApprovedBy.LEGAL_REPRESENTATIVE]
)
def test_a_minors_plan_must_be_approved_by_a_guardian(county, approved_by):
    case = meeting_started(county, person=minor())
    draft = save_draft(case, county)
    error = refused_establish(case, county, draft, approved_by=approved_by)
    assert error.field == "approved_by"
    assert error.code == "guardian_required"
    assert "vårdnadshavare" in error.sv
    assert "guardian" in error.en
    plan = establish(case, county, draft, approved_by=PlanVersion.ApprovedBy.GUARDIAN)
    assert plan.status == PlanVersion.Status.VALID


@pytest.mark.django_db
def test_an_adult_approves_their_own_plan(county):
    case = meeting_started(county)
    plan = establish(case, county, save_draft(case, county))
    assert plan.approved_by == PlanVersion.ApprovedBy.PERSON


@pytest.mark.django_db
def test_a_form_based_on_an_earlier_draft_never_overwrites_the_next_one(county):
    case = meeting_started(county)
    first = services.save_plan_draft(
        case, actor=county.alice, expected_version=None, data=complete_draft(county)
    )
    stale_version = first.lock_version  # bob's form was opened on draft 1
    services.establish_plan(
        case,
        actor=county.alice,
        expected_version=first.lock_version,
        approved_by=PlanVersion.ApprovedBy.PERSON,
        approved_by_name="Gunnel",
    )
    second = services.save_plan_draft(
        case,
        actor=county.alice,
        expected_version=None,
        data=complete_draft(county, needs_today="Alice's version 2"),
    )
    assert second.number == 2
    with pytest.raises(StaleEdit):
        services.save_plan_draft(
            case,
            actor=county.alice,
            expected_version=stale_version,
            data=complete_draft(county, needs_today="Bob's stale text"),
        )
    second.refresh_from_db()
    assert second.needs_today == "Alice's version 2"


@pytest.mark.django_db
@pytest.mark.parametrize("approved_by", ["", "coordinator"])
def test_the_plan_names_who_approved_it_from_the_allowed_kinds(county, approved_by):
    case = meeting_started(county)
    draft = services.save_plan_draft(
        case, actor=county.alice, expected_version=None, data=complete_draft(county)
    )
    with pytest.raises(DomainError) as refused:
        services.establish_plan(
            case,
            actor=county.alice,
            expected_version=draft.lock_version,
            approved_by=approved_by,
            approved_by_name="Gunnel",
        )
    assert "approved_by" in error_fields(refused.value)
    draft.refresh_from_db()
    assert draft.status == PlanVersion.Status.DRAFT


# --- Proposing the draft for the person's approval ------------------------------------------


def propose(case, county, draft, actor=None):
    return services.propose_plan(
        case, actor=actor or county.alice, expected_version=draft.lock_version
    )


@pytest.mark.django_db
def test_a_complete_draft_is_proposed_and_saving_it_again_withdraws_the_proposal(county):
    case = meeting_started(county)
    draft = save_draft(case, county)
    proposed = propose(case, county, draft)
    assert proposed.proposed_at is not None
    assert proposed.lock_version == draft.lock_version + 1  # a form opened before is stale
    assert PlanVersion.objects.get(pk=draft.pk).proposed_at == proposed.proposed_at
    assert case.state == State.MEETING_CALLED

    changed = save_draft(case, county, needs_today="Ändrat efter förslaget")
    assert changed.pk == draft.pk
    assert PlanVersion.objects.get(pk=draft.pk).proposed_at is None


@pytest.mark.django_db
def test_an_incomplete_draft_cannot_be_proposed_and_each_missing_part_is_named(county):
    case = meeting_started(county)
    item = services.InterventionData("Hemtjänst", unit=county.hemtjanst)
    draft = save_draft(case, county, needs_today="", interventions=[item])
    before = snapshot(case)
    with pytest.raises(DomainError) as caught:
        propose(case, county, draft)
    assert_bilingual(caught.value)
    assert error_fields(caught.value) == [
        "needs_today",
        "interventions-0-starts_on",
        "interventions-0-ends_on",
    ]
    assert snapshot(case) == before
    stored = PlanVersion.objects.get(pk=draft.pk)
    assert (stored.proposed_at, stored.lock_version) == (None, draft.lock_version)


@pytest.mark.django_db
def test_a_proposal_based_on_an_older_draft_is_refused_as_stale(county):
    case = meeting_started(county)
    seen = save_draft(case, county)
    newer = save_draft(case, county, needs_today="Sparat av någon annan")
    with pytest.raises(StaleEdit) as caught:
        propose(case, county, seen)
    assert caught.value.current.pk == newer.pk
    assert PlanVersion.objects.get(pk=newer.pk).proposed_at is None


@pytest.mark.django_db
def test_proposing_needs_a_draft(county, established):
    case, _valid = established
    with pytest.raises(DomainError) as caught:
        propose(case, county, PlanVersion(lock_version=0))
    assert caught.value.code == "no_draft"
    assert_bilingual(caught.value)
