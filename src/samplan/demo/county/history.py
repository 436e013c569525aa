"""DEMO ONLY: the history each demo SIP needs, given after the services have done each step."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone

from samplan.cases.models import CaseEvent, SipCase

AT = object()  # in a _Step update: "the moment of this step"


@dataclass
class _Step:
    """One service call on a demo case: when the story says it happened (None: now, as
    recorded) and the timestamps outside the timeline that belong to the same moment."""

    at: dt.datetime | None
    updates: list[tuple[QuerySet, dict]] = field(default_factory=list)


def _backdate(case: SipCase, steps: Sequence[_Step]) -> None:
    """DEMO ONLY: give a demo SIP the history its story needs.

    The services stamp every change with the present moment and refuse meeting times and
    follow-up dates in the past, as they must for real work. A demo county needs SIPs that have
    been worked on for weeks, some with a follow-up date already passed. So each demo case is first
    driven through the services, one call per step, and then this moves the timeline event of
    each step (one per service call, in order) and the timestamps that belong to it back to the
    moment the story gives. Never do this to real data: event times are evidence, and regions
    bill on them. The audit log is append-only and is not touched; it shows when the demo was
    loaded. It may run more than once for a case (recording attendance needs the meeting in the
    past); each run writes the same moments.
    """
    event_ids = list(
        CaseEvent.objects.filter(case=case).order_by("pk").values_list("pk", flat=True)
    )
    if len(event_ids) != len(steps):
        raise RuntimeError(
            f"{case}: {len(event_ids)} timeline events but {len(steps)} demo steps recorded"
        )
    now = timezone.now()
    moments = [step.at or now for step in steps]
    if any(later < earlier for earlier, later in zip(moments, moments[1:], strict=False)):
        raise RuntimeError(f"{case}: the demo steps are not in time order")
    for event_id, step in zip(event_ids, steps, strict=True):
        if step.at is not None:
            CaseEvent.objects.filter(pk=event_id).update(at=step.at)
        for queryset, values in step.updates:
            resolved = {
                name: step.at if value is AT else value
                for name, value in values.items()
                if value is not AT or step.at is not None
            }
            if resolved:
                queryset.update(**resolved)


def _later(moment: dt.datetime | None, minutes: int) -> dt.datetime | None:
    return moment + dt.timedelta(minutes=minutes) if moment else None
