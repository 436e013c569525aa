"""The plan (samordnad individuell plan) as a PDF: for those who took part (complete, formal)
or for the person (plain words, as Min SIP's plan page says it).

`plan_pdf` does no access check and writes no audit row: its callers (the workspace download,
Min SIP, the contingency pack) read the case through the access layer and audit the print.
The person's address is never printed: a plan does not need it, and a person with protected
personal data must not have it on paper.
"""

from __future__ import annotations

from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from samplan.cases.models import PLAN_PARTS, PlanVersion

from .render import render_pdf

LAYOUTS = ("participants", "person")


def _with_parts(version: PlanVersion) -> PlanVersion:
    """The version with its case, person, units and parts loaded (what a caller already loaded
    is kept): four queries at most, whatever the number of rows."""
    cache = getattr(version, "_prefetched_objects_cache", {})
    missing = [
        part
        for part in PLAN_PARTS
        if (part if isinstance(part, str) else part.prefetch_through) not in cache
    ]
    if missing:
        prefetch_related_objects([version], *missing)
    return version


def plan_context(version: PlanVersion, *, layout: str, for_person: bool = True) -> dict:
    version = _with_parts(version)
    case = version.case
    printed_on = timezone.localdate()
    return {
        "plan": version,
        "case": case,
        "person": case.person,
        "coordinating_unit": case.coordinating_unit,
        "coordinator": case.coordinator,
        "layout": layout,
        "for_person": for_person,
        "printed_on": printed_on,
        "footer": _("%(reference)s · Version %(number)s · Printed %(date)s")
        % {"reference": case.reference, "number": version.number, "date": printed_on.isoformat()},
    }


def plan_pdf(
    version: PlanVersion, *, layout: str = "participants", for_person: bool = True
) -> bytes:
    """One plan version as PDF bytes. `layout`: "participants" (complete, formal) or "person"
    (plain words). In the person layout `for_person` speaks to the person ("your goals");
    False speaks about them, for a guardian or a representative reading it."""
    if layout not in LAYOUTS:
        raise ValueError(f"Unknown plan layout {layout!r}; expected one of {LAYOUTS}.")
    return render_pdf(
        f"documents/plan_{layout}.html",
        plan_context(version, layout=layout, for_person=for_person),
    )
