"""The audit log (loggning): append-only, one row for every read and write of personal data.

Patientdatalagen 4 kap. and HSLF-FS 2016:40 4 kap. 9 a §: each entry shows the action, the unit,
the time, the user and the person. Refusals are logged too. Rows are never updated or deleted:
the model refuses it and a database trigger (see the migration) refuses it beneath the ORM.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from samplan.errors import DomainError


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise append_only_error()

    def delete(self):
        raise append_only_error()


def append_only_error() -> DomainError:
    return DomainError(
        "Loggen går bara att lägga till i; inget ändras eller tas bort.",
        "The audit log is append-only; nothing is changed or removed.",
        code="append_only",
    )


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        READ = "read", _("Read")
        CREATE = "create", _("Created")
        CHANGE = "change", _("Changed")
        DISCLOSE = "disclose", _("Disclosed")
        COPY = "copy", _("Copied")
        PRINT = "print", _("Printed")
        EXPORT = "export", _("Exported")
        SIGN_IN = "sign_in", _("Signed in")
        SIGN_OUT = "sign_out", _("Signed out")
        # Granting, changing or ending an assignment (medarbetaruppdrag) or an account's role.
        GRANT = "grant", _("Granted or changed access")

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", _("Allowed")
        REFUSED = "refused", _("Refused")

    at = models.DateTimeField(default=timezone.now, db_index=True)
    # Snapshots as well as keys: the row must still say who and where after a user or unit goes.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    username = models.CharField(max_length=150, blank=True)
    unit = models.ForeignKey(
        "directory.Unit",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    unit_name = models.CharField(max_length=200, blank=True)
    organisation = models.ForeignKey(
        "directory.Organisation",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    organisation_name = models.CharField(max_length=200, blank=True)
    person = models.ForeignKey(
        "people.Person",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    case = models.ForeignKey(
        "cases.SipCase",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.ALLOWED)
    what = models.CharField(max_length=60, help_text=_("Kind of record or step, never its content"))
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=300, blank=True)
    # The staff member a grant or a sign-in concerns (not the one acting), with a snapshot.
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    subject_username = models.CharField(max_length=150, blank=True)
    # Process facts only (a role, a period, a review's scope), never the content of a record.
    detail = models.CharField(max_length=300, blank=True)
    # A private individual acting in Min SIP (samplan.mypages), not staff: in which capacity
    # ("person", or a RelatedParty kind such as "guardian") and, unless it is the person
    # themselves (see `person`), which related party.
    # db_default: rows written by an app server that predates the column (a rolling upgrade).
    citizen_role = models.CharField(max_length=24, blank=True, default="", db_default="")
    citizen_party = models.ForeignKey(
        "people.RelatedParty",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    # Read under emergency access (nödåtkomst): flagged for the log review.
    emergency = models.BooleanField(default=False)
    # The hash chain (access/chain.py): position and keyed hash over this row and the previous.
    seq = models.BigIntegerField(null=True, unique=True)
    chain_hash = models.CharField(max_length=64, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["person", "at"]),
            models.Index(fields=["case", "at"]),
            models.Index(fields=["user", "at"]),
            models.Index(fields=["unit", "at"]),
            models.Index(fields=["organisation", "at"]),
            models.Index(fields=["action", "at"]),
            models.Index(
                fields=["at"], condition=models.Q(emergency=True), name="audit_emergency_at"
            ),
            # Refusals are what a log review looks at first and about 1 % of the rows: without
            # this, "refused" walks the whole log backwards (access/review.py).
            models.Index(
                fields=["at"], condition=models.Q(outcome="refused"), name="audit_refused_at"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.what}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise append_only_error()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise append_only_error()


class EmergencyAccess(models.Model):
    """Nödåtkomst: a staff member of a unit that takes part in a SIP, whose organisation the
    consent does not (or no longer) cover, opens it after giving a reason. Read only,
    time-limited, and every read under it is flagged in the log."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="emergency_accesses"
    )
    unit = models.ForeignKey("directory.Unit", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("cases.SipCase", on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"), max_length=1000)
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-granted_at"]
        verbose_name = _("emergency access")
        verbose_name_plural = _("emergency accesses")
        indexes = [models.Index(fields=["user", "case", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.user} {self.case_id} {self.granted_at:%Y-%m-%d %H:%M}"


class LogReview(models.Model):
    """Loggkontroll: the record that a security officer reviewed the log, what the review
    covered and what it concluded (HSLF-FS 2016:40 4 kap. 9 §). Never changed: the app's database
    role may only insert it, and its CREATE row in the log holds a keyed fingerprint of it."""

    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="log_reviews"
    )
    reviewed_at = models.DateTimeField(default=timezone.now)
    # Whose review it is: an officer of several organisations reviews each on its own. Empty only
    # for records written before it was asked (the migration fills it where it can).
    organisation = models.ForeignKey(
        "directory.Organisation",
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("organisation"),
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    # What was searched, in words (person by SIP/identity reference, user, unit, action, flags).
    scope = models.CharField(_("what the review covered"), max_length=500)
    conclusion = models.TextField(_("conclusion"), max_length=4000)

    class Meta:
        ordering = ["-reviewed_at"]
        verbose_name = _("log review")
        verbose_name_plural = _("log reviews")

    def __str__(self) -> str:
        return f"{self.reviewer} {self.reviewed_at:%Y-%m-%d}"
