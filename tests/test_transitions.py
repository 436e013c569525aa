"""The whole transition table: every action from every state it allows, and every action from
every state it does not; what each transition writes, and what a refused one leaves alone."""

from unittest import mock

import pytest
from django.utils import timezone

from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import (
    CaseEvent,
    CaseMessage,
    Consent,
    Invitation,
    Meeting,
    PlanVersion,
    Preparation,
    SipCase,
    State,
)
from samplan.cases.services import _core as services_core
from samplan.cases.transitions import TRANSITIONS
from samplan.errors import DomainError, PermissionRefused, TransitionNotAllowed
from tests.domain_helpers import assert_bilingual, audit_rows, snapshot
from tests.factories import UnitFactory, case_in_state, complete_draft, future, staff

S = State
OPEN = set(State) - {S.CLOSED}
WITH_CONSENT = {S.CONSENTED, S.PREPARATION, S.MEETING_CALLED, S.PLAN_ESTABLISHED, S.FOLLOW_UP}
AFTER_CALL = {S.MEETING_CALLED, S.PLAN_ESTABLISHED, S.FOLLOW_UP}

# The process of SIP.md written out independently of transitions.py, so that a change to the
# table fails here: action -> (states it is allowed from, resulting state or None, who).
SPEC = {
    "record_information": ({S.INITIATED}, S.INFORMED, "drive"),
    "give_consent": ({S.INFORMED}, S.CONSENTED, "drive"),
    "decline_consent": ({S.INITIATED, S.INFORMED}, S.CLOSED, "drive"),
    "start_preparation": ({S.CONSENTED}, S.PREPARATION, "drive"),
    "update_preparation": (
        {S.CONSENTED, S.PREPARATION, S.PLAN_ESTABLISHED, S.FOLLOW_UP},
        None,
        "take_part",
    ),
    "add_participant": (OPEN, None, "drive"),
    "call_meeting": ({S.PREPARATION}, S.MEETING_CALLED, "drive"),
    "record_answer": ({S.MEETING_CALLED, S.FOLLOW_UP}, None, "take_part"),
    "save_plan_draft": (AFTER_CALL, None, "take_part"),
    "establish_plan": (AFTER_CALL, S.PLAN_ESTABLISHED, "drive"),
    "call_follow_up": ({S.PLAN_ESTABLISHED}, S.FOLLOW_UP, "drive"),
    "revoke_consent": (WITH_CONSENT, S.CLOSED, "take_part"),
    "revoke_consent_in_part": (WITH_CONSENT, None, "take_part"),
    "close": (OPEN, S.CLOSED, "drive"),
    "move_meeting": ({S.MEETING_CALLED, S.FOLLOW_UP}, None, "drive"),
    "cancel_meeting": ({S.MEETING_CALLED}, S.PREPARATION, "drive"),
    "cancel_follow_up": ({S.FOLLOW_UP}, S.PLAN_ESTABLISHED, "drive"),
    "record_attendance": (AFTER_CALL, None, "drive"),
    "propose_plan": (AFTER_CALL, None, "drive"),
    "record_evaluation": ({S.FOLLOW_UP}, None, "drive"),
    "post_message": (OPEN, None, "take_part"),
    "acknowledge_message": (OPEN, None, "take_part"),
}

# Case messages are working notes, not the record: audited, but no timeline event.
NOT_ON_TIMELINE = {"post_message", "acknowledge_message"}

ALLOWED = sorted((action, state) for action, (sources, _, _) in SPEC.items() for state in sources)


def meeting_call(county, days=7):
    return services.MeetingCall(
        starts_at=future(days),
        duration_minutes=45,
        place="Hemma",
        units=[county.vardcentral, county.hemtjanst],
    )


def some_invitation(case, county) -> Invitation:
    """The hemtjänst invitation of the latest meeting; made up when the case has no meeting (to
    show that the table, not a missing meeting, refuses the answer)."""
    invitation = (
        Invitation.objects.filter(meeting__case=case, unit=county.hemtjanst).order_by("-pk").first()
    )
    if invitation is None:
        meeting = Meeting.objects.create(
            case=case, starts_at=future(), duration_minutes=30, called_by=county.alice
        )
        invitation = Invitation.objects.create(meeting=meeting, unit=county.hemtjanst)
    return invitation


