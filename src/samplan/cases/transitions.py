"""The transition table of a SIP: which action moves a case from which states to which state,
and who may take it. services.py checks every change against this table."""

from __future__ import annotations

from dataclasses import dataclass

from samplan.errors import TransitionNotAllowed

from .models import STATE_EN, STATE_SV, State

OPEN_STATES = frozenset(set(State) - {State.CLOSED})
CONSENTED_STATES = frozenset(
    {
        State.CONSENTED,
        State.PREPARATION,
        State.MEETING_CALLED,
        State.PLAN_ESTABLISHED,
        State.FOLLOW_UP,
    }
)

# Who may take an action: DRIVE = the SIP coordinator or a coordinator of the coordinating unit;
# TAKE_PART = staff of any unit that takes part and may see the case.
DRIVE = "drive"
TAKE_PART = "take_part"
# Only the person, or one acting for them, in Min SIP (samplan.mypages): staff never.
PERSON = "person"

# What a private individual's capacity (access/citizen.py: Capacity) must allow for them to take
# an action in Min SIP; "" = never from Min SIP.
ACT = "act"  # the adult person; a guardian of a minor; a god man/förvaltare whose mandate covers it
STEER = "steer"  # ACT, and a young person of 15–17 with their own view (their own preferences)


@dataclass(frozen=True)
class Transition:
    sources: frozenset[State]
    target: State | None  # None: the state does not change
    who: str
    sv: str
    en: str
    citizen: str = ""


