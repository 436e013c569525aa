"""Reading the statistics: which scopes a staff member may see, the monthly figures of one scope
and period, and each cell as shown (on the page, in the CSV), small numbers suppressed.

Who sees what: staff with an active assignment as coordinator, participant or unit
administrator see the figures of their own units in full, and those of their units'
organisations and of the whole county with small numbers suppressed. Anyone else (a security
officer, a superuser without assignments) sees none.

Suppression (outside one's own units): a count from 1 to 4 is shown as "<5"; a share is shown
only when its numerator, the rest and the whole are each 0 or at least 5 (otherwise "3 of 4"
could be read back); a median only over at least 5 SIPs. So no person can be singled out.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from samplan.access.services import SEEING_ROLES, active_unit_ids
from samplan.cases.models import SipCase
from samplan.directory.models import Unit

from . import measures as m
from .models import MonthlyFigures, RefreshState
from .refresh import COUNTY, organisation_scope, unit_scope

SMALLEST_SHOWN = 5
MAX_MONTHS = 36
LAW_DISCHARGE_DAYS = 3  # lag (2017:612)


@dataclass(frozen=True)
class Scope:
    key: str
    label: str
    full: bool  # the user's own unit: no suppression
    initiative_days: int | None = None
    discharge_days: int = LAW_DISCHARGE_DAYS


def scopes_for(user) -> list[Scope]:
    """The scopes the user may see, own units first, then their organisations, then the county;
    empty for anyone without a working role or a unit administrator's (one query)."""
    unit_ids = active_unit_ids(user, SEEING_ROLES)
    if not unit_ids:
        return []
    units = list(
        Unit.objects.filter(pk__in=unit_ids)
        .select_related("organisation")
        .order_by("organisation__name", "name")
    )
    found = [
        Scope(
            unit_scope(unit.pk),
            unit.name,
            True,
            unit.organisation.initiative_deadline_days,
            unit.organisation.discharge_deadline_days,
        )
        for unit in units
    ]
    organisations = {unit.organisation.pk: unit.organisation for unit in units}
    found += [
        Scope(
            organisation_scope(organisation.pk),
            organisation.name,
            False,
            organisation.initiative_deadline_days,
            organisation.discharge_deadline_days,
        )
        for organisation in organisations.values()
    ]
    found.append(Scope(COUNTY, _("The whole county"), False))
    return found


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    months = []
    month = first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def read_months(scope: Scope, months: list[dt.date]) -> list[Counter]:
    """The figures of each month (an empty month has none), in one query."""
    rows = dict(
        MonthlyFigures.objects.filter(
            scope=scope.key, month__gte=months[0], month__lte=months[-1]
        ).values_list("month", "figures")
    )
    return [Counter(rows.get(month, {})) for month in months]


def refreshed_at() -> dt.datetime | None:
    return RefreshState.objects.filter(pk=1).values_list("refreshed_at", flat=True).first()


