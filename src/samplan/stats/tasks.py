"""The worker's statistics task (django-tasks; `make worker`): settings.SAMPLAN_SCHEDULE runs
`refresh_statistics` every few minutes. Read-only mode skips it: the figures are derived data,
and they catch up from the timeline on the first run after the window."""

from __future__ import annotations

import logging

from django_tasks import task

from samplan.maintenance.mode import is_read_only

from . import refresh

logger = logging.getLogger(__name__)


@task()
def refresh_statistics() -> int:
    """Bring the statistics up to date; the number of SIPs computed again."""
    if is_read_only():
        logger.info("Read-only mode: the statistics are not refreshed.")
        return 0
    return refresh.refresh_statistics()
