"""Att göra: the start page. What needs action now, in sections, each item with its deadline and
sorted by it, "due soon" and "overdue" written out.

Two views of the same sections:
  * "mine" (default for staff with a working role): the SIPs I coordinate, or, where nobody is
    named, those my coordinating units coordinate; plus the invitations and messages of my units;
  * "unit": every SIP my units take part in. A unit administrator sees this view of the unit
    where they hold that role (access/services.SEEING_ROLES lets the role see, never act).
Staff without any such assignment (a security officer, someone whose assignment ended) get a
page that says what they can do instead of an empty list.

Sections: discharge SIPs (lag 2017:612, hours left; only there, whatever their step), information
and consent to record (a SIP the person or a relative asked for in Min SIP shows here, said so,
with its deadline running), meetings to prepare and call (so that a late meeting call always
shows), meeting calls my units must answer, meetings this week, plans waiting for the person's
approval (or for a new proposal, once the person asked for changes), follow-ups due within a week
or overdue, unread messages, and "From the person": what the person, or one acting for them, did
in Min SIP in the last FROM_PERSON_DAYS days, newest first (in "my work" for the SIPs I
coordinate and those my coordinating units coordinate with nobody named; in "my unit's work" for
every SIP my units coordinate). Each section shows the first SAMPLAN_START_SECTION_SIZE items,
most urgent (or newest) first, and says when there are more.

Below the sections, "Stopped in Min SIP": a SIP one of my units took part in, whose consent the
person (or one acting for them) revoked in Min SIP, in full or for some organisations, or which
they ended there, in the last FROM_PERSON_DAYS days, and which I can no longer see. Min SIP tells
the person that the units taking part are told; the coordinating unit keeps the SIP and reads it
under "From the person", the others read it here, minimally: the SIP's reference, what happened
and when, never the person's name nor a link into a SIP they may not open.

Every section is one query however many SIPs there are, and every SIP shown is a logged read
(one row per SIP however many sections show it), written in one bulk insert; a stopped SIP is a
logged read too ("start_page_notice", with the unit that took part), in a second insert.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from samplan.access.citizen import role_words
from samplan.access.services import (
    SEEING_ROLES,
    active_unit_ids,
    cases_visible_to,
    log_list_reads,
)
from samplan.cases.deadlines import (
    CALL_STATES,
    NextStep,
    next_step_of,
    urgency,
    with_next_step_data,
)
from samplan.cases.models import (
    EVENT_LABELS,
    CaseEvent,
    CaseMessage,
    Invitation,
    Meeting,
    Participant,
    PlanVersion,
    SipCase,
    State,
    unread_message_count,
)
from samplan.directory.models import Assignment, Unit
from samplan.documents.contingency import pack_units

# Follow-ups show from a week before their date, so there is time to call the meeting.
FOLLOW_UP_AHEAD = dt.timedelta(days=7)
# "Meetings this week": today and the six days after it, so on a Friday next Monday shows.
MEETINGS_AHEAD = dt.timedelta(days=7)
# "From the person": what was done in Min SIP this long ago is still news.
FROM_PERSON_DAYS = 30

MINE, UNIT = "mine", "unit"


@dataclass
class Item:
    """One thing to do: the SIP it concerns, what to do and by when."""

    case: SipCase
    step: NextStep
    detail: str = ""  # e.g. where the meeting is
    since: dt.datetime | None = None  # for items without a deadline: waiting since
    anchor: str = ""  # the section of the case page to open
    needs_action: bool = False  # said in words beside the item

    @property
    def url(self) -> str:
        return reverse("workspace:case_detail", args=[self.case.pk]) + self.anchor


@dataclass
class Section:
    key: str
    title: str
    deadline_heading: str
    empty: str
    items: list[Item] = field(default_factory=list)
    more: bool = False
    action_heading: str = ""  # the "To do" column's heading when the items are not tasks


@dataclass
class Scope:
    """Whose work the page shows."""

    view: str
    working_units: list[int]
    units: list[int]  # the units whose SIPs the "unit" view covers
    coordinating_units: list[int]


@login_required
def start(request):
    user = request.user
    seeing_units = active_unit_ids(user, SEEING_ROLES)
    if not seeing_units:
        return _no_work(request)
    working_units = active_unit_ids(user)
    scope = _scope(request, user, working_units, seeing_units)
    now = timezone.now()
    visible = cases_visible_to(user)
    size = settings.SAMPLAN_START_SECTION_SIZE
    open_cases = visible.exclude(state=State.CLOSED)

    if scope.view == MINE:
        scoped_q = Q(coordinator=user) | Q(
            coordinator__isnull=True, coordinating_unit_id__in=scope.coordinating_units
        )
        invited_units = scope.working_units
        messages_q = Q(_takes_part(scope.working_units))
        coordinated_q = scoped_q
    else:
        scoped_q = Q(_takes_part(scope.units))
        invited_units = scope.units
        messages_q = scoped_q
        coordinated_q = Q(coordinating_unit_id__in=scope.units)
    # Sections read their most urgent rows through indexes on their own conditions (whose SIP,
    # which state, which date) and check visibility only for the rows they show: applying the
    # rule first would test every SIP of the user's units in every section.
    in_scope = SipCase.objects.exclude(state=State.CLOSED).filter(scoped_q)
    in_scope_pks = in_scope.values("pk")

    sections = [
        _case_section(
            "discharge",
            _("SIPs after hospital discharge (lag 2017:612)"),
            _("Meeting to be called by"),
            _("No discharge SIP waits for a meeting call."),
            in_scope.filter(kind=SipCase.Kind.DISCHARGE, state__in=CALL_STATES),
            visible,
            size,
            now,
        ),
        _case_section(
            "consent",
            _("Information and consent to record"),
            _("Meeting to be called by"),
            _("No SIP waits for information or consent."),
            in_scope.filter(
                kind=SipCase.Kind.STANDARD, state__in=[State.INITIATED, State.INFORMED]
            ),
            visible,
            size,
            now,
        ),
        _case_section(
            "call",
            _("Meetings to prepare and call"),
            _("Meeting to be called by"),
            _("No SIP waits for its meeting to be called."),
            in_scope.filter(
                kind=SipCase.Kind.STANDARD, state__in=[State.CONSENTED, State.PREPARATION]
            ),
            visible,
            size,
            now,
        ),
        _invitations(invited_units, visible, size, now),
        _meetings(in_scope_pks, visible, invited_units, size, now),
        _plans_for_approval(in_scope_pks, visible, size, now),
        _follow_ups(in_scope_pks, visible, size, now),
        _messages(user, open_cases.filter(messages_q), size, now),
    ]
    # Second, after the discharge SIPs: the person's answers are what the coordinator waits
    # for. Closed SIPs too: "the person ended the SIP" is news for the unit that keeps it.
    sections.insert(
        1, _from_person(SipCase.objects.filter(coordinated_q).values("pk"), visible, size, now)
    )
    stopped, more_stopped = _stopped(invited_units, visible, size, now)
    _log_reads(user, seeing_units, sections)
    _log_notices(user, stopped)
    units = Unit.objects.filter(pk__in=seeing_units).select_related("organisation")
    return render(
        request,
        "workspace/start/start.html",
        {
            "sections": sections,
            "scope": scope,
            "may_view_mine": bool(working_units),
            "my_units": units,
            "administered": set(active_unit_ids(user, (Assignment.Role.UNIT_ADMINISTRATOR,))),
            "total": sum(len(section.items) for section in sections),
            "stopped": stopped,
            "more_stopped": more_stopped,
            "stopped_days": FROM_PERSON_DAYS,
            "may_handle_packs": bool(pack_units(user)),
        },
    )


def _scope(request, user, working_units, seeing_units) -> Scope:
    view = request.GET.get("view")
    if view not in (MINE, UNIT) or (view == MINE and not working_units):
        view = MINE if working_units else UNIT
    units = seeing_units
    chosen = request.GET.get("unit", "")
    if view == UNIT and chosen.isdigit() and int(chosen) in seeing_units:
        units = [int(chosen)]
    return Scope(
        view,
        working_units,
        units,
        active_unit_ids(user, (Assignment.Role.COORDINATOR,)),
    )


def _takes_part(units):
    return Exists(
        Participant.objects.filter(case=OuterRef("pk"), unit_id__in=units, removed_at__isnull=True)
    )


def _step(case: SipCase, action, label, deadline, now) -> NextStep:
    due = urgency(deadline, discharge=case.kind == SipCase.Kind.DISCHARGE, now=now)
    return NextStep(case.state, action, label, deadline, due.overdue, due.due_soon, due.hours_left)


def _limited(queryset, size: int) -> tuple[list, bool]:
    rows = list(queryset[: size + 1])
    return rows[:size], len(rows) > size


def _first_visible(rows, case_id_of, visible, size: int, *, hidden=False) -> tuple[list, bool]:
    """The first `size` of `rows` (in their order) whose SIP the user may see (with `hidden`:
    may not see), and whether there are more. Rows come a batch at a time and the visibility
    rule is tested for that batch's SIPs only; almost always one batch does."""
    found: list = []
    batch = size * 3
    offset = 0
    while len(found) <= size:
        chunk = list(rows[offset : offset + batch])
        if not chunk:
            break
        seen = set(
            visible.filter(pk__in={case_id_of(row) for row in chunk}).values_list("pk", flat=True)
        )
        found += [row for row in chunk if (case_id_of(row) in seen) != hidden]
        if len(chunk) < batch:
            break
        offset += batch
    return found[:size], len(found) > size