# --- Cells ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One figure as shown: `text` on the page, `csv` in the download, `value` for a chart
    (None when there is nothing to draw, suppressed or empty)."""

    text: str
    csv: str
    value: float | None = None
    suppressed: bool = False


NOTHING = Cell("–", "")


def _suppressed() -> Cell:
    return Cell("<5", "<5", suppressed=True)


def _small(count: int) -> bool:
    return 0 < count < SMALLEST_SHOWN


def count_cell(count: int, full: bool) -> Cell:
    if not full and _small(count):
        return _suppressed()
    return Cell(str(count), str(count), count)


def share_cell(part: int, whole: int, full: bool) -> Cell:
    if whole == 0:
        return NOTHING
    if not full and (_small(part) or _small(whole - part) or _small(whole)):
        return _suppressed()
    percent = round(100 * part / whole)
    return Cell(_("%(percent)d%%") % {"percent": percent}, str(percent), percent)


def median_days(histogram: Counter) -> int | None:
    """The median of a histogram in whole days (the lower median for an even count)."""
    total = sum(histogram.values())
    if not total:
        return None
    middle, seen = (total + 1) // 2, 0
    for day in sorted(histogram):
        seen += histogram[day]
        if seen >= middle:
            return day
    return None  # not reached


def median_cell(histogram: Counter, full: bool) -> Cell:
    total = sum(histogram.values())
    if total == 0:
        return NOTHING
    if not full and _small(total):
        return _suppressed()
    days = median_days(histogram)
    return Cell(str(days), str(days), days)


def histogram(figures: Counter, which: str) -> Counter:
    prefix = f"lead_{which}:"
    return Counter(
        {
            int(key[len(prefix) :]): count
            for key, count in figures.items()
            if key.startswith(prefix) and count
        }
    )


def _total(figures: Counter, prefix: str) -> int:
    return sum(count for key, count in figures.items() if key.startswith(prefix))


# --- Columns -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise

    def cell(self, figures: Counter, full: bool) -> Cell:
        raise NotImplementedError


@dataclass(frozen=True)
class CountColumn(Column):
    measure: str = ""

    def cell(self, figures, full):
        return count_cell(figures[self.measure], full)


@dataclass(frozen=True)
class ShareColumn(Column):
    part: str = ""
    whole: str = ""  # a measure, or a prefix ending in ":" summed

    def cell(self, figures, full):
        whole = _total(figures, self.whole) if self.whole.endswith(":") else figures[self.whole]
        part = _total(figures, self.part) if self.part.endswith(":") else figures[self.part]
        return share_cell(part, whole, full)


@dataclass(frozen=True)
class MedianColumn(Column):
    lead: str = ""

    def cell(self, figures, full):
        return median_cell(histogram(figures, self.lead), full)


@dataclass(frozen=True)
class Table:
    key: str
    caption: str | Promise
    columns: tuple[Column, ...]


TABLES = (
    Table(
        "sips",
        gettext_lazy("SIPs month by month"),
        (
            CountColumn("initiated", gettext_lazy("Initiated"), m.INITIATED),
            CountColumn(
                "by_staff",
                gettext_lazy("of which by staff"),
                m.initiated_by(SipCase.InitiatedBy.STAFF),
            ),
            CountColumn(
                "by_person",
                gettext_lazy("of which by the person"),
                m.initiated_by(SipCase.InitiatedBy.PERSON),
            ),
            CountColumn(
                "by_relative",
                gettext_lazy("of which by a relative"),
                m.initiated_by(SipCase.InitiatedBy.RELATIVE),
            ),
            CountColumn(
                "discharge", gettext_lazy("of which after discharge"), m.INITIATED_DISCHARGE
            ),
            CountColumn("declined", gettext_lazy("Declined a SIP"), m.DECLINED),
            CountColumn("consented", gettext_lazy("Consent given"), m.CONSENTED),
            CountColumn("meetings", gettext_lazy("Meetings held"), m.MEETINGS_HELD),
            CountColumn("established", gettext_lazy("Plans established"), m.PLANS_ESTABLISHED),
            CountColumn("closed", gettext_lazy("SIPs closed"), m.CLOSED),
        ),
    ),
    Table(
        "lead_times",
        gettext_lazy("Lead times, median in whole days"),
        (
            MedianColumn(
                "initiative_call", gettext_lazy("Initiative to meeting call"), m.INITIATIVE_CALL
            ),
            MedianColumn(
                "discharge_call",
                gettext_lazy("Discharge notice to meeting call"),
                m.DISCHARGE_CALL,
            ),
            ShareColumn(
                "discharge_on_time",
                gettext_lazy("Discharge SIPs called in time"),
                m.DISCHARGE_WITHIN_DEADLINE,
                f"lead_{m.DISCHARGE_CALL}:",
            ),
            MedianColumn("call_meeting", gettext_lazy("Call to meeting"), m.CALL_MEETING),
            MedianColumn(
                "meeting_plan", gettext_lazy("Meeting to established plan"), m.MEETING_PLAN
            ),
        ),
    ),
    Table(
        "outcomes",
        gettext_lazy("Follow-up, goals and the person's part"),
        (
            CountColumn("follow_ups_due", gettext_lazy("Follow-ups due"), m.FOLLOW_UPS_DUE),
            ShareColumn(
                "follow_ups_on_time",
                gettext_lazy("Follow-ups on time"),
                m.FOLLOW_UPS_ON_TIME,
                m.FOLLOW_UPS_DUE,
            ),
            ShareColumn(
                "goals_reached",
                gettext_lazy("Goals reached (staff's evaluation)"),
                m.goal("reached"),
                "goal:",
            ),
            ShareColumn(
                "goals_partly",
                gettext_lazy("Goals partly reached (staff's evaluation)"),
                m.goal("partly"),
                "goal:",
            ),
            ShareColumn(
                "own_rating_well",
                gettext_lazy("Going well in the person's own rating"),
                "own_rating_good",
                "own_rating:",
            ),
            ShareColumn(
                "took_part",
                gettext_lazy("Meetings where the person or a guardian took part"),
                m.PERSON_TOOK_PART,
                m.MEETINGS_HELD,
            ),
            ShareColumn(
                "approved",
                gettext_lazy("Plans approved by the person or a guardian"),
                m.APPROVED_BY_PERSON,
                m.PLANS_ESTABLISHED,
            ),
        ),
    ),
)


def with_derived(figures: Counter) -> Counter:
    """The figures, plus the sums a column reads as one measure ("own_rating_good")."""
    derived = Counter(figures)
    derived["own_rating_good"] = sum(figures[m.own_rating(value)] for value in m.GOOD_RATINGS)
    return derived


CLOSING_REASONS = SipCase.ClosingReason


@dataclass
class Row:
    label: str
    month: dt.date | None
    cells: list[Cell]
    columns: tuple[Column, ...] = ()

    @property
    def labelled(self) -> list[tuple[str, Cell]]:
        """Each cell with its column's name (a stacked row shows it beside the figure)."""
        return [
            (str(column.label), cell) for column, cell in zip(self.columns, self.cells, strict=True)
        ]