def some_meeting(case, county, *, follow_up=False) -> Meeting:
    """The latest SIP (or follow-up) meeting of the case; when it has none, one made up and not
    saved, so that the table, not a missing meeting, refuses the action, and nothing is written."""
    kind = Meeting.Kind.FOLLOW_UP if follow_up else Meeting.Kind.SIP
    meeting = Meeting.objects.filter(case=case, kind=kind).order_by("-pk").first()
    if meeting:
        meeting.case = case  # the case object the caller holds follows the change
        return meeting
    return Meeting(
        case=case, kind=kind, starts_at=future(), duration_minutes=30, called_by=county.alice
    )


def held_meeting(case, county) -> Meeting:
    """A meeting held yesterday, which hemtjänst accepted (written directly: the services only
    call meetings ahead)."""
    meeting = Meeting.objects.create(
        case=case,
        starts_at=future(-1),
        duration_minutes=45,
        place="Hemma",
        called_by=county.alice,
    )
    Invitation.objects.create(
        meeting=meeting, unit=county.hemtjanst, answer=Invitation.Answer.ACCEPTED
    )
    return meeting


def prepare(action, case, county) -> dict:
    """What the action needs that is not itself the action under test."""
    if action in ("establish_plan", "propose_plan") and case.state in SPEC["save_plan_draft"][0]:
        if action == "establish_plan":
            held_for_the_plan(case, county)
        draft = case.draft_plan()
        draft = services.save_plan_draft(
            case,
            actor=county.alice,
            expected_version=draft.lock_version if draft else None,
            data=complete_draft(county),
        )
        return {"draft_version": draft.lock_version}
    if action == "record_answer":
        return {"invitation": some_invitation(case, county)}
    if action == "add_participant":
        return {"unit": UnitFactory(organisation=county.kommun, name="Boendestöd Väst")}
    if action in ("move_meeting", "cancel_meeting", "cancel_follow_up"):
        follow_up = action == "cancel_follow_up" or (
            action == "move_meeting" and case.state == S.FOLLOW_UP
        )
        return {"meeting": some_meeting(case, county, follow_up=follow_up)}
    if action == "record_attendance":
        if case.state in SPEC["record_attendance"][0]:
            meeting = held_meeting(case, county)
            return {"meeting": meeting, "attended": {i.pk: True for i in meeting.invitations.all()}}
        return {"meeting": some_meeting(case, county), "attended": {}}
    if action == "acknowledge_message":
        return {"message": message_from_another_unit(case, county)}
    if action == "record_evaluation":
        return {"meeting": started_follow_up(case, county)}
    return {}


def held_for_the_plan(case, county) -> None:
    """What establishing the plan waits for: the SIP meeting started, or in follow-up the
    follow-up meeting started and evaluated."""
    if case.state == S.MEETING_CALLED:
        Meeting.objects.filter(case=case).update(starts_at=future(-1))
    if case.state == S.FOLLOW_UP:
        meeting = started_follow_up(case, county)
        plan = case.valid_plan()
        services.record_evaluation(
            meeting,
            actor=county.alice,
            goals={goal.pk: services.EvaluationData("reached") for goal in plan.goals.all()},
            interventions={
                item.pk: services.EvaluationData("partly") for item in plan.interventions.all()
            },
        )


def started_follow_up(case, county) -> Meeting:
    """The follow-up meeting, started an hour ago (moved directly: the services call meetings
    ahead only); a made-up one, not saved, when the case has none, so that the table refuses."""
    meeting = services.follow_up_meeting(case)
    if meeting is None:
        return some_meeting(case, county, follow_up=True)
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=future(-1))
    meeting.refresh_from_db()
    return meeting


def message_from_another_unit(case, county) -> CaseMessage:
    """A message asking for acknowledgement, from a unit that is neither alice's nor bob's.
    Written directly so that it exists in every state, closed too: the table, not a missing
    message, refuses the acknowledgement."""
    unit = UnitFactory(organisation=county.kommun, name="Socialpsykiatri Öst")
    return CaseMessage.objects.create(
        case=case,
        sender=staff(unit),
        sender_unit=unit,
        body="Kan ni bekräfta att ni har sett tiden?",
        asks_acknowledgement=True,
    )


