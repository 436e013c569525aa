"""Sending the reminders that are due (samplan/reminders/due.py), each exactly once.

`send_due_reminders` (the scheduler enqueues it every few minutes) records every new reminder in
SentReminder (unique on its key, inserted with conflicts ignored and marked with this run) and,
in the same transaction, queues its e-mails in the outbox (samplan.mail.outbox, unique on their
keys; the mail worker delivers and retries them) and makes a Notification for each staff member it
concerns. A second run, a restarted worker or a second worker at the same moment finds the key
taken and tells nobody; a crash before the commit leaves nothing recorded, so the next run sends
it. Read-only mode holds everything: nothing is recorded or sent until it is off.

Whom a reminder reaches: staff are those with an active working assignment (coordinator or
participant) at the unit. A unit is written to at its own address (a shared mailbox is what
municipal and regional units read) or, without one, at each such staff member's address; the
coordinator at their own address, or the coordinating unit's. Without a named coordinator, or
when theirs no longer works at the coordinating unit, its coordinators stand in. The bell does not
depend on any address: every staff member concerned gets a notification.

No e-mail names the person or says anything about their health or situation: staff read the
kind of reminder, the SIP number and a link to the SIP (where the usual access check applies);
the person and related parties only that something waits for them in Min SIP.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from samplan.directory.models import Assignment, Unit
from samplan.mail.outbox import queue_mail
from samplan.maintenance.mode import is_read_only

from .due import Reminder, due_reminders
from .models import Kind, Notification, SentReminder

logger = logging.getLogger(__name__)

BATCH = 500
WORKING_ROLES = (Assignment.Role.COORDINATOR, Assignment.Role.PARTICIPANT)


@task()
def send_due_reminders() -> int:
    """Send every reminder that is due and not sent before; the number sent."""
    return send_reminders()


def send_reminders(now: dt.datetime | None = None) -> int:
    if is_read_only():
        return 0
    now = now or timezone.now()
    reminders = due_reminders(now)
    known = _existing(reminders, SentReminder.objects.all())
    new = sorted((r for r in reminders if r.key not in known), key=lambda r: r.key)
    if not new:
        return 0
    run = uuid.uuid4().hex
    with transaction.atomic():
        SentReminder.objects.bulk_create(
            [SentReminder(key=r.key, kind=r.kind, case_id=r.case_id, run=run) for r in new],
            ignore_conflicts=True,
            batch_size=BATCH,
        )
        # The keys this run inserted; the others another run took first.
        won = _existing(new, SentReminder.objects.filter(run=run))
        mine = [r for r in new if r.key in won]
        audience = _Audience.of(mine, now)
        notifications = []
        for reminder in mine:
            _tell(reminder, audience, notifications, now)
        Notification.objects.bulk_create(notifications, ignore_conflicts=True, batch_size=BATCH)
    logger.info("reminders: %s sent", len(mine))
    return len(mine)


def _existing(reminders: list[Reminder], rows) -> set[str]:
    keys = [r.key for r in reminders]
    found: set[str] = set()
    for start in range(0, len(keys), BATCH):
        found |= set(rows.filter(key__in=keys[start : start + BATCH]).values_list("key", flat=True))
    return found


@dataclass
class _Audience:
    """The staff of every unit the reminders concern, read in two queries."""

    staff: dict[int, dict[int, str]] = field(default_factory=lambda: defaultdict(dict))
    coordinators: dict[int, dict[int, str]] = field(default_factory=lambda: defaultdict(dict))
    unit_addresses: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, reminders: list[Reminder], now) -> _Audience:
        units = {u for r in reminders for u in r.unit_ids}
        units |= {r.coordinating_unit_id for r in reminders if r.to_coordinator}
        audience = cls()
        if not units:
            return audience
        rows = (
            Assignment.objects.active(now)
            .filter(unit_id__in=units, role__in=WORKING_ROLES, user__is_active=True)
            # A system calling the API (samplan.api) has a unit's role but reads no bell.
            .filter(user__api_client__isnull=True)
            .values_list("unit_id", "user_id", "role", "user__email")
        )
        for unit_id, user_id, role, email in rows:
            audience.staff[unit_id][user_id] = email
            if role == Assignment.Role.COORDINATOR:
                audience.coordinators[unit_id][user_id] = email
        audience.unit_addresses = dict(
            Unit.objects.filter(pk__in=units).exclude(email="").values_list("pk", "email")
        )
        return audience

    def unit(self, unit_id: int) -> tuple[set[int], set[str]]:
        users = self.staff.get(unit_id, {})
        address = self.unit_addresses.get(unit_id)
        return set(users), {address} if address else {a for a in users.values() if a}

    def coordinator(self, reminder: Reminder) -> tuple[set[int], set[str]]:
        unit_id = reminder.coordinating_unit_id
        working = self.staff.get(unit_id, {})
        if reminder.coordinator_id in working:
            people = {reminder.coordinator_id: working[reminder.coordinator_id]}
        else:
            people = self.coordinators.get(unit_id, {})
        addresses = {a for a in people.values() if a}
        if not addresses and unit_id in self.unit_addresses:
            addresses = {self.unit_addresses[unit_id]}
        return set(people), addresses


def _tell(reminder: Reminder, audience: _Audience, notifications: list, now) -> None:
    users: set[int] = set()
    staff_addresses: set[str] = set()
    if reminder.to_coordinator:
        people, addresses = audience.coordinator(reminder)
        users |= people
        staff_addresses |= addresses
    for unit_id in reminder.unit_ids:
        people, addresses = audience.unit(unit_id)
        users |= people
        staff_addresses |= addresses
    for user_id in sorted(users):
        notifications.append(
            Notification(
                user_id=user_id,
                case_id=reminder.case_id,
                key=reminder.key,
                kind=reminder.kind,
                reference=reminder.reference,
                due_at=reminder.due_at,
                due_on=reminder.due_on,
                created_at=now,
            )
        )
    with translation.override(settings.LANGUAGE_CODE):
        subject, body = staff_mail(reminder)
        for address in sorted(staff_addresses):
            queue_mail(key=_mail_key(reminder, address), to=address, subject=subject, body=body)
        citizen_addresses = set(reminder.citizen_addresses) - staff_addresses
        if citizen_addresses:
            subject, body = citizen_mail(reminder)
            for address in sorted(citizen_addresses):
                queue_mail(key=_mail_key(reminder, address), to=address, subject=subject, body=body)


def _mail_key(reminder: Reminder, address: str) -> str:
    # The address is hashed so that the key (which the outbox shows) stays short and says nothing.
    digest = hashlib.sha256(address.strip().lower().encode()).hexdigest()[:16]
    return f"{reminder.key}:to:{digest}"


ANCHORS = {
    Kind.MEETING_SOON: "#meetings",
    Kind.INVITATION_UNANSWERED: "#meetings",
    Kind.FOLLOW_UP_DUE: "#uppfoljning",
    Kind.FOLLOW_UP_OVERDUE: "#uppfoljning",
    Kind.PLAN_APPROVAL: "#plan",
    Kind.MESSAGE_ACKNOWLEDGEMENT: "#meddelanden",
}


def case_path(case_id: int, kind: str) -> str:
    return reverse("workspace:case_detail", args=[case_id]) + ANCHORS.get(kind, "")


def staff_mail(reminder: Reminder) -> tuple[str, str]:
    """Subject and body for staff: the kind of reminder, the SIP number, a link. Nothing else."""
    what = str(Kind(reminder.kind).label)
    subject = _("Samplan reminder: %(what)s (%(reference)s)") % {
        "what": what,
        "reference": reminder.reference,
    }
    link = settings.SAMPLAN_BASE_URL + case_path(reminder.case_id, reminder.kind)
    body = "\n\n".join(
        [
            _("Reminder from Samplan: %(what)s.") % {"what": what},
            _("SIP: %(reference)s") % {"reference": reminder.reference},
            _("Open the SIP in Samplan (sign in first): %(link)s") % {"link": link},
            _("This message was sent automatically. Do not reply to it."),
        ]
    )
    return subject, body


def citizen_mail(reminder: Reminder) -> tuple[str, str]:
    """Subject and body for the person or a related party: something waits in Min SIP."""
    link = settings.SAMPLAN_BASE_URL + reverse("mypages:home")
    if reminder.kind == Kind.MEETING_SOON:
        lead = _("You are invited to a SIP meeting in two days.")
    else:
        lead = _("Something waits for you in Min SIP.")
    body = "\n\n".join(
        [
            lead,
            _("Sign in to Min SIP to read more: %(link)s") % {"link": link},
            _("This message was sent automatically. Do not reply to it."),
        ]
    )
    return _("Something waits for you in Min SIP"), body
