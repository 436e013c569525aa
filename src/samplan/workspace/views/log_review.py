"""Loggkontroll: the security officer searches the audit log, looks at the flags PDL asks for,
exports a search as CSV and records that a review was done (access/review.py has the queries).

Only an active security-officer assignment opens these pages; anyone else (coordinators, unit
administrators, a superuser without the role) gets 403 and a refused row in the log.

Every page view is one READ row naming the search in `detail` (keys only: person #id, never an
identity number) and the person's id when a person was searched, so the officer's own review is
in the log and can be repeated. The rows a page shows are not logged one by one: they are the
log, not the record, and a read row per row shown would bury the log in its own review.

The identity number travels only in POST bodies (the search form, the export, the reason page),
never in an address: pages go on with "Next page" buttons that post the form again.
"""

from __future__ import annotations

import csv
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from samplan.access.models import AuditEvent, LogReview
from samplan.access.review import (
    Flag,
    Officer,
    attach_emergency_reasons,
    attach_review_checks,
    bound_to_flag_period,
    contains_protected,
    events,
    flag_period,
    flag_summary,
    hide_foreign_persons,
    officer_of,
    page,
    review_fingerprint,
)
from samplan.access.services import audit
from samplan.directory.models import Organisation
from samplan.hardening import search_refusal

from ..forms.log_review import ExportForm, LogReviewForm, LogSearchForm
from ..forms.search import cursor_after

# An export is a bounded piece of the log; a longer one is cut, and its last line says so.
EXPORT_MAX_ROWS = 100_000
PREFILL_SALT = "samplan.log_review.prefill"
PREFILL_MAX_AGE = 24 * 60 * 60
# What the address may carry: everything of a search but the identity number.
ADDRESS_FIELDS = (
    "username",
    "unit",
    "date_from",
    "date_to",
    "action",
    "outcome",
    "flag",
    "threshold",
)


def _officer(request, action: str, what: str) -> Officer:
    officer = officer_of(request.user)
    if officer is None:
        audit(request.user, action, what, outcome=AuditEvent.Outcome.REFUSED)
        raise PermissionDenied(_("Only security officers may review the audit log."))
    return officer


def _lookup(request, form) -> None:
    """The lookup by identity number, in a row of its own (`person_lookup`, which the search
    rate limit counts) naming the person the number names, theirs or not: the organisations
    holding the person see in their own review that this officer looked them up. The officer's
    review shows the row without the person when the person is not theirs."""
    if not form.data.get("identity", "").strip():
        return
    person = form.looked_up()
    audit(
        request.user,
        AuditEvent.Action.READ,
        "person_lookup",
        person_id=person.pk if person is not None else None,
        detail="log review",
    )


def _lookup_refusal(request):
    """The identity search is rate-limited like the SIP search: a number at a time, not a
    register walked through."""
    if request.method == "POST" and request.POST.get("identity", "").strip():
        return search_refusal(request, "log_review_lookup")
    return None


def _search_data(request):
    if request.method == "POST":
        return request.POST
    data = request.GET.copy()
    data.pop("identity", None)  # never from the address; see the module docstring
    return data


@sensitive_post_parameters("identity", "reason")
@login_required
@require_http_methods(["GET", "POST"])
def review(request):
    officer = _officer(request, AuditEvent.Action.READ, "audit_log")
    if refusal := _lookup_refusal(request):
        return refusal
    units = list(officer.units())
    form = LogSearchForm(_search_data(request), units=units)
    context = {"form": form, "rows": [], "next_cursor": "", "summary": None, "first_page": True}
    if not form.is_valid():
        _lookup(request, form)
        audit(request.user, AuditEvent.Action.READ, "audit_log", detail="search not valid")
        return render(request, "workspace/log_review/review.html", context, status=400)
    filters = form.filters(officer)
    bound_to_flag_period(filters)
    after = form.cleaned_data["after"]
    # The summary aggregates the whole flag period (up to a second at 5 000 000 rows), so it is
    # computed when asked for or when the flag needs the users it names, not on every page.
    summary = None
    if form.cleaned_data["summary"] or filters.flag in (Flag.MANY_PERSONS, Flag.REFUSAL_BURSTS):
        summary = flag_summary(officer, filters)
        filters.flagged_users = summary.users(filters.flag)
    rows, next_after = page(events(officer, filters), after)
    attach_emergency_reasons(rows)
    hide_foreign_persons(officer, rows)
    detail = filters.describe()
    if after:
        detail = f"{detail}; page after {cursor_after(*after)}"
    # After the listing, like the page's own row: a search does not list itself.
    _lookup(request, form)
    audit(
        request.user,
        AuditEvent.Action.READ,
        "audit_log",
        person_id=filters.person.pk if filters.person else None,
        detail=detail[:300],
    )
    context.update(
        rows=rows,
        next_cursor=cursor_after(*next_after) if next_after else "",
        first_page=after is None,
        summary=summary if after is None else None,
        links=_summary_links(form, summary, linked=not filters.person) if summary else None,
        searched_person=filters.person,
        prefill=_prefill_token(filters),
    )
    return render(request, "workspace/log_review/review.html", context)


