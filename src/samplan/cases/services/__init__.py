"""Every change to a SIP, one named function each, in a module per step of the process.

Each checks the transition table (transitions.py) and the actor's rights (rules.py), refuses a
stale edit, and writes the change, the timeline event and the audit event in one transaction
(`_core._changing`). Views, the admin, the demo loader and management commands call these;
nothing else saves a case.
"""

from .closing import close_case
from .consent import decline_consent, give_consent, revoke_consent
from .initiative import initiate_case, record_information
from .meetings import MeetingCall, call_meeting, record_answer, record_attendance
from .plan import (
    InterventionData,
    PlanDraft,
    call_follow_up,
    establish_plan,
    plan_problems,
    save_plan_draft,
)
from .preparation import PREPARATION_FIELDS, add_participant, start_preparation, update_preparation

__all__ = [
    "PREPARATION_FIELDS",
    "InterventionData",
    "MeetingCall",
    "PlanDraft",
    "add_participant",
    "call_follow_up",
    "call_meeting",
    "close_case",
    "decline_consent",
    "establish_plan",
    "give_consent",
    "initiate_case",
    "plan_problems",
    "record_answer",
    "record_attendance",
    "record_information",
    "revoke_consent",
    "save_plan_draft",
    "start_preparation",
    "update_preparation",
]
