"""The benchmark's data and the benchmark itself: the synthetic county has the shapes the new pages
meet (plan drafts as call_follow_up leaves them, drafts proposed for approval, case messages with
reads and acknowledgements), and `make bench` still runs every page it times."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import F

from samplan.cases.models import (
    CaseMessage,
    MessageAcknowledgement,
    MessageRead,
    Participant,
    PlanVersion,
    SipCase,
    State,
)
from samplan.directory.models import Assignment

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db


@pytest.fixture
def county():
    call_command("generate_county", "--cases", "300", verbosity=0)


def test_a_follow_up_draft_is_a_copy_of_the_valid_plan_above_its_version(county):
    drafts = PlanVersion.objects.filter(status=PlanVersion.Status.DRAFT).select_related("based_on")
    assert drafts.exists()
    for draft in drafts.prefetch_related("goals", "interventions", "based_on__goals"):
        valid = draft.based_on
        assert [g.text for g in draft.goals.all()] == [g.text for g in valid.goals.all()]
        assert draft.interventions.count() == valid.interventions.count() > 0
        assert draft.follow_up_on is None
        assert draft.lock_version > valid.lock_version
    proposed = drafts.filter(proposed_at__isnull=False)
    assert proposed.exists()
    assert not proposed.exclude(case__state=State.FOLLOW_UP).exists()


def test_case_messages_come_from_units_taking_part_and_are_read_by_the_coordinator(county):
    messages = CaseMessage.objects.select_related("case")
    assert messages.exists()
    taking_part = set(Participant.objects.values_list("case_id", "unit_id"))
    for message in messages:
        assert (message.case_id, message.sender_unit_id) in taking_part
        assert Assignment.objects.filter(user=message.sender, unit=message.sender_unit).exists()
        assert message.sent_at >= message.case.initiated_at
    reads = MessageRead.objects.select_related("message__case")
    assert reads.exists()
    assert not reads.exclude(user_id=F("message__case__coordinator_id")).exists()
    assert not reads.filter(user_id=F("message__sender_id")).exists()
    acknowledged = MessageAcknowledgement.objects.select_related("message")
    assert acknowledged.exists()
    for receipt in acknowledged:
        assert receipt.message.asks_acknowledgement
        assert receipt.unit_id != receipt.message.sender_unit_id
        assert (receipt.message.case_id, receipt.unit_id) in taking_part
    # The keys were handed out by the generator; a message written afterwards gets a new one.
    case = SipCase.objects.filter(messages__isnull=False).first()
    first = case.messages.first()
    later = CaseMessage.objects.create(
        case=case, sender=first.sender, sender_unit=first.sender_unit, body="Efteråt."
    )
    assert later.pk > CaseMessage.objects.exclude(pk=later.pk).order_by("-pk").first().pk


def test_make_bench_times_every_page_and_checks_the_saves():
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.pop("SAMPLAN_VAR_DIR", None)
    run = subprocess.run(
        [sys.executable, "bench/run.py", "--cases", "300", "--requests", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for label in (
        "Yardstick",
        "Start page",
        "Search by family name",
        "Search by personnummer",
        "Case list",
        "Case page",
        "Plan editor",
        "Save the plan draft",
        "Min SIP: my SIPs",
        "Min SIP: my plan",
    ):
        assert f"| {label}" in run.stdout
    assert "The 3 saves took the draft from version 1 to 4" in run.stdout
