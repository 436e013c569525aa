"""Every change to a SIP, one named function each, in a module per step of the process.

Each checks the transition table (transitions.py) and the actor's rights (rules.py), refuses a
stale edit, and writes the change, the timeline event and the audit event in one transaction
(`_core._changing`). Views, the admin, the demo loader and management commands call these;
nothing else saves a case.
"""

from .closing import close_case, closing_reasons, end_sip, had_established_plan
from .consent import decline_consent, give_consent, revoke_consent
from .follow_up import (
    EvaluationData,
    evaluation_version,
    follow_up_meeting,
    latest_ratings,
    rate_goals,
    rating_field,
    record_evaluation,
)
from .initiative import (
    RequestLimitReached,
    SomeoneElse,
    initiate_case,
    record_information,
    request_sip,
    requestable_units,
)
from .meetings import (
    MeetingCall,
    call_meeting,
    cancel_meeting,
    move_meeting,
    preference_warnings,
    record_answer,
    record_attendance,
)
from .messages import acknowledge_message, mark_messages_read, post_message
from .plan import (
    InterventionData,
    PlanDraft,
    approve_plan,
    call_follow_up,
    establish_plan,
    plan_problems,
    propose_plan,
    request_plan_change,
    save_plan_draft,
)
from .preparation import (
    PREFERENCE_FIELDS,
    PREPARATION_FIELDS,
    add_participant,
    start_preparation,
    update_preferences_by_person,
    update_preparation,
)

__all__ = [
    "PREFERENCE_FIELDS",
    "PREPARATION_FIELDS",
    "EvaluationData",
    "InterventionData",
    "MeetingCall",
    "PlanDraft",
    "RequestLimitReached",
    "SomeoneElse",
    "acknowledge_message",
    "add_participant",
    "approve_plan",
    "call_follow_up",
    "call_meeting",
    "cancel_meeting",
    "close_case",
    "closing_reasons",
    "decline_consent",
    "end_sip",
    "establish_plan",
    "evaluation_version",
    "follow_up_meeting",
    "give_consent",
    "had_established_plan",
    "initiate_case",
    "latest_ratings",
    "mark_messages_read",
    "move_meeting",
    "plan_problems",
    "post_message",
    "preference_warnings",
    "propose_plan",
    "rate_goals",
    "rating_field",
    "record_answer",
    "record_attendance",
    "record_evaluation",
    "record_information",
    "request_plan_change",
    "request_sip",
    "requestable_units",
    "revoke_consent",
    "save_plan_draft",
    "start_preparation",
    "update_preferences_by_person",
    "update_preparation",
]
