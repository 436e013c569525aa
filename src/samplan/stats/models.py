"""What the statistics are read from: a row of facts per SIP, taken from its timeline, and
the monthly figures summed from those facts per unit, organisation and the whole county.

Nothing here names a person. The facts keep only times, kinds and counts; the monthly figures
are sums. Both are derived data: `manage.py refresh_statistics --full` builds them again from
the timeline at any time.
"""

from __future__ import annotations

from django.db import models


class CaseFacts(models.Model):
    """What one SIP contributes to the statistics, computed from its timeline (`CaseEvent`,
    `happened_at` where set) and its meetings, plan versions, evaluations and ratings.

    `case_id` is a plain number, not a foreign key: the figures a SIP contributed outlive the
    SIP itself (a case removed after its retention time stays counted in the months it was
    part of). `contributions` is exactly what this SIP adds to the monthly figures
    ({"2025-03": {"initiated": 1, "lead_initiative_call:4": 1}}), so a refresh subtracts the
    old and adds the new and nothing is counted twice."""

    case_id = models.BigIntegerField(primary_key=True)
    unit_id = models.BigIntegerField(help_text="The coordinating unit; the figures belong to it.")
    organisation_id = models.BigIntegerField()
    kind = models.CharField(max_length=12)
    initiated_by = models.CharField(max_length=10)
    initiated_at = models.DateTimeField(null=True)
    discharge_notice_at = models.DateTimeField(null=True)
    declined_at = models.DateTimeField(null=True)
    consented_at = models.DateTimeField(null=True)
    called_at = models.DateTimeField(null=True)
    # Against the coordinating organisation's discharge_deadline_days (lag 2017:612: 3 days).
    discharge_call_on_time = models.BooleanField(null=True)
    meeting_at = models.DateTimeField(null=True)
    person_took_part = models.BooleanField(null=True)
    established_at = models.DateTimeField(null=True)
    approved_by_person = models.BooleanField(null=True)
    closed_at = models.DateTimeField(null=True)
    closing_reason = models.CharField(max_length=20, blank=True)
    follow_ups = models.JSONField(default=list)
    contributions = models.JSONField(default=dict)
    # When the facts change without a timeline event (a called meeting's start passes, a
    # follow-up date passes): the refresh takes the case up again then.
    next_change_at = models.DateTimeField(null=True, db_index=True)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name = "case facts"
        verbose_name_plural = "case facts"

    def __str__(self) -> str:
        return f"facts of SIP {self.case_id}"


class MonthlyFigures(models.Model):
    """The summed figures of one month for one scope: "unit:<id>", "organisation:<id>" or
    "county". `figures` maps a measure (stats/measures.py) to a count; a lead time is a
    histogram in whole days ("lead_initiative_call:4": SIPs called 4 days after the
    initiative), so medians and shares within a deadline come from sums. The statistics page
    reads only these rows: a handful per request, however many SIPs there are."""

    scope = models.CharField(max_length=40)
    month = models.DateField(help_text="The first day of the month (Europe/Stockholm).")
    figures = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "monthly figures"
        verbose_name_plural = "monthly figures"
        constraints = [
            models.UniqueConstraint(fields=["scope", "month"], name="figures_once_per_month")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.month:%Y-%m}"


class RefreshState(models.Model):
    """One row: how far the refresh has read the timeline. Locked for the whole refresh, so two
    workers never apply the same change twice."""

    events_until = models.DateTimeField(null=True)
    refreshed_at = models.DateTimeField(null=True)
    cases_refreshed = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"statistics refreshed {self.refreshed_at}"
