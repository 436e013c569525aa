"""Every change to a SIP, one named function each, in a module per step of the process.

Each checks the transition table (transitions.py) and the actor's rights (rules.py), refuses a
stale edit, and writes the change, the timeline event and the audit event in one transaction
(`_core._changing`). Views, the admin, the demo loader and management commands call these;
nothing else saves a case.
"""

from .closing import close_case, closing_reasons, had_established_plan
from .consent import decline_consent, give_consent, revoke_consent
from .follow_up import (
    EvaluationData,
    evaluation_version,
    follow_up_meeting,
    record_evaluation,
)
from .initiative import initiate_case, record_information
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
    call_follow_up,
    establish_plan,
    plan_problems,
    propose_plan,
    save_plan_draft,
)
from .preparation import PREPARATION_FIELDS, add_participant, start_preparation, update_preparation

__all__ = [
    "PREPARATION_FIELDS",
    "EvaluationData",
    "InterventionData",
    "MeetingCall",
    "PlanDraft",
    "acknowledge_message",
    "add_participant",
    "call_follow_up",
    "call_meeting",
    "cancel_meeting",
    "close_case",
    "closing_reasons",
    "decline_consent",
    "establish_plan",
    "evaluation_version",
    "follow_up_meeting",
    "give_consent",
    "had_established_plan",
    "initiate_case",
    "mark_messages_read",
    "move_meeting",
    "plan_problems",
    "post_message",
    "preference_warnings",
    "propose_plan",
    "record_answer",
    "record_attendance",
    "record_evaluation",
    "record_information",
    "revoke_consent",
    "save_plan_draft",
    "start_preparation",
    "update_preparation",
]
