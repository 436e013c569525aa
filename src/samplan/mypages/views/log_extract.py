"""Vem har läst mina uppgifter: the log extract (logguttag, patientdatalagen 8 kap. 5 §).

Every time a unit read or changed data about the person, from the audit log: the rows whose
`person` is the SIP's person and whose outcome was allowed, newest first. The person and a
guardian of a minor read every such row (all the person's SIPs, searches, sign-ins); anyone else
who acts for the person (a god man or förvaltare) only the rows of this SIP: their mandate is
known in this SIP, not in the person's others. Each row says when,
which unit and organisation, and what was done, in plain words, and is flagged when it was done
under emergency access (nödåtkomst). Staff are never named: the log's user and user name are not
read. What the person and those acting for them did in Min SIP shows too, by capacity ("you",
"your guardian": access/citizen.role_words_for_person), never by name; the person's own sign-ins
read "You signed in to Min SIP".

A summary on top says which units and organisations, how many times and when last. The list is
keyset-paged on (at, id), never an OFFSET or a count of all rows: the log is the largest table,
and the (person, at) index answers both. A printable copy (`log_extract_print`) holds the same
rows for a period and is audited as PRINT.

Who may open it: the person themselves, or one acting for them (`part="steer"`); a relative
with a grant to read sees the SIP, not its log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django import forms
from django.db.models import Count, Max, Q, QuerySet
from django.http import QueryDict
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from samplan.access.citizen import (
    PERSON_ROLE,
    audit_citizen,
    get_case_for_citizen,
    role_words_for_person,
)
from samplan.access.models import AuditEvent
from samplan.access.review import local_midnight
from samplan.people.models import RelatedParty

from ..decorators import citizen_required

PAGE_SIZE = 50
# The printed copy holds at most this many rows, newest first; a shorter period prints the rest.
PRINT_LIMIT = 1000

# What was read or changed, in plain words, by the log's `what` (a kind of record, never its
# content). Kinds not listed fall back on their prefix, then on "the SIP".
WHAT_WORDS = {
    "sip_case": gettext_lazy("the SIP"),
    "sip_case_list": gettext_lazy("the name, in a list of SIPs"),
    "start_page": gettext_lazy("the name, in a staff to-do list"),
    "start_page_notice": gettext_lazy(
        "that the SIP was stopped, without the name, in a staff to-do list"
    ),
    "search": gettext_lazy("the name, in a search"),
    "person": gettext_lazy("personal details"),
    "person_lookup": gettext_lazy("a search for the identity number"),
    "related_party": gettext_lazy("relatives and representatives"),
    "plan": gettext_lazy("the plan"),
    "plan_compare": gettext_lazy("versions of the plan"),
    "meeting": gettext_lazy("the meeting"),
    "invitation": gettext_lazy("the meeting"),
    "attendance": gettext_lazy("who came to the meeting"),
    "preparation": gettext_lazy("the preparation of the meeting"),
    "preferences": gettext_lazy("wishes for the meeting"),
    "consent": gettext_lazy("the consent"),
    "participant": gettext_lazy("who takes part in the SIP"),
    "evaluation": gettext_lazy("the follow-up"),
    "follow_up": gettext_lazy("the follow-up"),
    "goal_rating": gettext_lazy("the answers about how the goals are going"),
    "case_messages": gettext_lazy("the staff's messages about the SIP"),
    "case_message": gettext_lazy("the staff's messages about the SIP"),
    "emergency_access": gettext_lazy("the SIP, in an emergency"),
    "log_extract": gettext_lazy("who has read the data (this page)"),
    "sip_request": gettext_lazy("a request for a SIP"),
}
_PREFIXES = ("plan", "meeting", "consent", "preferences", "follow_up", "sip_case")


def what_words(what: str) -> str:
    if what in WHAT_WORDS:
        return str(WHAT_WORDS[what])
    for prefix in _PREFIXES:
        if what.startswith(prefix):
            return str(WHAT_WORDS[prefix])
    return str(WHAT_WORDS["sip_case"])


# Who may read every row about the person; anyone else acting for them reads this SIP's rows.
WHOLE_PERSON_ROLES = (PERSON_ROLE, RelatedParty.Kind.GUARDIAN)
# The log's citizen_role of a citizen without a capacity: signing in and out (the row's person is
# the one signed in, never someone they act for).
SIGNED_IN = "citizen"


def covers_the_person(capacity) -> bool:
    """Whether this capacity reads the person's whole log, or only this SIP's rows."""
    return capacity.role in WHOLE_PERSON_ROLES


def who_words(row, capacity) -> str:
    """Who did it, without a staff name: the unit, or the capacity someone had in Min SIP."""
    if row.citizen_role:
        role = PERSON_ROLE if row.citizen_role == SIGNED_IN else row.citizen_role
        who = role_words_for_person(role, capacity, getattr(row, "citizen_party_id", None))
        return capfirst(_("%(who)s, in Min SIP") % {"who": who})
    if row.unit_name:
        return row.unit_name
    return _("Staff (no unit recorded)")


def done_words(row, capacity) -> str:
    """What was done, in plain words: signing in is said as a sentence."""
    if row.citizen_role == SIGNED_IN and row.action == AuditEvent.Action.SIGN_IN:
        if capacity.is_person:
            return _("You signed in to Min SIP.")
        return _("The person signed in to Min SIP.")
    if row.citizen_role == SIGNED_IN and row.action == AuditEvent.Action.SIGN_OUT:
        if capacity.is_person:
            return _("You signed out of Min SIP.")
        return _("The person signed out of Min SIP.")
    return f"{row.get_action_display()}: {what_words(row.what)}"


# --- The period and the page --------------------------------------------------------------------

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def cursor_of(moment: dt.datetime, pk: int) -> str:
    """A keyset cursor: the last row shown, as "microseconds:id"."""
    return f"{(moment - EPOCH) // dt.timedelta(microseconds=1)}:{pk}"


def read_cursor(value: str) -> tuple[dt.datetime, int] | None:
    try:
        micros, pk = (int(part) for part in value.split(":"))
        return EPOCH + dt.timedelta(microseconds=micros), pk
    except (ValueError, OverflowError):
        return None  # a mangled cursor starts from the newest rows


class DateInput(forms.DateInput):
    input_type = "date"  # the phone's own date picker; typed as YYYY-MM-DD where there is none


class PeriodForm(forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=DateInput(format="%Y-%m-%d"),
        error_messages={"invalid": gettext_lazy("Enter a date like 2025-03-31.")},
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        widget=DateInput(format="%Y-%m-%d"),
        error_messages={"invalid": gettext_lazy("Enter a date like 2025-03-31.")},
    )
    after = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and first > last:
            self.add_error("date_to", _("The end date must be the same as or after the start."))
        return data


@dataclass
class Period:
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    after: tuple[dt.datetime, int] | None = None

    @property
    def is_whole_log(self) -> bool:
        return self.date_from is None and self.date_to is None

    def query(self, **changes) -> str:
        """The address's query for this period (and `changes`), e.g. for the next page."""
        query = QueryDict(mutable=True)
        values = {"date_from": self.date_from, "date_to": self.date_to, **changes}
        for key, value in values.items():
            if value:
                query[key] = value.isoformat() if isinstance(value, dt.date) else value
        return query.urlencode()

    def describe(self) -> str:
        """For the audit row: the period only, never a name."""
        if self.is_whole_log:
            return "period: all"
        return f"period {self.date_from or '…'}–{self.date_to or '…'}"


