"""The directory: organisations (huvudmän), their units (enheter), staff and their assignments.

Shaped like HSA-katalogen so that a region can later sync it: organisation = vårdgivare/huvudman
by organisation number, unit = vårdenhet, assignment = medarbetaruppdrag, which is what grants a
staff member access to the SIPs their unit takes part in.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AbstractUser, _user_has_perm
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from samplan.errors import DomainError

from .validators import validate_hsa_id, validate_organisation_number


class Organisation(models.Model):
    """Huvudman or authority: kommun, region, Försäkringskassan, a school, a provider…"""

    class Kind(models.TextChoices):
        KOMMUN = "kommun", _("Municipality (kommun)")
        REGION = "region", _("Region (health care)")
        FORSAKRINGSKASSAN = "forsakringskassan", _("Social Insurance Agency (Försäkringskassan)")
        ARBETSFORMEDLINGEN = (
            "arbetsformedlingen",
            _("Public Employment Service (Arbetsförmedlingen)"),
        )
        KRIMINALVARDEN = "kriminalvarden", _("Prison and Probation Service (Kriminalvården)")
        SCHOOL = "school", _("School")
        PRIVATE_PROVIDER = "private_provider", _("Private provider")
        INTEREST_ORGANISATION = "interest_organisation", _("Interest organisation")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    organisation_number = models.CharField(
        _("organisation number"),
        max_length=11,
        unique=True,
        validators=[validate_organisation_number],
    )
    hsa_id = models.CharField(
        _("HSA-id"), max_length=31, blank=True, validators=[validate_hsa_id], db_index=True
    )
    # "Utan dröjsmål" has no number in the law; each huvudman sets its own (SIP.md).
    initiative_deadline_days = models.PositiveSmallIntegerField(
        _("days from initiative to meeting call"), default=10
    )
    # Lag (2017:612): call to a SIP within 3 days of the notice of readiness for discharge.
    discharge_deadline_days = models.PositiveSmallIntegerField(
        _("days from discharge notice to meeting call"), default=3
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


def bulk_change_error(what: tuple[str, str], verb: tuple[str, str] = ("ändras", "changed")):
    return DomainError(
        f"{what[0]} {verb[0]} en åt gången, så att varje ändring loggas.",
        f"{what[1]} are {verb[1]} one at a time, so that each change is logged.",
        code="bulk_grant",
    )


class GuardedQuerySet(models.QuerySet):
    """The fields in GUARDED grant access; a change of one is audited by the directory's signals
    (directory/signals.py) in save(), which a bulk update would pass by, so it is refused."""

    GUARDED: frozenset[str] = frozenset()
    WHAT: tuple[str, str] = ("", "")

    def _refuse_guarded(self, fields) -> None:
        # A foreign key may be named by its column too (organisation_id).
        named = set(fields) | {field.removesuffix("_id") for field in fields}
        if self.GUARDED & named:
            raise bulk_change_error(self.WHAT)

    def update(self, **kwargs):
        self._refuse_guarded(kwargs)
        return super().update(**kwargs)

    def bulk_update(self, objs, fields, batch_size=None):
        self._refuse_guarded(fields)
        return super().bulk_update(objs, fields, batch_size=batch_size)


class UnitQuerySet(GuardedQuerySet):
    """A unit's organisation decides which consent covers its staff, and an inactive unit grants
    nothing: changing either is a grant."""

    GUARDED = frozenset({"organisation", "active"})
    WHAT = ("Enhetens huvudman och status", "A unit's organisation and active flag")


class Unit(models.Model):
    """Enhet: a unit of an organisation, e.g. "Vårdcentral Centrum" or "Hemtjänst Norr"."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="units", verbose_name=_("organisation")
    )
    name = models.CharField(_("name"), max_length=200)
    hsa_id = models.CharField(
        _("HSA-id"), max_length=31, blank=True, validators=[validate_hsa_id], db_index=True
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    active = models.BooleanField(_("active"), default=True)

    objects = UnitQuerySet.as_manager()

    class Meta:
        ordering = ["organisation__name", "name"]
        base_manager_name = "objects"
        verbose_name = _("unit")
        verbose_name_plural = _("units")

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation.name})"