def perform(action, case, county, actor=None, **prepared):
    """Take the action with valid input, as the coordinator unless told otherwise."""
    actor = actor or county.alice
    version = case.lock_version
    if action == "record_information":
        return services.record_information(case, actor=actor, expected_version=version)
    if action == "give_consent":
        return services.give_consent(
            case,
            actor=actor,
            expected_version=version,
            method=Consent.Method.WRITTEN,
            given_by=Consent.GivenBy.PERSON,
            given_by_name="Gunnel",
            organisations=[county.region, county.kommun],
            information_scope="Behov och insatser",
        )
    if action == "decline_consent":
        return services.decline_consent(
            case,
            actor=actor,
            expected_version=version,
            method=Consent.Method.WRITTEN,
            given_by=Consent.GivenBy.PERSON,
            given_by_name="Gunnel",
        )
    if action == "start_preparation":
        return services.start_preparation(case, actor=actor, expected_version=version)
    if action == "update_preparation":
        preparation = Preparation.objects.filter(case=case).first()
        return services.update_preparation(
            case,
            actor=actor,
            expected_version=preparation.lock_version if preparation else 0,
            values={"preferred_place": "Biblioteket", "max_length_minutes": 60},
        )
    if action == "add_participant":
        return services.add_participant(case, actor=actor, unit=prepared["unit"])
    if action == "call_meeting":
        return services.call_meeting(
            case, actor=actor, expected_version=version, call=meeting_call(county)
        )
    if action == "record_answer":
        return services.record_answer(
            prepared["invitation"], actor=actor, answer=Invitation.Answer.ACCEPTED
        )
    if action == "save_plan_draft":
        draft = case.draft_plan()
        return services.save_plan_draft(
            case,
            actor=actor,
            expected_version=draft.lock_version if draft else None,
            data=complete_draft(county, needs_today="Nya behov"),
        )
    if action == "establish_plan":
        return services.establish_plan(
            case,
            actor=actor,
            expected_version=prepared.get("draft_version", 0),
            approved_by=PlanVersion.ApprovedBy.PERSON,
            approved_by_name="Gunnel",
        )
    if action == "propose_plan":
        return services.propose_plan(
            case, actor=actor, expected_version=prepared.get("draft_version", 0)
        )
    if action == "call_follow_up":
        return services.call_follow_up(
            case, actor=actor, expected_version=version, call=meeting_call(county, 42)
        )
    if action == "revoke_consent":
        return services.revoke_consent(case, actor=actor, expected_version=version)
    if action == "revoke_consent_in_part":
        return services.revoke_consent(
            case, actor=actor, expected_version=version, organisations=[county.kommun]
        )
    if action == "close":
        # A reason that fits every open state ("goals reached" needs an established plan).
        return services.close_case(
            case,
            actor=actor,
            expected_version=version,
            reason=SipCase.ClosingReason.NO_LONGER_NEEDED,
        )
    if action == "record_evaluation":
        plan = case.valid_plan()
        return services.record_evaluation(
            prepared["meeting"],
            actor=actor,
            goals={goal.pk: services.EvaluationData("reached") for goal in plan.goals.all()}
            if plan
            else {},
            interventions={
                item.pk: services.EvaluationData("partly", comment="Två av tre besök")
                for item in plan.interventions.all()
            }
            if plan
            else {},
        )
    if action == "post_message":
        return services.post_message(
            case, actor=actor, body="Jag ringer dottern i morgon.", asks_acknowledgement=True
        )
    if action == "acknowledge_message":
        return services.acknowledge_message(prepared["message"], actor=actor)
    if action == "move_meeting":
        meeting = prepared["meeting"]
        return services.move_meeting(
            meeting,
            actor=actor,
            expected_sequence=meeting.sequence,
            starts_at=future(10, hour=13),
            duration_minutes=40,
            place="Biblioteket",
        )
    if action in ("cancel_meeting", "cancel_follow_up"):
        return services.cancel_meeting(
            prepared["meeting"], actor=actor, expected_version=version, reason="Personen är sjuk"
        )
    if action == "record_attendance":
        return services.record_attendance(
            prepared["meeting"], actor=actor, attended=prepared["attended"]
        )
    raise AssertionError(f"no performer for {action}")


# What the person (or one acting for them) does in Min SIP: (states, result, what their capacity
# must allow). Staff never take these; tested with the person's pages (tests/test_mypages_*).
PERSON_SPEC = {
    "approve_plan": (AFTER_CALL, S.PLAN_ESTABLISHED, "act"),
    "request_plan_change": (AFTER_CALL, None, "act"),
    "update_preferences": ({S.CONSENTED, S.PREPARATION, S.PLAN_ESTABLISHED}, None, "steer"),
    "rate_goals": ({S.PLAN_ESTABLISHED, S.FOLLOW_UP}, None, "steer"),
    "end_sip": (OPEN, S.CLOSED, "act"),
}
# Staff actions a citizen may take too, in Min SIP, with what their capacity must allow.
CITIZEN_TOO = {"revoke_consent": "act", "revoke_consent_in_part": "act"}


