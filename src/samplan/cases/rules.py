"""Object permissions for SIP cases (django-rules). Predicates read the directory through
samplan.access so that "who may see" and "who may act" share one definition."""

from __future__ import annotations

import rules

from samplan.access.services import acting_unit_for, active_unit_ids, cases_visible_to
from samplan.directory.models import Assignment


@rules.predicate
def can_see_case(user, case) -> bool:
    return cases_visible_to(user).filter(pk=case.pk).exists()


@rules.predicate
def takes_part_in_case(user, case) -> bool:
    return acting_unit_for(user, case) is not None and can_see_case(user, case)


@rules.predicate
def drives_case(user, case) -> bool:
    """The SIP coordinator, or any coordinator of the coordinating unit (so work goes on when
    the named coordinator is away)."""
    if case.coordinating_unit_id in active_unit_ids(user, (Assignment.Role.COORDINATOR,)):
        return True
    return case.coordinator_id == user.pk and takes_part_in_case(user, case)


rules.add_perm("cases.view_sipcase_content", can_see_case)
rules.add_perm("cases.take_part", takes_part_in_case)
rules.add_perm("cases.drive", drives_case)