def _period(request) -> tuple[PeriodForm, Period]:
    form = PeriodForm(request.GET or None)
    if not form.is_valid():
        return form, Period()
    data = form.cleaned_data
    return form, Period(data["date_from"], data["date_to"], read_cursor(data["after"] or ""))


def extract(person_id: int, period: Period, case_id: int | None = None) -> QuerySet[AuditEvent]:
    """The log rows about the person (with `case_id`: only those of that SIP), in the period,
    newest first (keyset order). Read through the (person, at) index, or (case, at); only
    allowed rows: a refused attempt read nothing."""
    rows = AuditEvent.objects.filter(person_id=person_id, outcome=AuditEvent.Outcome.ALLOWED)
    if case_id is not None:
        rows = rows.filter(case_id=case_id)
    if period.date_from:
        rows = rows.filter(at__gte=local_midnight(period.date_from))
    if period.date_to:
        rows = rows.filter(at__lt=local_midnight(period.date_to + dt.timedelta(days=1)))
    return rows.order_by("-at", "-id")


# The columns the page reads: never `user` or `username` (staff are not named here).
_COLUMNS = (
    "id",
    "at",
    "action",
    "what",
    "unit_id",
    "unit_name",
    "organisation_name",
    "citizen_role",
    "citizen_party_id",
    "emergency",
)


def page(rows: QuerySet[AuditEvent], after, *, size: int):
    """One keyset page after the cursor, and the cursor of the next page (None: the last)."""
    if after is not None:
        moment, pk = after
        rows = rows.filter(Q(at__lt=moment) | Q(at=moment, id__lt=pk))
    found = list(rows.only(*_COLUMNS)[: size + 1])
    if len(found) > size:
        found = found[:size]
        return found, cursor_of(found[-1].at, found[-1].pk)
    return found, None


@dataclass
class UnitLine:
    unit_name: str
    organisation_name: str
    times: int
    last: dt.datetime
    emergency: int