def test_the_table_is_the_process_of_sip_md():
    assert set(TRANSITIONS) == set(SPEC) | set(PERSON_SPEC)
    for action, (sources, target, citizen) in PERSON_SPEC.items():
        transition = TRANSITIONS[action]
        assert (set(transition.sources), transition.target) == (sources, target), action
        assert (transition.who, transition.citizen) == ("person", citizen), action
    for action, transition in TRANSITIONS.items():
        if action in SPEC:
            assert transition.citizen == CITIZEN_TOO.get(action, ""), action
    for action, (sources, target, who) in SPEC.items():
        transition = TRANSITIONS[action]
        assert set(transition.sources) == sources, action
        assert transition.target == target, action
        assert transition.who == who, action
        assert transition.sv and transition.en and transition.sv != transition.en, action


def test_every_state_is_reachable_and_left_by_some_action():
    sources = {state for sources, _, _ in SPEC.values() for state in sources}
    targets = {target for _, target, _ in SPEC.values()} - {None}
    assert sources == set(State) - {State.CLOSED}
    assert targets | {State.INITIATED} == set(State)


# --- Every allowed move ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "state"), ALLOWED)
def test_allowed_action_moves_the_case_and_writes_one_event_and_one_audit_row(
    county, action, state
):
    case = case_in_state(county, state)
    prepared = prepare(action, case, county)
    case.refresh_from_db()
    before = SipCase.objects.get(pk=case.pk)
    events_before = set(CaseEvent.objects.filter(case=case).values_list("pk", flat=True))
    audits_before = set(AuditEvent.objects.values_list("pk", flat=True))

    perform(action, case, county, **prepared)

    stored = SipCase.objects.get(pk=case.pk)
    expected = SPEC[action][1] or state
    assert stored.state == expected
    assert case.state == expected  # the caller's object follows
    if stored.state != before.state:
        assert stored.lock_version == before.lock_version + 1
        assert case.lock_version == stored.lock_version

    new_events = CaseEvent.objects.filter(case=case).exclude(pk__in=events_before)
    if action in NOT_ON_TIMELINE:
        assert not new_events.exists()
    else:
        assert [(e.action, e.from_state, e.to_state) for e in new_events] == [
            (action, state, expected)
        ]
        event = new_events.get()
        assert event.actor == county.alice
        assert event.actor_unit == county.vardcentral

    new_audits = AuditEvent.objects.exclude(pk__in=audits_before)
    assert new_audits.count() == 1
    row = new_audits.get()
    assert row.action == AuditEvent.Action.CHANGE
    assert row.outcome == AuditEvent.Outcome.ALLOWED
    assert (row.user, row.case_id, row.person_id) == (county.alice, case.pk, case.person_id)
    assert row.unit_id == county.vardcentral.pk
    assert row.unit_name == "Vårdcentral Centrum"
    if action not in NOT_ON_TIMELINE:
        assert abs((row.at - event.at).total_seconds()) < 5


# --- Who may take each action ---------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "action", sorted(a for a, (sources, _, _) in SPEC.items() if S.PLAN_ESTABLISHED in sources)
)
def test_participating_unit_takes_part_but_only_the_coordinating_unit_drives(county, action):
    """bob's hemtjänst takes part in the plan and the consent covers the kommun."""
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    prepared = prepare(action, case, county)
    case.refresh_from_db()
    before = snapshot(case)
    if SPEC[action][2] == "drive":
        with pytest.raises(PermissionRefused):
            perform(action, case, county, actor=county.bob, **prepared)
        assert snapshot(case) == before
        refused = audit_rows(case, user=county.bob, outcome=AuditEvent.Outcome.REFUSED)
        assert refused.count() == 1
    elif action in NOT_ON_TIMELINE:
        perform(action, case, county, actor=county.bob, **prepared)
        assert snapshot(case)["events"] == before["events"]
        row = audit_rows(case, user=county.bob, action=AuditEvent.Action.CHANGE).get()
        assert (row.outcome, row.unit_id) == (AuditEvent.Outcome.ALLOWED, county.hemtjanst.pk)
    else:
        perform(action, case, county, actor=county.bob, **prepared)
        event = CaseEvent.objects.filter(case=case).last()
        assert (event.action, event.actor, event.actor_unit) == (
            action,
            county.bob,
            county.hemtjanst,
        )