@dataclass
class Statistics:
    """Everything the page and the CSV show for one scope and period."""

    scope: Scope
    months: list[dt.date]
    monthly: list[Counter]
    total: Counter
    tables: list[tuple[Table, list[Row]]]
    closing: list[tuple[str, Cell]]


def month_label(month: dt.date) -> str:
    return f"{month:%Y-%m}"


def statistics(scope: Scope, first: dt.date, last: dt.date) -> Statistics:
    months = months_between(first, last)
    monthly = [with_derived(figures) for figures in read_months(scope, months)]
    total = Counter()
    for figures in monthly:
        total.update(figures)
    tables = []
    for table in TABLES:
        rows = [
            Row(
                month_label(month),
                month,
                [column.cell(figures, scope.full) for column in table.columns],
                table.columns,
            )
            for month, figures in zip(months, monthly, strict=True)
        ]
        rows.append(
            Row(
                _("Whole period"),
                None,
                [column.cell(total, scope.full) for column in table.columns],
                table.columns,
            )
        )
        tables.append((table, rows))
    closing = [
        (label, count_cell(total[m.closed_because(value)], scope.full))
        for value, label in CLOSING_REASONS.choices
    ]
    return Statistics(scope, months, monthly, total, tables, closing)


def csv_rows(stats: Statistics) -> list[list[str]]:
    """The page's figures as CSV rows: a header, a row a month and one for the whole period."""
    columns = [column for table in TABLES for column in table.columns]
    header = [_("Month")] + [str(column.label) for column in columns]
    header += [_("Closed: %(reason)s") % {"reason": label} for _v, label in CLOSING_REASONS.choices]
    lines = [header]
    for label, figures in [
        *((month_label(month), f) for month, f in zip(stats.months, stats.monthly, strict=True)),
        (_("Whole period"), stats.total),
    ]:
        cells = [column.cell(figures, stats.scope.full).csv for column in columns]
        cells += [
            count_cell(figures[m.closed_because(value)], stats.scope.full).csv
            for value in CLOSING_REASONS.values
        ]
        lines.append([label, *cells])
    return lines