@dataclass
class Summary:
    units: list[UnitLine]
    in_min_sip: list[tuple[str, int, dt.datetime]]  # (who, times, last)
    unrecorded: int
    organisations: list[str]

    @property
    def empty(self) -> bool:
        return not (self.units or self.in_min_sip or self.unrecorded)


def summarise(rows: QuerySet[AuditEvent], capacity) -> Summary:
    """Which units and organisations, how many times and when last; and Min SIP's own reads by
    capacity. One grouped query over the person's rows."""
    groups = (
        rows.order_by()
        .values("unit_id", "citizen_role", "citizen_party_id")
        .annotate(
            unit_name=Max("unit_name"),
            organisation_name=Max("organisation_name"),
            times=Count("id"),
            last=Max("at"),
            emergency_times=Count("id", filter=Q(emergency=True)),
        )
    )
    units, in_min_sip, unrecorded = [], [], 0
    for group in groups:
        if group["unit_id"] is not None:
            units.append(
                UnitLine(
                    group["unit_name"],
                    group["organisation_name"],
                    group["times"],
                    group["last"],
                    group["emergency_times"],
                )
            )
        elif group["citizen_role"]:
            row = AuditEvent(
                citizen_role=group["citizen_role"], citizen_party_id=group["citizen_party_id"]
            )
            in_min_sip.append((who_words(row, capacity), group["times"], group["last"]))
        else:
            unrecorded += group["times"]
    units.sort(key=lambda line: line.last, reverse=True)
    in_min_sip = _merged(in_min_sip)
    in_min_sip.sort(key=lambda line: line[2], reverse=True)
    organisations = sorted({line.organisation_name for line in units if line.organisation_name})
    return Summary(units, in_min_sip, unrecorded, organisations)


def _merged(lines: list[tuple[str, int, dt.datetime]]) -> list[tuple[str, int, dt.datetime]]:
    """Groups that read the same ("the person" signing in, and acting): one line each."""
    by_who: dict[str, tuple[str, int, dt.datetime]] = {}
    for who, times, last in lines:
        held = by_who.get(who)
        by_who[who] = (
            (who, times, last) if held is None else (who, held[1] + times, max(held[2], last))
        )
    return list(by_who.values())


def _decorate(rows: list[AuditEvent], capacity) -> None:
    for row in rows:
        row.who = who_words(row, capacity)
        row.what_words = what_words(row.what)
        row.done = done_words(row, capacity)
        row.in_min_sip = bool(row.citizen_role)


def _rows_of(case, capacity, period: Period) -> QuerySet[AuditEvent]:
    return extract(case.person_id, period, case_id=None if covers_the_person(capacity) else case.pk)


# --- The pages ----------------------------------------------------------------------------------


@citizen_required
@require_GET
def log_extract(request, case_id: int):
    case, capacity = get_case_for_citizen(
        request.citizen, case_id, part="steer", what="log_extract"
    )
    form, period = _period(request)
    rows = _rows_of(case, capacity, period)
    shown, next_cursor = page(rows, period.after, size=PAGE_SIZE)
    _decorate(shown, capacity)
    return render(
        request,
        "mypages/log_extract/log_extract.html",
        {
            "case": case,
            "capacity": capacity,
            "whole_person": covers_the_person(capacity),
            "form": form,
            "period": period,
            "rows": shown,
            "summary": summarise(rows, capacity) if period.after is None else None,
            "next_query": period.query(after=next_cursor) if next_cursor else "",
            "first_query": period.query(),
            "print_query": period.query(),
            "first_page": period.after is None,
        },
        status=400 if form.errors else 200,
    )


@citizen_required
@require_GET
def log_extract_print(request, case_id: int):
    case, capacity = get_case_for_citizen(
        request.citizen, case_id, part="steer", what="log_extract"
    )
    form, period = _period(request)
    period.after = None
    rows = _rows_of(case, capacity, period)
    shown, more = page(rows, None, size=PRINT_LIMIT)
    _decorate(shown, capacity)
    audit_citizen(
        capacity,
        AuditEvent.Action.PRINT,
        "log_extract",
        case_id=case.pk,
        person_id=case.person_id,
        detail=period.describe(),
    )
    return render(
        request,
        "mypages/log_extract/print.html",
        {
            "case": case,
            "capacity": capacity,
            "whole_person": covers_the_person(capacity),
            "form": form,
            "period": period,
            "rows": shown,
            "summary": summarise(rows, capacity),
            "cut_short": more is not None,
            "print_limit": PRINT_LIMIT,
            "printed_at": timezone.now(),
            "screen_query": period.query(),
        },
        status=400 if form.errors else 200,
    )


urlpatterns = [
    path("sip/<id:case_id>/logg/", log_extract, name="log_extract"),
    path("sip/<id:case_id>/logg/utskrift/", log_extract_print, name="log_extract_print"),
]