class UserQuerySet(GuardedQuerySet):
    """An account's roles, password and HSA-id (which single sign-on matches the person by).
    Other fields (the time of signing out everywhere) stay free to update in bulk."""

    GUARDED = frozenset({"is_superuser", "is_staff", "is_active", "password", "hsa_id"})
    WHAT = ("Kontons roller, lösenord och HSA-id", "Accounts' roles, password and HSA-id")

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        # Plain staff accounts (a data load) only: a new superuser or admin is a grant.
        if kwargs.get("update_conflicts") or any(u.is_superuser or u.is_staff for u in objs):
            raise bulk_change_error(self.WHAT)
        return super().bulk_create(objs, *args, **kwargs)


class UserManager(DjangoUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True


class User(AbstractUser):
    """A staff member or administrator. One person may hold several HSA-ids and assignments."""

    hsa_id = models.CharField(
        _("HSA-id"), max_length=31, blank=True, validators=[validate_hsa_id], db_index=True
    )
    title = models.CharField(_("title"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    # Every session that signed in before this time is over (accounts/sessions.py).
    signed_out_everywhere_at = models.DateTimeField(
        _("signed out everywhere at"), null=True, blank=True, editable=False
    )

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        # Bulk updates are refused through _base_manager too (saves use its private _update).
        base_manager_name = "objects"
        constraints = [
            # Single sign-on finds the account by its HSA-id: one account per HSA-id.
            models.UniqueConstraint(
                fields=["hsa_id"], condition=~Q(hsa_id=""), name="one_account_per_hsa_id"
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    # A superuser administers the directory but is not a staff member: a permission on an object
    # (a case) comes from the rules alone, so it follows assignments like everyone else's.
    # Django's own shortcut would answer yes to every object question for an active superuser.
    def has_perm(self, perm, obj=None):
        if obj is None:
            return super().has_perm(perm)
        return self.is_active and _user_has_perm(self, perm, obj)

    async def ahas_perm(self, perm, obj=None):
        if obj is None:
            return await super().ahas_perm(perm)
        # The rules backend answers only synchronously.
        return await sync_to_async(self.has_perm)(perm, obj)


def bulk_grant_error() -> DomainError:
    return bulk_change_error(
        ("Medarbetaruppdrag", "Assignments"), ("ändras eller tas bort", "changed or removed")
    )


class AssignmentQuerySet(models.QuerySet):
    """Every grant, change and end of an assignment is audited by the model's signals
    (directory/signals.py). Bulk updates and deletes would pass by them, so they are refused;
    bulk_create writes one grant row per assignment in one write."""

    def active(self, at=None):
        at = at or timezone.now()
        return self.filter(Q(valid_from__lte=at), Q(valid_to__isnull=True) | Q(valid_to__gt=at))

    def update(self, **kwargs):
        raise bulk_grant_error()

    def delete(self):
        raise bulk_grant_error()

    def bulk_update(self, objs, fields, batch_size=None):
        raise bulk_grant_error()

    def bulk_create(self, objs, batch_size=None, ignore_conflicts=False, **kwargs):
        if ignore_conflicts or kwargs.get("update_conflicts"):
            # Which rows were granted, and which were changed, would be unknown to the log.
            raise bulk_grant_error()
        from .signals import audit_bulk_grants  # the signals module imports this one

        with transaction.atomic(using=self.db):
            created = super().bulk_create(objs, batch_size=batch_size, **kwargs)
            audit_bulk_grants(created)
        return created


class Assignment(models.Model):
    """Medarbetaruppdrag: a staff member's assignment at a unit, with a role. It grants access."""

    class Role(models.TextChoices):
        COORDINATOR = "coordinator", _("SIP coordinator")
        PARTICIPANT = "participant", _("Participant")
        UNIT_ADMINISTRATOR = "unit_administrator", _("Unit administrator")
        SECURITY_OFFICER = "security_officer", _("Security officer")

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("user")
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("unit")
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    hsa_id = models.CharField(
        _("HSA-id of the assignment"), max_length=31, blank=True, validators=[validate_hsa_id]
    )
    valid_from = models.DateTimeField(_("valid from"), default=timezone.now)
    valid_to = models.DateTimeField(_("valid to"), null=True, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["unit__name", "role"]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        base_manager_name = "objects"
        constraints = [
            models.UniqueConstraint(fields=["user", "unit", "role"], name="one_role_per_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()} – {self.unit.name}"
