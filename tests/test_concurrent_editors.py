"""50 editors save the same plan draft at once, each on its own database connection, through the
service (`save_plan_draft`, with the version each of them read). Every save either lands, as the
one winner of its version number, or is refused as stale; none is lost, none silently
overwrites another, and the draft ends as exactly one editor's content, whole.

tests/test_concurrency.py proves the mechanism step by step with two connections (the second
waits on the case row lock, then finds the newer draft); this is the same under load. PostgreSQL
only: SQLite lets one writer at a time and turns the others away as "locked" instead."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

import pytest
from django.db import connection

from samplan.access.chain import verify
from samplan.cases import services
from samplan.cases.models import CaseEvent, PlanVersion, SipCase, State
from samplan.directory.models import Assignment, User
from samplan.errors import StaleEdit
from tests.factories import case_in_state, complete_draft, staff

EDITORS = 50
ATTEMPTS = 3  # an editor refused as stale reloads the draft and saves again, as a user would


@dataclass(frozen=True)
class Attempt:
    editor: int
    text: str
    expected: int
    outcome: PlanVersion | BaseException

    @property
    def landed(self) -> bool:
        return isinstance(self.outcome, PlanVersion)


def content(county, text: str) -> services.PlanDraft:
    # Every part the editor writes carries their mark, so a draft mixed from two saves shows.
    return complete_draft(
        county, needs_today=text, goals=[f"Mål: {text}"], coordination=f"Samordning: {text}"
    )


@pytest.mark.needs_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("audit_log_flushable")
def test_fifty_editors_saving_one_draft_at_once_each_land_or_are_refused_as_stale(county):
    case = case_in_state(county, State.MEETING_CALLED)
    editors = [
        staff(county.vardcentral, Assignment.Role.COORDINATOR, username=f"editor{number}")
        for number in range(EDITORS)
    ]
    first = services.save_plan_draft(
        case, actor=county.alice, expected_version=None, data=content(county, "Grund")
    )
    start_version = first.lock_version
    saves_before = CaseEvent.objects.filter(case=case, action="save_plan_draft").count()

    attempts: list[Attempt] = []
    record = threading.Lock()
    everyone_ready = threading.Barrier(EDITORS, timeout=60)

    def edit(number: int, user_pk: int) -> None:
        try:
            actor = User.objects.get(pk=user_pk)
            everyone_ready.wait()
            for attempt in range(ATTEMPTS):
                # Open the draft (read its version), think briefly, press save.
                mine = SipCase.objects.get(pk=case.pk)
                seen = mine.plan_versions.get(status=PlanVersion.Status.DRAFT).lock_version
                time.sleep(random.uniform(0, 0.05))
                text = f"Redaktör {number}, försök {attempt + 1}"
                try:
                    outcome = services.save_plan_draft(
                        mine, actor=actor, expected_version=seen, data=content(county, text)
                    )
                except Exception as error:  # judged in the main thread
                    outcome = error
                with record:
                    attempts.append(Attempt(number, text, seen, outcome))
                if not isinstance(outcome, StaleEdit):
                    return
        finally:
            connection.close()  # this thread's own connection

    threads = [
        threading.Thread(target=edit, args=(number, user.pk), name=f"editor{number}")
        for number, user in enumerate(editors)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)

    # Every save landed or was refused as stale, seeing the newer draft; nothing else happened.
    landed = [attempt for attempt in attempts if attempt.landed]
    stale = [attempt for attempt in attempts if not attempt.landed]
    for attempt in stale:
        assert isinstance(attempt.outcome, StaleEdit), attempt
        assert attempt.outcome.current.lock_version > attempt.expected
    assert len({attempt.editor for attempt in attempts}) == EDITORS
    assert len(landed) > 1 and stale, "no contention: the test proved nothing"

    # Exactly one winner per version number, and the versions follow one another without a gap.
    assert all(attempt.outcome.lock_version == attempt.expected + 1 for attempt in landed)
    assert sorted(attempt.expected for attempt in landed) == list(
        range(start_version, start_version + len(landed))
    )

    # The draft is the last winner's content, whole; the count of saves is the count of bumps.
    draft = PlanVersion.objects.get(pk=first.pk)
    assert draft.lock_version == start_version + len(landed)
    last = max(landed, key=lambda attempt: attempt.outcome.lock_version)
    assert draft.needs_today == last.text
    assert draft.coordination == f"Samordning: {last.text}"
    assert list(draft.goals.values_list("text", flat=True)) == [f"Mål: {last.text}"]
    assert case.plan_versions.count() == 1
    saves = CaseEvent.objects.filter(case=case, action="save_plan_draft").count()
    assert saves == saves_before + len(landed)

    # Fifty writers at once left the audit log's chain whole.
    walk = verify()
    assert walk.broken is None, walk.broken