def _case_section(key, title, deadline_heading, empty, cases, visible, size, now) -> Section:
    cases = with_next_step_data(cases.select_related("person")).order_by("call_deadline", "pk")
    rows, more = _first_visible(cases, lambda case: case.pk, visible, size)
    items = [Item(case, next_step_of(case, now), detail=_asked_by(case)) for case in rows]
    return Section(key, title, deadline_heading, empty, items, more)


def _asked_by(case: SipCase) -> str:
    """Who asked for a SIP when it was not staff: the initiative came from Min SIP."""
    if case.initiated_by == SipCase.InitiatedBy.PERSON:
        return str(_("The person asked for this SIP in Min SIP"))
    if case.initiated_by == SipCase.InitiatedBy.RELATIVE:
        return str(_("A relative asked for this SIP in Min SIP"))
    return ""


def _invitations(units, visible, size, now) -> Section:
    invitations = (
        Invitation.objects.filter(
            unit_id__in=units,
            answer=Invitation.Answer.NO_ANSWER,
            meeting__cancelled_at__isnull=True,
            meeting__starts_at__gt=now,
        )
        .exclude(meeting__case__state=State.CLOSED)
        .select_related("unit", "meeting__case__person")
        .order_by("meeting__starts_at", "pk")
    )
    rows, more = _first_visible(invitations, lambda row: row.meeting.case_id, visible, size)
    items = []
    for invitation in rows:
        meeting, case = invitation.meeting, invitation.meeting.case
        action = _("Answer the meeting call for %(unit)s") % {"unit": invitation.unit.name}
        items.append(
            Item(
                case, _step(case, action, _("Meeting"), meeting.starts_at, now), anchor="#meetings"
            )
        )
    return Section(
        "invitations",
        _("Meeting calls your units must answer"),
        _("Meeting"),
        _("No meeting call waits for your units' answer."),
        items,
        more,
    )


