"""Mina SIP:ar: every SIP the signed-in citizen may see, and the overview of one of them.

Each SIP is shown as far as the citizen's capacity reaches (access/citizen.py): whose SIP and how
they stand to it, where it is now in plain words, what happens next and when, and links to the
pages their capacity opens. The facts behind "what happens next" come in two queries for the
whole list (`sip_facts`), whatever the number of SIPs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from samplan.access.citizen import cases_for_citizen, get_case_for_citizen
from samplan.cases.models import Meeting, PlanVersion, SipCase, State
from samplan.cases.services.initiative import guardians_see_for
from samplan.cases.transitions import CONSENTED_STATES
from samplan.people.models import Person

from ..decorators import citizen_required


@dataclass
class Facts:
    """What a SIP's summary says next, gathered for many SIPs at once."""

    next_meeting: Meeting | None = None  # upcoming or going on now, not cancelled
    has_meetings: bool = False
    has_valid_plan: bool = False
    has_earlier_plans: bool = False
    follow_up_on: dt.date | None = None  # of the valid plan
    proposed_at: dt.datetime | None = None  # a draft waiting for approval
    change_requested_at: dt.datetime | None = None  # changes asked for, not yet answered


def sip_facts(case_ids: list[int]) -> dict[int, Facts]:
    """Facts for each SIP in two queries: its meetings and its plan versions (no plan text)."""
    facts = {case_id: Facts() for case_id in case_ids}
    if not case_ids:
        return facts
    now = timezone.now()
    for meeting in (
        Meeting.objects.filter(case_id__in=case_ids)
        .only("case_id", "kind", "starts_at", "duration_minutes", "cancelled_at")
        .order_by("starts_at", "pk")
    ):
        found = facts[meeting.case_id]
        found.has_meetings = True
        if not meeting.is_cancelled and meeting.ends_at > now and found.next_meeting is None:
            found.next_meeting = meeting
    for (
        case_id,
        status,
        follow_up_on,
        proposed_at,
        change_requested_at,
    ) in PlanVersion.objects.filter(case_id__in=case_ids).values_list(
        "case_id", "status", "follow_up_on", "proposed_at", "change_requested_at"
    ):
        found = facts[case_id]
        if status == PlanVersion.Status.VALID:
            found.has_valid_plan = True
            found.follow_up_on = follow_up_on
        elif status == PlanVersion.Status.SUPERSEDED:
            found.has_earlier_plans = True
        else:
            found.proposed_at = proposed_at
            if proposed_at is None:
                found.change_requested_at = change_requested_at
    return facts


@dataclass
class Summary:
    """One SIP as the citizen sees it: the case, their capacity, the facts, and which of Min
    SIP's pages are open to them now (each only when the capacity allows it and the step of
    the SIP makes it meaningful)."""

    case: SipCase
    capacity: object
    facts: Facts

    @property
    def sees_proposal(self) -> bool:
        return self.capacity.sees_part("everything")

    @property
    def shows_plan(self) -> bool:
        if not self.capacity.sees_part("plan"):
            return False
        if self.facts.has_valid_plan:
            return True
        return self.sees_proposal and bool(
            self.facts.proposed_at or self.facts.change_requested_at or self.facts.has_earlier_plans
        )

    @property
    def waits_for_approval(self) -> bool:
        return self.sees_proposal and self.facts.proposed_at is not None

    @property
    def shows_meeting(self) -> bool:
        return self.capacity.sees_part("meetings") and self.facts.has_meetings

    @property
    def shows_preferences(self) -> bool:
        return self.capacity.sees_part("steer") and self.case.state in CONSENTED_STATES

    @property
    def shows_consent(self) -> bool:
        if not self.capacity.sees_part("everything"):
            return False
        if self.case.state == State.CLOSED:
            return self.case.closing_reason != SipCase.ClosingReason.DECLINED
        return self.case.state in CONSENTED_STATES

    @property
    def shows_follow_up(self) -> bool:
        return self.capacity.sees_part("steer") and self.case.state in (
            State.PLAN_ESTABLISHED,
            State.FOLLOW_UP,
        )

    @property
    def shows_log_extract(self) -> bool:
        return self.capacity.sees_part("steer")

    @property
    def shows_end(self) -> bool:
        return self.capacity.sees_part("act") and self.case.state != State.CLOSED


@citizen_required
def home(request):
    """Mina SIP:ar: open SIPs first, closed ones apart below; nothing at all explains SIP."""
    rows = cases_for_citizen(request.citizen)
    facts = sip_facts([case.pk for case, _ in rows])
    summaries = [Summary(case, capacity, facts[case.pk]) for case, capacity in rows]
    # A young person whose guardians see their SIP for them is told so (their own standing in
    # the register, nothing of the SIP), not "you have none, ask for one".
    guardians_see = not rows and guardians_see_for(
        Person.objects.filter(identity_number=request.citizen.identity_number).first()
    )
    return render(
        request,
        "mypages/home/home.html",
        {
            "open_sips": [s for s in summaries if s.case.state != State.CLOSED],
            "closed_sips": [s for s in summaries if s.case.state == State.CLOSED],
            "guardians_see": guardians_see,
        },
    )


@citizen_required
def case_overview(request, case_id: int):
    """One SIP: where it is, what happens next, who coordinates it, and the pages open to the
    citizen's capacity."""
    case, capacity = get_case_for_citizen(request.citizen, case_id, part="any")
    summary = Summary(case, capacity, sip_facts([case.pk])[case.pk])
    return render(request, "mypages/home/case.html", {"case": case, "summary": summary})


urlpatterns = [
    path("", home, name="home"),
    path("sip/<id:case_id>/", case_overview, name="case"),
]
