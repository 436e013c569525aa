"""Reminders (påminnelser), the bell's notifications (notiser) and the scheduler's slots.

Each row that makes something happen once is unique on what it is about, and inserted before
anything is told: a reminder (`SentReminder.key`), a scheduled run (`ScheduleSlot`: name and
slot), a notification (`Notification`: user and key). Two workers or two schedulers racing for
the same row: one inserts it, the other's insert is ignored, and only the one that inserted acts.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    """What a reminder (and its notification) is about. The label is what the bell and the
    e-mail say: never the person's name, never health or social data."""

    MEETING_SOON = "meeting_soon", _("A SIP meeting in two days")
    INVITATION_UNANSWERED = "invitation_unanswered", _("A meeting call is not answered")
    FOLLOW_UP_DUE = "follow_up_due", _("The follow-up of the plan is due soon")
    FOLLOW_UP_OVERDUE = "follow_up_overdue", _("The follow-up of the plan is overdue")
    DISCHARGE_DUE_SOON = (
        "discharge_due_soon",
        _("Discharge SIP: the meeting must be called within 24 hours"),
    )
    DISCHARGE_OVERDUE = "discharge_overdue", _("Discharge SIP: the meeting call is overdue")
    PLAN_APPROVAL = "plan_approval", _("A plan waits for the person's approval")
    MESSAGE_ACKNOWLEDGEMENT = (
        "message_acknowledgement",
        _("A message waits for your unit's acknowledgement"),
    )


class SentReminder(models.Model):
    """That a reminder was sent: one row per key (`reminder:<kind>:<object>:<slot>`), written in
    the same transaction as its e-mails and notifications, before them. `run` names the run that
    inserted it, so a run knows which of its inserts won against a concurrent one."""

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    case = models.ForeignKey("cases.SipCase", on_delete=models.CASCADE, related_name="+")
    run = models.CharField(max_length=32, db_index=True)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("sent reminder")
        verbose_name_plural = _("sent reminders")

    def __str__(self) -> str:
        return self.key


class Notification(models.Model):
    """Notis: one reminder for one staff member, shown under the bell. It names the SIP by its
    number and what is due, never the person, so showing it reads no personal data."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    case = models.ForeignKey("cases.SipCase", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    reference = models.CharField(max_length=40)  # the SIP number, e.g. SIP-2026-000123
    # What is due when: the meeting's start or a deadline (due_at), or a follow-up date (due_on).
    due_at = models.DateTimeField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="notification_once_per_user"),
        ]
        indexes = [
            # The bell on every staff page: the unread count of one user.
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notice_unread"),
            # The list, newest first, a page at a time.
            models.Index(fields=["user", "-id"], name="notice_newest_first"),
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.user_id}"


class ScheduleSlot(models.Model):
    """That the scheduler enqueued the task `name` for the slot starting at `slot`: inserted
    before enqueueing, in the same transaction, so a slot runs once however many schedulers."""

    name = models.CharField(max_length=100)
    slot = models.DateTimeField()
    task = models.CharField(max_length=200)
    enqueued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("scheduled run")
        verbose_name_plural = _("scheduled runs")
        constraints = [
            models.UniqueConstraint(fields=["name", "slot"], name="schedule_slot_once"),
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.slot:%Y-%m-%d %H:%M}"