def _meetings(in_scope_pks, visible, invited_units, size, now) -> Section:
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    meetings = Meeting.objects.filter(
        cancelled_at__isnull=True,
        starts_at__gte=today,
        starts_at__lt=today + MEETINGS_AHEAD,
    ).exclude(case__state=State.CLOSED)
    invited = Exists(Invitation.objects.filter(meeting=OuterRef("pk"), unit_id__in=invited_units))
    meetings = (
        meetings.filter(Q(case__in=in_scope_pks) | Q(invited))
        .select_related("case__person")
        .order_by("starts_at", "pk")
    )
    rows, more = _first_visible(meetings, lambda meeting: meeting.case_id, visible, size)
    items = []
    for meeting in rows:
        case = meeting.case
        step = _step(case, meeting.get_kind_display(), _("Starts"), meeting.starts_at, now)
        items.append(
            Item(case, step, detail=meeting.place or _("video meeting"), anchor="#meetings")
        )
    return Section(
        "meetings",
        _("Meetings this week"),
        _("Starts"),
        _("No meeting in the coming seven days."),
        items,
        more,
    )


def _plans_for_approval(in_scope_pks, visible, size, now) -> Section:
    """Drafts put before the person, and drafts the person asked to change in Min SIP (which
    withdraws the proposal): those wait for the coordinator, until the draft is proposed again."""
    plans = (
        PlanVersion.objects.filter(
            Q(proposed_at__isnull=False) | Q(change_requested_at__isnull=False),
            status=PlanVersion.Status.DRAFT,
            case__in=in_scope_pks,
        )
        .exclude(case__state=State.CLOSED)
        .select_related("case__person")
        .annotate(waiting_since=Coalesce("proposed_at", "change_requested_at"))
        .order_by("waiting_since", "pk")
    )
    rows, more = _first_visible(plans, lambda plan: plan.case_id, visible, size)
    items = []
    for plan in rows:
        asked_for_changes = plan.proposed_at is None
        if asked_for_changes:
            action = _(
                "The person asked for changes to plan version %(number)s: revise and propose it "
                "again"
            ) % {"number": plan.number}
        else:
            action = _("Record the person's approval of plan version %(number)s") % {
                "number": plan.number
            }
        items.append(
            Item(
                plan.case,
                _step(plan.case, action, "", None, now),
                since=plan.waiting_since,
                anchor="#plan",
                needs_action=asked_for_changes,
            )
        )
    return Section(
        "approval",
        _("Plans waiting for the person's approval"),
        _("Proposed"),
        _("No plan waits for the person's approval."),
        items,
        more,
    )


