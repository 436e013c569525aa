"""Statistik: the statistics page and its CSV, for staff who may see a unit's figures
(stats/figures.py says who sees what). Reads only the monthly figures: a fixed number of
queries however many SIPs there are. Every view and download is one row in the audit log
naming the scope and the period, never a person; a refusal is a refused row and a page that
says why."""

from __future__ import annotations

import csv
import datetime as dt
import re

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from samplan.access.models import AuditEvent
from samplan.access.services import audit

from . import figures as f
from .charts import Series, bar_chart
from .figures import MAX_MONTHS, Scope, scopes_for, statistics

WHAT = "statistics"
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class MonthInput(forms.TextInput):
    input_type = "month"


class MonthField(forms.CharField):
    widget = MonthInput
    default_error_messages = {"invalid": gettext_lazy("Enter a month as YYYY-MM, e.g. 2025-03.")}

    def to_python(self, value):
        value = super().to_python(value).strip()
        if not value:
            return None
        match = MONTH.match(value)
        if not match:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return dt.date(int(match[1]), int(match[2]), 1)


class StatisticsForm(forms.Form):
    scope = forms.ChoiceField(label=gettext_lazy("Figures for"))
    first = MonthField(label=gettext_lazy("From month"), required=False)
    last = MonthField(label=gettext_lazy("To month"), required=False)

    def __init__(self, *args, scopes: list[Scope], **kwargs):
        super().__init__(*args, **kwargs)
        self.scopes = {scope.key: scope for scope in scopes}
        self.fields["scope"].choices = [(scope.key, scope.label) for scope in scopes]

    def clean(self):
        data = super().clean()
        this_month = timezone.localdate().replace(day=1)
        last = data.get("last") or this_month
        first = data.get("first") or _months_back(last, 11)
        if not self.errors:
            if first > last:
                self.add_error("first", _("The first month comes after the last."))
            elif len(f.months_between(first, last)) > MAX_MONTHS:
                self.add_error(
                    "first",
                    _("Choose at most %(count)d months.") % {"count": MAX_MONTHS},
                )
        data["first"], data["last"] = first, last
        return data


def _months_back(month: dt.date, count: int) -> dt.date:
    year, index = divmod(month.year * 12 + month.month - 1 - count, 12)
    return dt.date(year, index + 1, 1)


def _chosen(request, scopes: list[Scope]):
    """The bound form (defaults: the first scope, the last twelve months) and its values."""
    data = request.GET.copy()
    data.setdefault("scope", scopes[0].key)
    form = StatisticsForm(data, scopes=scopes)
    if not form.is_valid():
        return form, None
    return form, (form.scopes[form.cleaned_data["scope"]], *_period(form))


def _period(form) -> tuple[dt.date, dt.date]:
    return form.cleaned_data["first"], form.cleaned_data["last"]


def _detail(scope: Scope, first: dt.date, last: dt.date) -> str:
    return f"{scope.key} {first:%Y-%m}..{last:%Y-%m}"


def _refused(request):
    audit(request.user, AuditEvent.Action.READ, WHAT, outcome=AuditEvent.Outcome.REFUSED)
    return render(request, "stats/refused.html", status=403)


def _audit(request, action: str, scope: Scope, first: dt.date, last: dt.date) -> None:
    unit_id = int(scope.key.split(":")[1]) if scope.key.startswith("unit:") else None
    audit(request.user, action, WHAT, unit_id=unit_id, detail=_detail(scope, first, last))


def _figures_asked(request, action: str):
    """The figures the filter asks for, audited as `action`; or the response that refuses them
    (403 without a scope, 400 with the form's errors)."""
    scopes = scopes_for(request.user)
    if not scopes:
        return _refused(request)
    form, chosen = _chosen(request, scopes)
    if chosen is None:
        return render(request, "stats/statistics.html", {"form": form}, status=400)
    scope, first, last = chosen
    stats = statistics(scope, first, last)
    _audit(request, action, scope, first, last)
    return form, scope, first, last, stats


@login_required
@require_GET
def statistics_page(request):
    asked = _figures_asked(request, AuditEvent.Action.READ)
    if isinstance(asked, HttpResponse):
        return asked
    form, scope, first, last, stats = asked
    return render(
        request,
        "stats/statistics.html",
        {
            "form": form,
            "stats": stats,
            "scope": scope,
            "first": first,
            "last": last,
            "charts": charts(stats),
            "refreshed_at": f.refreshed_at(),
            "csv_query": request.GET.urlencode(),
        },
    )


@login_required
@require_GET
def statistics_csv(request):
    asked = _figures_asked(request, AuditEvent.Action.EXPORT)
    if isinstance(asked, HttpResponse):
        return asked
    _form, scope, first, last, stats = asked
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="samplan-statistik-{first:%Y-%m}-{last:%Y-%m}.csv"'
    )
    response.write("\ufeff")  # Excel reads UTF-8 (å, ä, ö) only with the byte-order mark
    writer = csv.writer(response)
    writer.writerow([_("Figures for"), scope.label])
    writer.writerows(f.csv_rows(stats))
    return response


def charts(stats: f.Statistics) -> list[dict]:
    """Initiated and established per month; the median days to a meeting call against the
    organisation's deadline; for SIPs after discharge, against the days of lag (2017:612)."""
    labels = [f"{month:%m/%y}" for month in stats.months]
    full = stats.scope.full

    def counts(measure: str) -> Series:
        cells = [f.count_cell(figures[measure], full) for figures in stats.monthly]
        return Series("", [cell.value for cell in cells], [cell.suppressed for cell in cells])

    def medians(which: str, name: str) -> Series:
        cells = [f.median_cell(f.histogram(figures, which), full) for figures in stats.monthly]
        return Series(name, [cell.value for cell in cells], [cell.suppressed for cell in cells])

    initiated = counts(f.m.INITIATED)
    established = counts(f.m.PLANS_ESTABLISHED)
    found = [
        bar_chart(
            key="volumes",
            title=_("SIPs initiated and plans established per month"),
            description=_(
                "Bars per month: SIPs initiated and plans established. The numbers are in the "
                "table “SIPs month by month” below."
            ),
            labels=labels,
            series=[
                Series(_("Initiated"), initiated.values, initiated.suppressed),
                Series(_("Plans established"), established.values, established.suppressed),
            ],
        )
    ]

    def deadline_chart(key, measure, days, title, description):
        """Median days per month of one lead time, with its deadline as a dashed line."""
        return bar_chart(
            key=key,
            title=title,
            description=description,
            labels=labels,
            series=[medians(measure, _("Median days"))],
            target=days,
            target_label=_("Deadline: %(days)d days") % {"days": days} if days else "",
        )

    found.append(
        deadline_chart(
            "initiative_call",
            f.m.INITIATIVE_CALL,
            stats.scope.initiative_days,
            _("Median days from initiative to meeting call"),
            _(
                "Bars per month: the median number of whole days from initiative to meeting "
                "call, with the deadline as a dashed line. The numbers are in the table "
                "“Lead times, median in whole days” below."
            ),
        )
    )
    found.append(
        deadline_chart(
            "discharge_call",
            f.m.DISCHARGE_CALL,
            stats.scope.discharge_days,
            _("Median days from discharge notice to meeting call"),
            _(
                "Bars per month: the median number of whole days from the notice of readiness "
                "for discharge to the meeting call, with the deadline as a dashed line. The "
                "numbers are in the table “Lead times, median in whole days” below."
            ),
        )
    )
    return found


urlpatterns = [
    path("", statistics_page, name="statistics"),
    path("statistik.csv", statistics_csv, name="statistics_csv"),
]