def _address_query(form, **changes) -> str:
    data = {name: form.data.get(name, "") for name in ADDRESS_FIELDS}
    data.update(changes)
    query = urlencode({key: value for key, value in data.items() if value})
    return f"{reverse('workspace:audit_log')}?{query}"


def _summary_links(form, summary, linked: bool) -> dict:
    """GET links from the summary to the rows behind each number. A searched person cannot go
    into an address, so a person's summary has numbers but no links."""

    def link(**changes):
        return _address_query(form, **changes) if linked else ""

    period = {"date_from": summary.first_day.isoformat(), "date_to": summary.last_day.isoformat()}
    links = {name: link(flag=name, **period) for name in Flag.ALL}
    links["days"] = [
        (
            entry,
            link(
                username=entry.username,
                date_from=entry.day.isoformat(),
                date_to=entry.day.isoformat(),
                action=AuditEvent.Action.READ,
                flag="",
            ),
        )
        for entry in summary.many_persons
    ]
    links["bursts"] = [
        (
            burst,
            link(username=burst.username, outcome=AuditEvent.Outcome.REFUSED, flag="", **period),
        )
        for burst in summary.bursts
    ]
    return links


def _prefill_token(filters) -> str:
    first, last = (
        (filters.date_from, filters.date_to)
        if filters.date_from and filters.date_to
        else flag_period(filters)
    )
    return signing.dumps(
        {"from": first.isoformat(), "to": last.isoformat(), "scope": filters.describe()},
        salt=PREFILL_SALT,
    )


# --- Export -----------------------------------------------------------------------------------


class _Echo:
    """csv.writer writes into this and gets the line back, so rows stream one by one."""

    def write(self, value):
        return value