def _follow_ups(in_scope_pks, visible, size, now) -> Section:
    horizon = timezone.localdate(now) + FOLLOW_UP_AHEAD
    plans = (
        PlanVersion.objects.filter(
            status=PlanVersion.Status.VALID,
            follow_up_on__lte=horizon,
            case__state=State.PLAN_ESTABLISHED,
            case__in=in_scope_pks,
        )
        .select_related("case__person")
        .order_by("follow_up_on", "pk")
    )
    rows, more = _first_visible(plans, lambda plan: plan.case_id, visible, size)
    items = [
        Item(
            plan.case,
            _step(plan.case, _("Call the follow-up"), _("Follow-up due"), plan.follow_up_on, now),
            anchor="#uppfoljning",
        )
        for plan in rows
    ]
    return Section(
        "follow_ups",
        _("Follow-ups due or overdue"),
        _("Follow-up due"),
        _("No follow-up is due in the coming week."),
        items,
        more,
    )


def _messages(user, cases, size, now) -> Section:
    oldest_unread = (
        CaseMessage.objects.unread_by(user)
        .filter(case=OuterRef("pk"))
        .order_by("sent_at")
        .values("sent_at")[:1]
    )
    cases = (
        cases.annotate(unread=unread_message_count(user), waiting_since=Subquery(oldest_unread))
        .filter(unread__gt=0)
        .select_related("person")
        .order_by("waiting_since", "pk")
    )
    rows, more = _limited(cases, size)
    items = []
    for case in rows:
        action = ngettext("%(count)s unread message", "%(count)s unread messages", case.unread) % {
            "count": case.unread
        }
        step = _step(case, action, "", None, now)
        items.append(Item(case, step, since=case.waiting_since, anchor="#meddelanden"))
    return Section(
        "messages",
        _("Unread messages"),
        _("Waiting since"),
        _("No unread messages."),
        items,
        more,
    )


# Where on the case page each step taken in Min SIP shows.
_FROM_PERSON_ANCHORS = {
    "approve_plan": "#plan",
    "request_plan_change": "#plan",
    "revoke_consent": "#consent",
    "revoke_consent_in_part": "#consent",
    "update_preferences": "#preparation",
    "rate_goals": "#uppfoljning",
}
# Steps taken in Min SIP that wait for the coordinator.
_FROM_PERSON_NEEDS_ACTION = {"request_plan_change"}


def _from_person(coordinated_pks, visible, size, now) -> Section:
    """What the person, or one acting for them, did in Min SIP lately, newest first: the
    answers the coordinator is waiting for. Read through the partial index of such events."""
    events = (
        CaseEvent.objects.exclude(citizen_role="")
        .filter(at__gte=now - dt.timedelta(days=FROM_PERSON_DAYS), case__in=coordinated_pks)
        .select_related("case__person")
        .order_by("-at", "-pk")
    )
    rows, more = _first_visible(events, lambda event: event.case_id, visible, size)
    items = []
    for event in rows:
        needs_action = event.action in _FROM_PERSON_NEEDS_ACTION
        items.append(
            Item(
                event.case,
                _step(event.case, str(EVENT_LABELS.get(event.action, event.action)), "", None, now),
                detail=_("By %(who)s") % {"who": role_words(event.citizen_role)},
                since=event.at,
                anchor=_FROM_PERSON_ANCHORS.get(event.action, "#tidslinje"),
                needs_action=needs_action,
            )
        )
    return Section(
        "from_person",
        _("From the person"),
        _("When"),
        _("Nothing new from the persons in Min SIP in the last %(days)s days.")
        % {"days": FROM_PERSON_DAYS},
        items,
        more,
        action_heading=_("What happened"),
    )


