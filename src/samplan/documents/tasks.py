"""The worker's document tasks (django-tasks, database backend; `make worker`).

`build_contingency_packs` runs nightly from settings.SAMPLAN_SCHEDULE ("contingency_packs") and
builds a pack for every active unit; `build_contingency_pack(unit_id)` builds one. Safe to run
twice, or on two workers at once: each run stores a new pack and keeps the newest
KEPT_PER_UNIT of the unit (documents/contingency.build_pack serialises the store and prune per
unit), so a second run replaces the older pack with an identical one and nothing else.

Read-only mode skips the nightly build: the mode is for planned maintenance, when Samplan stays
readable (no pack is needed) and nothing should be written but the log; the packs built before
the window stay downloadable, and `manage.py contingency_pack` still writes one to disk.
"""

from __future__ import annotations

import logging

from django_tasks import task

from samplan.directory.models import Unit
from samplan.maintenance.mode import is_read_only

from .contingency import build_pack, pack_processes
from .models import ContingencyPack

logger = logging.getLogger(__name__)


@task()
def build_contingency_packs() -> int:
    """A pack for every active unit; the number built. A unit that fails is logged and the
    others are built all the same. The packs of inactive units are deleted."""
    if is_read_only():
        logger.info("Read-only mode: the nightly contingency packs are not built.")
        return 0
    # An inactive unit grants nothing, so it keeps no copy of anyone's plan either.
    ContingencyPack.objects.filter(unit__active=False).delete()
    built, processes = 0, pack_processes()
    for unit in Unit.objects.filter(active=True).order_by("pk"):
        try:
            build_pack(unit, processes=processes)
        except Exception:
            logger.exception("The contingency pack of unit %s could not be built.", unit.pk)
        else:
            built += 1
    return built


@task()
def build_contingency_pack(unit_id: int) -> int:
    """One active unit's pack; its number of plans (0 and nothing built for an inactive or
    missing unit, or in read-only mode)."""
    unit = Unit.objects.filter(pk=unit_id, active=True).first()
    if unit is None or is_read_only():
        return 0
    return build_pack(unit, processes=pack_processes()).plan_count