def _cell(value) -> str:
    """A text cell a spreadsheet will not run as a formula (OWASP: CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


CSV_HEADER = (
    "time",
    "user",
    "unit",
    "organisation",
    "action",
    "outcome",
    "what",
    "person",
    "identity_number",
    "protection",
    "case",
    "address",
    "emergency",
    "subject",
    "detail",
)


def _without_foreign_persons(officer, rows, chunk: int = 2000):
    """The rows in chunks, each marked by hide_foreign_persons (one query a chunk)."""
    batch = []
    for event in rows:
        batch.append(event)
        if len(batch) == chunk:
            hide_foreign_persons(officer, batch)
            yield from batch
            batch = []
    hide_foreign_persons(officer, batch)
    yield from batch


def _csv_lines(rows, limit: int):
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(CSV_HEADER)  # the BOM tells spreadsheets it is UTF-8
    for number, event in enumerate(rows):
        if number == limit:
            yield writer.writerow([f"# cut at {limit} rows: narrow the search for the rest"])
            return
        person = None if event.person_hidden else event.person
        yield writer.writerow(
            [
                timezone.localtime(event.at).isoformat(timespec="seconds"),
                _cell(event.username),
                _cell(event.unit_name),
                _cell(event.organisation_name),
                event.action,
                event.outcome,
                _cell(event.what),
                _cell(person.full_name if person else ""),
                _cell(person.identity_number if person else ""),
                person.protection if person else "",
                event.case_id or "",
                event.ip_address or "",
                "yes" if event.emergency else "",
                _cell(event.subject_username),
                _cell(event.detail),
            ]
        )


@sensitive_post_parameters("identity", "reason")
@login_required
@require_POST
def export(request):
    officer = _officer(request, AuditEvent.Action.EXPORT, "audit_log")
    if refusal := _lookup_refusal(request):
        return refusal
    form = ExportForm(request.POST, units=list(officer.units()))
    valid = form.is_valid()
    _lookup(request, form)
    if not valid:
        # Nothing left Samplan: a read, not an export.
        audit(request.user, AuditEvent.Action.READ, "audit_log", detail="export not valid")
        if set(form.errors) <= {"reason"}:
            return _reason_page(request, form, status=400)
        # The search itself is wrong: show it where it was typed.
        context = {"form": form, "rows": [], "next_cursor": "", "first_page": True}
        return render(request, "workspace/log_review/review.html", context, status=400)
    filters = form.filters(officer)
    bound_to_flag_period(filters)
    if filters.flag in (Flag.MANY_PERSONS, Flag.REFUSAL_BURSTS):
        filters.flagged_users = flag_summary(officer, filters).users(filters.flag)
    rows = events(officer, filters)
    reason = form.cleaned_data["reason"]
    if not reason and contains_protected(rows, EXPORT_MAX_ROWS):
        return _reason_page(request, form)
    detail = filters.describe()
    if reason:
        detail = f"{detail[:140]}; reason: {reason}"
    audit(
        request.user,
        AuditEvent.Action.EXPORT,
        "audit_log",
        person_id=filters.person.pk if filters.person else None,
        detail=detail[:300],
    )
    stream = rows.select_related("person")[: EXPORT_MAX_ROWS + 1].iterator(chunk_size=2000)
    response = StreamingHttpResponse(
        _csv_lines(_without_foreign_persons(officer, stream), EXPORT_MAX_ROWS),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="samplan-audit-log-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _reason_page(request, form, status: int = 200):
    """Ask why before exporting rows about persons with protected personal data. The search
    rides along in hidden fields (a POST body, never the address)."""
    hidden = [
        (name, form.data.get(name, ""))
        for name in LogSearchForm.base_fields
        if name != "after" and form.data.get(name)
    ]
    return render(
        request,
        "workspace/log_review/export_reason.html",
        {"form": form, "hidden": hidden},
        status=status,
    )


# --- The record of a review -------------------------------------------------------------------


@sensitive_post_parameters("conclusion")
@login_required
@require_http_methods(["GET", "POST"])
def record_review(request):
    action = AuditEvent.Action.CREATE if request.method == "POST" else AuditEvent.Action.READ
    officer = _officer(request, action, "log_review")
    organisations = list(
        Organisation.objects.filter(pk__in=officer.organisation_ids).order_by("name")
    )
    if request.method == "POST":
        form = LogReviewForm(request.POST, organisations=organisations)
        if form.is_valid():
            with transaction.atomic():
                record = form.save(commit=False)
                record.reviewer = request.user
                record.save()
                # The fingerprint before the scope, which the 300 characters may cut.
                audit(
                    request.user,
                    AuditEvent.Action.CREATE,
                    "log_review",
                    detail=(
                        f"review #{record.pk} {record.period_start}–{record.period_end}; "
                        f"organisation #{record.organisation_id}; "
                        f"hmac {review_fingerprint(record)}; {record.scope}"
                    )[:300],
                )
            messages.success(request, _("The review is recorded."))
            return redirect("workspace:log_reviews")
        status = 400
    else:
        form = LogReviewForm(
            initial=_prefill(request.GET.get("prefill", "")), organisations=organisations
        )
        status = 200
    return render(request, "workspace/log_review/record.html", {"form": form}, status=status)


def _prefill(token: str) -> dict:
    try:
        data = signing.loads(token, salt=PREFILL_SALT, max_age=PREFILL_MAX_AGE)
    except signing.BadSignature:
        return {}
    return {"period_start": data["from"], "period_end": data["to"], "scope": data["scope"]}


@login_required
def reviews(request):
    """Earlier reviews of the officer's organisations, by any of their security officers, each
    checked against the fingerprint its CREATE row holds."""
    officer = _officer(request, AuditEvent.Action.READ, "log_review")
    records = list(
        LogReview.objects.filter(organisation_id__in=officer.organisation_ids)
        .select_related("reviewer", "organisation")
        .order_by("-reviewed_at")[:100]
    )
    attach_review_checks(records)
    audit(request.user, AuditEvent.Action.READ, "log_review", detail="list of reviews")
    return render(
        request,
        "workspace/log_review/reviews.html",
        {
            "records": records,
            "several": len(officer.organisation_ids) > 1,
            "new_url": reverse("workspace:log_review_new"),
        },
    )


urlpatterns = [
    path("logg/", review, name="audit_log"),
    path("logg/export/", export, name="audit_log_export"),
    path("logg/granskningar/", reviews, name="log_reviews"),
    path("logg/granskningar/ny/", record_review, name="log_review_new"),
]