@pytest.mark.django_db
def test_an_unrelated_unit_may_take_no_action_at_all(county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    for action in SPEC:
        prepared = prepare(action, case, county)
        before = snapshot(case)
        with pytest.raises(PermissionRefused):
            perform(action, case, county, actor=county.charlie, **prepared)
        assert snapshot(case) == before, action
    refused = audit_rows(case, user=county.charlie, outcome=AuditEvent.Outcome.REFUSED)
    assert refused.count() == len(SPEC)


# --- Every refused move ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("state", list(State))
def test_every_action_outside_its_sources_is_refused_and_changes_nothing(county, state):
    case = case_in_state(county, state)
    refused_actions = [action for action, (sources, _, _) in SPEC.items() if state not in sources]
    assert refused_actions, state
    for action in refused_actions:
        prepared = prepare(action, case, county) if action != "establish_plan" else {}
        before = snapshot(case)
        audits_before = AuditEvent.objects.count()
        with pytest.raises(TransitionNotAllowed) as caught:
            perform(action, case, county, **prepared)
        error = caught.value
        assert error.field == "state", action
        assert_bilingual(error)
        assert TRANSITIONS[action].sv in error.sv, action
        assert TRANSITIONS[action].en in error.en, action
        assert snapshot(case) == before, action
        assert AuditEvent.objects.count() == audits_before, action
        assert case.state == state, action


@pytest.mark.django_db
@pytest.mark.parametrize("state", [State.INITIATED, State.INFORMED])
def test_meeting_cannot_be_called_before_consent(county, state):
    case = case_in_state(county, state)
    before = snapshot(case)
    with pytest.raises(TransitionNotAllowed) as caught:
        perform("call_meeting", case, county)
    assert "samtycke" in caught.value.sv
    assert "consent" in caught.value.en
    assert snapshot(case) == before
    assert not Meeting.objects.filter(case=case).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["start_preparation", "call_follow_up"])
def test_preparation_and_follow_up_wait_for_consent_too(county, action):
    case = case_in_state(county, State.INFORMED)
    with pytest.raises(TransitionNotAllowed) as caught:
        perform(action, case, county)
    assert "samtycke" in caught.value.sv
    assert "consent" in caught.value.en


@pytest.mark.django_db
def test_nothing_can_be_done_after_closing_and_nothing_recorded_is_lost(county):
    case = case_in_state(county, State.CLOSED)
    plan = case.valid_plan()
    kept = {
        "plan": list(PlanVersion.objects.filter(case=case).values()),
        "goals": list(plan.goals.values_list("text", flat=True)),
        "consents": list(Consent.objects.filter(case=case).values()),
        "meetings": list(Meeting.objects.filter(case=case).values()),
        "invitations": list(Invitation.objects.filter(meeting__case=case).values()),
        "preparation": list(Preparation.objects.filter(case=case).values()),
        "events": list(CaseEvent.objects.filter(case=case).values()),
    }
    assert kept["plan"] and kept["consents"] and kept["meetings"] and kept["goals"]
    for action in SPEC:
        prepared = prepare(action, case, county) if action != "establish_plan" else {}
        with pytest.raises(TransitionNotAllowed) as caught:
            perform(action, case, county, **prepared)
        assert "avslutad" in caught.value.sv, action
        assert "closed" in caught.value.en, action
        assert "finns kvar" in caught.value.sv, action
    assert list(PlanVersion.objects.filter(case=case).values()) == kept["plan"]
    assert list(plan.goals.values_list("text", flat=True)) == kept["goals"]
    assert list(Consent.objects.filter(case=case).values()) == kept["consents"]
    assert list(Meeting.objects.filter(case=case).values()) == kept["meetings"]
    assert list(Preparation.objects.filter(case=case).values()) == kept["preparation"]
    assert list(CaseEvent.objects.filter(case=case).values()) == kept["events"]
    # The made-up invitation of prepare() aside, the recorded invitations are unchanged.
    invitations = Invitation.objects.filter(pk__in=[row["id"] for row in kept["invitations"]])
    assert list(invitations.values()) == kept["invitations"]


@pytest.mark.django_db
@pytest.mark.parametrize("state", [State.INITIATED, State.INFORMED])
def test_declining_closes_the_case_and_keeps_what_was_recorded(county, state):
    case = case_in_state(county, state)
    information_given_at = SipCase.objects.get(pk=case.pk).information_given_at
    assert (information_given_at is not None) is (state == State.INFORMED)
    events = CaseEvent.objects.filter(case=case).count()
    consent = perform("decline_consent", case, county)
    case.refresh_from_db()
    assert case.state == State.CLOSED
    assert case.closing_reason == SipCase.ClosingReason.DECLINED
    assert case.closed_at is not None
    assert case.information_given_at == information_given_at
    assert consent.decision == Consent.Decision.DECLINED
    assert Consent.objects.get(case=case) == consent
    assert CaseEvent.objects.filter(case=case).count() == events + 1
    assert case.participants.filter(unit=county.vardcentral).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("state", [State.PLAN_ESTABLISHED, State.FOLLOW_UP])