TRANSITIONS: dict[str, Transition] = {
    "record_information": Transition(
        frozenset({State.INITIATED}),
        State.INFORMED,
        DRIVE,
        "registrera att information har getts",
        "record that information was given",
    ),
    "give_consent": Transition(
        frozenset({State.INFORMED}),
        State.CONSENTED,
        DRIVE,
        "registrera samtycke",
        "record consent",
    ),
    "decline_consent": Transition(
        frozenset({State.INITIATED, State.INFORMED}),
        State.CLOSED,
        DRIVE,
        "registrera att personen avböjer",
        "record that the person declines",
    ),
    "start_preparation": Transition(
        frozenset({State.CONSENTED}),
        State.PREPARATION,
        DRIVE,
        "påbörja förberedelse",
        "start preparation",
    ),
    "update_preparation": Transition(
        frozenset({State.CONSENTED, State.PREPARATION, State.PLAN_ESTABLISHED, State.FOLLOW_UP}),
        None,
        TAKE_PART,
        "ändra förberedelsen",
        "change the preparation",
    ),
    "add_participant": Transition(
        OPEN_STATES,
        None,
        DRIVE,
        "lägga till en deltagande enhet",
        "add a participating unit",
    ),
    "call_meeting": Transition(
        frozenset({State.PREPARATION}),
        State.MEETING_CALLED,
        DRIVE,
        "kalla till SIP-möte",
        "call the SIP meeting",
    ),
    # Answers go to the meeting the case waits for; an established plan waits for none.
    "record_answer": Transition(
        frozenset({State.MEETING_CALLED, State.FOLLOW_UP}),
        None,
        TAKE_PART,
        "registrera svar på kallelse",
        "record an answer to a meeting call",
    ),
    "save_plan_draft": Transition(
        frozenset({State.MEETING_CALLED, State.PLAN_ESTABLISHED, State.FOLLOW_UP}),
        None,
        TAKE_PART,
        "ändra planutkastet",
        "change the plan draft",
    ),
    "establish_plan": Transition(
        frozenset({State.MEETING_CALLED, State.PLAN_ESTABLISHED, State.FOLLOW_UP}),
        State.PLAN_ESTABLISHED,
        DRIVE,
        "fastställa planen",
        "establish the plan",
    ),
    "call_follow_up": Transition(
        frozenset({State.PLAN_ESTABLISHED}),
        State.FOLLOW_UP,
        DRIVE,
        "kalla till uppföljning",
        "call a follow-up",
    ),
    "revoke_consent": Transition(
        CONSENTED_STATES,
        State.CLOSED,
        TAKE_PART,
        "registrera att samtycket återkallas",
        "record that consent is revoked",
        citizen=ACT,
    ),
    "revoke_consent_in_part": Transition(
        CONSENTED_STATES,
        None,
        TAKE_PART,
        "registrera att samtycket återkallas för en organisation",
        "record that consent is revoked for an organisation",
        citizen=ACT,
    ),
    "close": Transition(OPEN_STATES, State.CLOSED, DRIVE, "avsluta SIP:en", "close the SIP"),
    "move_meeting": Transition(
        frozenset({State.MEETING_CALLED, State.FOLLOW_UP}),
        None,
        DRIVE,
        "flytta mötet",
        "move the meeting",
    ),
    "cancel_meeting": Transition(
        frozenset({State.MEETING_CALLED}),
        State.PREPARATION,
        DRIVE,
        "ställa in SIP-mötet",
        "cancel the SIP meeting",
    ),
    "cancel_follow_up": Transition(
        frozenset({State.FOLLOW_UP}),
        State.PLAN_ESTABLISHED,
        DRIVE,
        "ställa in uppföljningsmötet",
        "cancel the follow-up meeting",
    ),
    "record_attendance": Transition(
        frozenset({State.MEETING_CALLED, State.PLAN_ESTABLISHED, State.FOLLOW_UP}),
        None,
        DRIVE,
        "registrera närvaro",
        "record attendance",
    ),
    "propose_plan": Transition(
        frozenset({State.MEETING_CALLED, State.PLAN_ESTABLISHED, State.FOLLOW_UP}),
        None,
        DRIVE,
        "lägga fram planen för personens godkännande",
        "propose the plan for the person's approval",
    ),
    "record_evaluation": Transition(
        frozenset({State.FOLLOW_UP}),
        None,
        DRIVE,
        "registrera uppföljningen",
        "record the follow-up",
    ),
    # Case messages are working notes, not the record: no timeline entry (see services.messages).
    "post_message": Transition(
        OPEN_STATES,
        None,
        TAKE_PART,
        "skriva meddelanden i SIP:en",
        "write messages in the SIP",
    ),
    "acknowledge_message": Transition(
        OPEN_STATES,
        None,
        TAKE_PART,
        "kvittera meddelanden",
        "acknowledge messages",
    ),
    # Min SIP: what the person (or one acting for them) does themselves.
    "approve_plan": Transition(
        frozenset({State.MEETING_CALLED, State.PLAN_ESTABLISHED, State.FOLLOW_UP}),
        State.PLAN_ESTABLISHED,
        PERSON,
        "godkänna planen",
        "approve the plan",
        citizen=ACT,
    ),
    "request_plan_change": Transition(
        frozenset({State.MEETING_CALLED, State.PLAN_ESTABLISHED, State.FOLLOW_UP}),
        None,
        PERSON,
        "be om ändringar i planen",
        "ask for changes to the plan",
        citizen=ACT,
    ),
    # Until the meeting is called: once called, the coordinator has planned around them.
    "update_preferences": Transition(
        frozenset({State.CONSENTED, State.PREPARATION, State.PLAN_ESTABLISHED}),
        None,
        PERSON,
        "ändra önskemålen om mötet",
        "change the meeting preferences",
        citizen=STEER,
    ),
    "rate_goals": Transition(
        frozenset({State.PLAN_ESTABLISHED, State.FOLLOW_UP}),
        None,
        PERSON,
        "skatta hur det går med målen",
        "rate how the goals are going",
        citizen=STEER,
    ),
    "end_sip": Transition(
        OPEN_STATES,
        State.CLOSED,
        PERSON,
        "avsluta SIP:en",
        "end the SIP",
        citizen=ACT,
    ),
}


def check_transition(action: str, state: str) -> Transition:
    """The transition for this action from this state, or a TransitionNotAllowed that says why."""
    transition = TRANSITIONS[action]
    if state in transition.sources:
        return transition
    if state == State.CLOSED:
        raise TransitionNotAllowed(
            f"SIP:en är avslutad. Det går inte att {transition.sv} efter avslut; "
            "det som registrerats finns kvar att läsa.",
            f"The SIP is closed. You cannot {transition.en} after closing; "
            "what was recorded stays readable.",
            "state",
        )
    if action in {"call_meeting", "call_follow_up", "start_preparation"} and state in {
        State.INITIATED,
        State.INFORMED,
    }:
        raise TransitionNotAllowed(
            f"Det går inte att {transition.sv} innan personen har gett sitt samtycke.",
            f"You cannot {transition.en} before the person has given consent.",
            "state",
        )
    raise TransitionNotAllowed(
        f"Det går inte att {transition.sv} när SIP:en är i läget ”{STATE_SV[State(state)]}”.",
        f"You cannot {transition.en} while the SIP is in the state “{STATE_EN[State(state)]}”.",
        "state",
    )