# What a unit that can no longer see the SIP is told of a step taken in Min SIP.
_STOPPED_WORDS = {
    "revoke_consent": _("All consent was revoked in Min SIP. The SIP has ended."),
    "revoke_consent_in_part": _(
        "The consent was revoked in Min SIP for one or more organisations. Your units can no "
        "longer see the SIP."
    ),
    "end_sip": _("The person ended the SIP in Min SIP."),
}


@dataclass
class Notice:
    """A SIP stopped in Min SIP that the user's unit took part in and can no longer see: only
    its reference, what happened and when (no name, no link)."""

    case_id: int
    person_id: int
    reference: str
    what: str
    at: dt.datetime
    unit_id: int  # the user's unit that took part (the log's unit)


def _stopped(units, visible, size, now) -> tuple[list[Notice], bool]:
    """Revocations and endings taken in Min SIP in the last FROM_PERSON_DAYS days, newest first,
    of SIPs one of `units` took part in when it happened and the user can no longer see. One
    query through the partial index of steps taken in Min SIP, and one visibility test."""
    took_part = (
        Participant.objects.filter(case=OuterRef("case_id"), unit_id__in=units)
        .filter(Q(removed_at__isnull=True) | Q(removed_at__gte=OuterRef("at")))
        .order_by("role", "unit_id")
        .values("unit_id")[:1]
    )
    events = (
        CaseEvent.objects.exclude(citizen_role="")
        .filter(action__in=list(_STOPPED_WORDS), at__gte=now - dt.timedelta(days=FROM_PERSON_DAYS))
        .annotate(told_unit=Subquery(took_part))
        .filter(told_unit__isnull=False)
        .select_related("case")
        .order_by("-at", "-pk")
    )
    rows, more = _first_visible(events, lambda event: event.case_id, visible, size, hidden=True)
    notices = [
        Notice(
            event.case_id,
            event.case.person_id,
            event.case.reference,
            str(_STOPPED_WORDS[event.action]),
            event.at,
            event.told_unit,
        )
        for event in rows
    ]
    return notices, more


def _log_notices(user, notices: list[Notice]) -> None:
    """A stopped SIP shown is a read of the fact that it stopped (the person's log extract says
    which units were told), one row per SIP, with the unit that took part."""
    shown = {notice.case_id: notice for notice in reversed(notices)}
    if not shown:
        return
    log_list_reads(
        user,
        [
            SimpleNamespace(pk=pk, person_id=notice.person_id, acting_unit_id=notice.unit_id)
            for pk, notice in shown.items()
        ],
        what="start_page_notice",
    )


def _log_reads(user, seeing_units, sections: list[Section]) -> None:
    """One read row per SIP shown, whichever sections show it, in one insert, each with the
    user's unit through which they see it (the coordinating unit first, as cases_visible_to
    annotates it). Every SIP shown passed the visibility rule in its section's query."""
    shown = {item.case.pk: item.case for section in sections for item in section.items}
    if not shown:
        return
    acting: dict[int, int] = {}
    for case_id, unit_id in (
        Participant.objects.filter(case_id__in=shown, unit_id__in=seeing_units)
        .order_by("role", "unit_id")
        .values_list("case_id", "unit_id")
    ):
        acting.setdefault(case_id, unit_id)
    log_list_reads(
        user,
        [
            SimpleNamespace(pk=pk, person_id=case.person_id, acting_unit_id=acting.get(pk))
            for pk, case in shown.items()
        ],
        what="start_page",
    )


def _no_work(request):
    """For staff without a role that sees SIPs: what they can do instead."""
    user = request.user
    officer_units = Unit.objects.filter(
        pk__in=active_unit_ids(user, (Assignment.Role.SECURITY_OFFICER,))
    ).select_related("organisation")
    return render(request, "workspace/start/no_work.html", {"officer_units": officer_units})


urlpatterns = [path("start/", start, name="start")]