def test_revoking_closes_the_case_and_keeps_plan_consent_and_meetings(county, state):
    case = case_in_state(county, state)
    versions = list(PlanVersion.objects.filter(case=case).values())
    goals = list(case.valid_plan().goals.values_list("text", flat=True))
    meetings = list(Meeting.objects.filter(case=case).values())
    perform("revoke_consent", case, county)
    case.refresh_from_db()
    assert case.state == State.CLOSED
    assert case.closing_reason == SipCase.ClosingReason.CONSENT_REVOKED
    assert list(PlanVersion.objects.filter(case=case).values()) == versions
    assert list(case.valid_plan().goals.values_list("text", flat=True)) == goals
    # Every meeting stays on record; one not yet started is cancelled (no one is to come to it,
    # and its calendar event says so), the ones held are untouched.
    after = {row["id"]: row for row in Meeting.objects.filter(case=case).values()}
    assert set(after) == {row["id"] for row in meetings}
    for before in meetings:
        now = after[before["id"]]
        if before["starts_at"] > case.closed_at:
            assert now["cancelled_at"] is not None and now["sequence"] == before["sequence"] + 1
            assert "återkall" in now["cancellation_reason"].lower()
            assert {**now, "cancelled_at": None, "cancellation_reason": "", "sequence": 0} == {
                **before,
                "sequence": 0,
            }
        else:
            assert now == before
    assert any(row["starts_at"] > case.closed_at for row in meetings) == (state == State.FOLLOW_UP)
    consent = Consent.objects.get(case=case)
    assert consent.revoked_at is not None
    assert consent.revoked_by == county.alice
    assert consent.scopes.count() == 2  # the scope stays on record


# --- One transaction ------------------------------------------------------------------------


@pytest.mark.django_db
def test_transition_is_undone_when_its_audit_row_cannot_be_written(county):
    case = case_in_state(county, State.INFORMED)
    before = snapshot(case)
    with (
        mock.patch.object(services_core, "audit", side_effect=RuntimeError("log down")),
        pytest.raises(RuntimeError),
    ):
        perform("give_consent", case, county)
    assert snapshot(case) == before
    assert not Consent.objects.filter(case=case).exists()


@pytest.mark.django_db
def test_transition_is_undone_when_its_timeline_event_cannot_be_written(county):
    case = case_in_state(county, State.PREPARATION)
    before = snapshot(case)
    audits = AuditEvent.objects.count()
    with (
        mock.patch.object(CaseEvent.objects, "create", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        perform("call_meeting", case, county)
    assert snapshot(case) == before
    assert AuditEvent.objects.count() == audits
    assert not Meeting.objects.filter(case=case).exists()
    assert not Invitation.objects.filter(meeting__case=case).exists()


@pytest.mark.django_db
def test_initiative_writes_its_own_event_and_a_create_audit_row(county):
    case = case_in_state(county, State.INITIATED)
    assert list(CaseEvent.objects.filter(case=case).values_list("action", "to_state")) == [
        ("initiate", State.INITIATED)
    ]
    row = audit_rows(case).get()
    assert row.action == AuditEvent.Action.CREATE
    assert row.unit_id == county.vardcentral.pk
    assert case.call_deadline > timezone.now()


@pytest.mark.django_db
def test_a_failed_domain_check_inside_a_transition_changes_nothing(county):
    case = case_in_state(county, State.CONSENTED)
    before = snapshot(case)
    with pytest.raises(DomainError) as caught:
        services.close_case(case, actor=county.alice, expected_version=case.lock_version, reason="")
    assert caught.value.field == "reason"
    assert snapshot(case) == before


@pytest.mark.django_db
def test_a_timeline_event_is_written_once_and_never_changed(county):
    case = case_in_state(county, State.INFORMED)
    event = CaseEvent.objects.filter(case=case).last()
    at = event.at
    event.at = timezone.now()
    with pytest.raises(DomainError) as caught:
        event.save()
    assert caught.value.code == "append_only"
    event.refresh_from_db()
    assert event.at == at
