"""Every grant is itself in the audit log: an assignment (medarbetaruppdrag) granted, changed or
ended, and an account's role (superuser, staff, active, groups, permissions) given or taken.

Separation of duties: whoever grants (an administrator in the admin, a script in the shell, a
data load) leaves a row that the security officer reviews and that the grantee cannot remove.
Model signals catch every save and delete whatever path it takes; the paths that pass by the
signals (bulk update and delete of assignments; bulk updates of an account's roles, password or
HSA-id, and of a unit's organisation or active flag) are refused by the querysets in
directory/models.py, and AssignmentQuerySet.bulk_create writes its grant rows itself
(`audit_bulk_grants`). Also grants: a password set by someone else, an account's HSA-id changed
(single sign-on signs in whoever holds it), a unit moved to another organisation or made
(in)active (it changes which consent covers its staff), a group deleted with its members.

Each pre_save/pre_delete receiver takes the audit chain's lock first (access/chain.py), before the
save locks a row, so two administrators' transactions cannot deadlock on it.

The actor is the signed-in user of the request (access.middleware.current_user); outside a
request there is none and the row's detail says so. Rows are written in the transaction of the
change, so a grant that rolls back leaves no row, and a grant never stands without one.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.urls import reverse
from django.utils import timezone

from samplan.access.chain import take_chain_lock, write_events
from samplan.access.middleware import current_request_info, current_user
from samplan.access.models import AuditEvent
from samplan.access.services import _event, _unit_snapshots

from .models import Assignment, Organisation, Unit, User

GRANT = AuditEvent.Action.GRANT
ASSIGNMENT_FIELDS = ("user_id", "unit_id", "role", "hsa_id", "valid_from", "valid_to")
ROLE_FIELDS = ("is_superuser", "is_staff", "is_active")
# What a save of an account may grant: its roles, the HSA-id single sign-on matches, its password.
ACCOUNT_FIELDS = (*ROLE_FIELDS, "hsa_id", "password")
UNIT_FIELDS = ("organisation_id", "active")
DETAIL_LENGTH = AuditEvent._meta.get_field("detail").max_length


def connect() -> None:
    """Called once from DirectoryConfig.ready."""
    pre_save.connect(remember_assignment, sender=Assignment, dispatch_uid="grant_pre_assignment")
    post_save.connect(assignment_saved, sender=Assignment, dispatch_uid="grant_assignment")
    pre_delete.connect(lock_chain, sender=Assignment, dispatch_uid="grant_lock_assignment")
    post_delete.connect(assignment_deleted, sender=Assignment, dispatch_uid="grant_end_assignment")
    pre_save.connect(remember_roles, sender=User, dispatch_uid="grant_pre_account")
    post_save.connect(account_saved, sender=User, dispatch_uid="grant_account")
    pre_delete.connect(lock_chain, sender=User, dispatch_uid="grant_lock_account")
    post_delete.connect(account_deleted, sender=User, dispatch_uid="grant_end_account")
    pre_save.connect(remember_unit, sender=Unit, dispatch_uid="grant_pre_unit")
    post_save.connect(unit_saved, sender=Unit, dispatch_uid="grant_unit")
    pre_delete.connect(lock_chain, sender=Unit, dispatch_uid="grant_lock_unit")
    pre_delete.connect(group_deleted, sender=Group, dispatch_uid="grant_group_deleted")
    m2m_changed.connect(groups_changed, sender=User.groups.through, dispatch_uid="grant_groups")
    m2m_changed.connect(
        user_permissions_changed,
        sender=User.user_permissions.through,
        dispatch_uid="grant_user_permissions",
    )
    m2m_changed.connect(
        group_permissions_changed,
        sender=Group.permissions.through,
        dispatch_uid="grant_group_permissions",
    )


def lock_chain(sender, **kwargs):
    take_chain_lock()


# --- Who grants ------------------------------------------------------------------------------


def _actor():
    user = current_user.get()
    return user if getattr(user, "is_authenticated", False) else None


def _by_whom(actor) -> str:
    if actor is not None:
        return ""
    _address, path = current_request_info.get()
    if path:
        return "; by: no signed-in user"
    return "; by: no request (shell, command or data load)"


def _row(actor, what: str, detail: str, *, unit_id=None, unit=None, subject=(None, "")):
    subject_id, subject_username = subject
    detail = f"{detail}{_by_whom(actor)}"
    if actor is not None and subject_id == actor.pk:
        # An administrator giving themselves access is what the review looks for first.
        detail = f"{detail}; to themselves"
    if len(detail) > DETAIL_LENGTH:
        detail = detail[: DETAIL_LENGTH - 1] + "…"
    return _event(
        actor,
        GRANT,
        what,
        unit_id=unit_id,
        unit=unit,
        subject_user_id=subject_id,
        subject_username=subject_username,
        detail=detail,
    )


# --- Assignments -----------------------------------------------------------------------------


def _moment(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "open"


def _shown(field: str, value) -> str:
    if field in ("valid_from", "valid_to"):
        return _moment(value)
    return str(value) if value not in (None, "") else "–"


def _terms(values: dict) -> str:
    return (
        f"role={values['role']}; from {_moment(values['valid_from'])}; "
        f"to {_moment(values['valid_to'])}"
    )


def _values(assignment: Assignment) -> dict:
    return {field: getattr(assignment, field) for field in ASSIGNMENT_FIELDS}


def _usernames(assignments: Iterable[Assignment]) -> dict[int, str]:
    names, missing = {}, set()
    for assignment in assignments:
        if Assignment.user.is_cached(assignment):
            names[assignment.user_id] = assignment.user.get_username()
        else:
            missing.add(assignment.user_id)
    if missing:
        names.update(User.objects.filter(pk__in=missing).values_list("pk", "username"))
    return names


def _has_ended(values: dict) -> bool:
    return values["valid_to"] is not None and values["valid_to"] <= timezone.now()


def remember_assignment(sender, instance, update_fields=None, **kwargs):
    take_chain_lock()
    instance._grant_before = (
        Assignment._base_manager.filter(pk=instance.pk).values(*ASSIGNMENT_FIELDS).first()
        if instance.pk is not None
        else None
    )


def assignment_saved(sender, instance, **kwargs):
    before = instance.__dict__.pop("_grant_before", None)
    after = _values(instance)
    actor = _actor()
    if before is None:
        username = _usernames([instance])[instance.user_id]
        write_events(
            [
                _row(
                    actor,
                    "assignment",
                    f"granted: {_terms(after)}",
                    unit_id=instance.unit_id,
                    subject=(instance.user_id, username),
                )
            ]
        )
        return
    changed = [field for field in ASSIGNMENT_FIELDS if before[field] != after[field]]
    if not changed:
        return
    usernames = _usernames([instance])
    if before["user_id"] != after["user_id"]:
        usernames.update(User.objects.filter(pk=before["user_id"]).values_list("pk", "username"))
    if before["unit_id"] != after["unit_id"] or before["user_id"] != after["user_id"]:
        # Moved to another unit or person: the old grant ends where it was and a new one begins,
        # so each unit's (and organisation's) review sees its own side.
        rows = [
            _row(
                actor,
                "assignment",
                f"ended (moved to unit {after['unit_id']}, user {after['user_id']}): "
                f"{_terms(before)}",
                unit_id=before["unit_id"],
                subject=(before["user_id"], usernames.get(before["user_id"], "")),
            ),
            _row(
                actor,
                "assignment",
                f"granted (moved from unit {before['unit_id']}, user {before['user_id']}): "
                f"{_terms(after)}",
                unit_id=after["unit_id"],
                subject=(after["user_id"], usernames.get(after["user_id"], "")),
            ),
        ]
    else:
        verb = "ended" if _has_ended(after) and not _has_ended(before) else "changed"
        changes = "; ".join(
            f"{field.removesuffix('_id')}: {_shown(field, before[field])}→"
            f"{_shown(field, after[field])}"
            for field in changed
        )
        rows = [
            _row(
                actor,
                "assignment",
                f"{verb}: {_terms(after)}; {changes}",
                unit_id=after["unit_id"],
                subject=(after["user_id"], usernames[after["user_id"]]),
            )
        ]
    write_events(rows)


def assignment_deleted(sender, instance, **kwargs):
    write_events(
        [
            _row(
                _actor(),
                "assignment",
                f"ended (deleted): {_terms(_values(instance))}",
                unit_id=instance.unit_id,
                subject=(instance.user_id, _usernames([instance]).get(instance.user_id, "")),
            )
        ]
    )


def audit_bulk_grants(assignments: list[Assignment]) -> None:
    """One grant row per assignment made by bulk_create, written in one statement."""
    if not assignments:
        return
    actor = _actor()
    units = _unit_snapshots({assignment.unit_id for assignment in assignments})
    usernames = _usernames(assignments)
    write_events(
        [
            _row(
                actor,
                "assignment",
                f"granted: {_terms(_values(assignment))}",
                unit_id=assignment.unit_id,
                unit=units.get(assignment.unit_id),
                subject=(assignment.user_id, usernames.get(assignment.user_id, "")),
            )
            for assignment in assignments
        ]
    )


# --- Account roles ---------------------------------------------------------------------------


def _flag(value: bool) -> str:
    return "true" if value else "false"


def remember_roles(sender, instance, update_fields=None, **kwargs):
    # Signing in saves last_login alone: no role can change, so no query either.
    if update_fields is not None and not set(update_fields) & set(ACCOUNT_FIELDS):
        instance._roles_before = None
        return
    take_chain_lock()
    stored = (
        User._base_manager.filter(pk=instance.pk).values(*ACCOUNT_FIELDS).first()
        if instance.pk is not None
        else None
    )
    # A new account starts with no role; being active is no access by itself (that takes an
    # assignment), so only a new superuser or staff account is a grant. Its first HSA-id and
    # password are how every account begins.
    instance._roles_before = stored or {
        "is_superuser": False,
        "is_staff": False,
        "is_active": instance.is_active,
        "hsa_id": instance.hsa_id,
        "password": instance.password,
    }


def _password_set(instance, before: dict, update_fields) -> bool:
    # "" is an account saved a moment before its first password (factories, two-step
    # creation): it never had one. An unusable password ("!…", single sign-on only) given a
    # real one is a way in, and is logged.
    if before["password"] in (instance.password, ""):
        return False
    # Signing in rehashes a password under a newer hasher (AbstractBaseUser.check_password):
    # the same password, no one set it.
    rehashed = instance._password is None and set(update_fields or ()) == {"password"}
    return not rehashed


def _own_password_change() -> bool:
    """The account page's change (old password asked) audits itself as CHANGE "password"."""
    _address, path = current_request_info.get()
    return path == reverse("accounts:password_change")


def account_saved(sender, instance, created, update_fields=None, **kwargs):
    before = instance.__dict__.pop("_roles_before", None)
    if before is None:
        return
    # A field left out of update_fields was not written, whatever the instance holds.
    written = set(update_fields) if update_fields is not None else set(ACCOUNT_FIELDS)
    before = {field: value for field, value in before.items() if field in written}
    actor = _actor()
    subject = (instance.pk, instance.get_username())
    rows = []
    changes = [
        f"{field}: {_flag(before[field])}→{_flag(getattr(instance, field))}"
        for field in ROLE_FIELDS
        if field in before and before[field] != getattr(instance, field)
    ]
    if "hsa_id" in before and before["hsa_id"] != instance.hsa_id:
        changes.append(f"hsa_id: {before['hsa_id'] or '–'}→{instance.hsa_id or '–'}")
    if changes:
        detail = ("new account: " if created else "") + "; ".join(changes)
        rows.append(_row(actor, "account_role", detail, subject=subject))
    if (
        "password" in before
        and _password_set(instance, before, update_fields)
        and not (actor is not None and actor.pk == instance.pk and _own_password_change())
    ):
        # Who set it and for whom; never the hash.
        rows.append(_row(actor, "password", "password set", subject=subject))
    write_events(rows)


def account_deleted(sender, instance, **kwargs):
    roles = ", ".join(f"{field}={_flag(getattr(instance, field))}" for field in ROLE_FIELDS)
    write_events(
        [
            _row(
                _actor(),
                "account_role",
                f"account deleted (was {roles})",
                subject=(instance.pk, instance.get_username()),
            )
        ]
    )


def group_deleted(sender, instance, **kwargs):
    """Deleting a group removes its memberships without an m2m signal: the row names them."""
    take_chain_lock()
    members = list(instance.user_set.order_by("username").values_list("username", flat=True))
    listed = ", ".join(members) if members else "none"
    write_events(
        [
            _row(
                _actor(),
                "account_role",
                f"group {instance.name} deleted; {len(members)} members: {listed}",
            )
        ]
    )


# --- Units -----------------------------------------------------------------------------------


def remember_unit(sender, instance, update_fields=None, **kwargs):
    if instance.pk is None or (
        update_fields is not None
        and not {"organisation", "organisation_id", "active"} & set(update_fields)
    ):
        instance._grant_before = None
        return
    take_chain_lock()
    instance._grant_before = Unit._base_manager.filter(pk=instance.pk).values(*UNIT_FIELDS).first()


def unit_saved(sender, instance, created, **kwargs):
    """A unit moved to another organisation or made (in)active changes what its staff reach:
    which consent covers them, whether their assignments there count. A move is a row under
    each organisation, so that both security officers' reviews see it."""
    before = instance.__dict__.pop("_grant_before", None)
    if before is None:
        return
    moved = before["organisation_id"] != instance.organisation_id
    closed = before["active"] != instance.active
    if not (moved or closed):
        return
    organisations = (
        [before["organisation_id"], instance.organisation_id]
        if moved
        else [instance.organisation_id]
    )
    names = dict(Organisation.objects.filter(pk__in=organisations).values_list("pk", "name"))
    changes = []
    if moved:
        changes.append(
            f"organisation: {names.get(before['organisation_id'], before['organisation_id'])}"
            f"→{names.get(instance.organisation_id, instance.organisation_id)}"
        )
    if closed:
        changes.append(f"active: {_flag(before['active'])}→{_flag(instance.active)}")
    actor = _actor()
    detail = "; ".join(changes)
    write_events(
        [
            _row(
                actor,
                "unit",
                detail,
                unit_id=instance.pk,
                unit=(instance.name, organisation_id, names.get(organisation_id, "")),
            )
            for organisation_id in organisations
        ]
    )


def _group_names(pks) -> dict[int, str]:
    return dict(Group.objects.filter(pk__in=pks).values_list("pk", "name"))


def _permission_names(pks) -> dict[int, str]:
    return {
        pk: f"{app_label}.{codename}"
        for pk, app_label, codename in Permission.objects.filter(pk__in=pks).values_list(
            "pk", "content_type__app_label", "codename"
        )
    }


def _m2m_rows(instance, action, reverse, pk_set, *, relation: str, related, reverse_related):
    """Rows for an m2m change seen from either side. `relation`: the accessor on the instance
    (for `clear`, whose pk_set is empty); `related`/`reverse_related`: names of the other side's
    rows, seen forward and in reverse."""
    if action == "pre_clear":
        instance.__dict__.setdefault("_grant_cleared", {})[relation] = set(
            getattr(instance, relation).values_list("pk", flat=True)
        )
        return []
    if action == "post_clear":
        pk_set = instance.__dict__.get("_grant_cleared", {}).pop(relation, set())
    elif action not in ("post_add", "post_remove"):
        return []
    if not pk_set:
        return []
    sign = "+" if action == "post_add" else "−"
    names = (reverse_related if reverse else related)(pk_set)
    return [(pk, sign, names.get(pk, str(pk))) for pk in sorted(pk_set)]


def groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
    relation = "user_set" if reverse else "groups"
    changes = _m2m_rows(
        instance,
        action,
        reverse,
        pk_set,
        relation=relation,
        related=_group_names,
        reverse_related=lambda pks: dict(
            User.objects.filter(pk__in=pks).values_list("pk", "username")
        ),
    )
    _write_account_changes(instance, reverse, changes, "groups")


def user_permissions_changed(sender, instance, action, reverse, pk_set, **kwargs):
    changes = _m2m_rows(
        instance,
        action,
        reverse,
        pk_set,
        relation="user_set" if reverse else "user_permissions",
        related=_permission_names,
        reverse_related=lambda pks: dict(
            User.objects.filter(pk__in=pks).values_list("pk", "username")
        ),
    )
    _write_account_changes(instance, reverse, changes, "permissions")


def _name_of(instance) -> str:
    if isinstance(instance, Permission):
        return _permission_names([instance.pk]).get(instance.pk, str(instance.pk))
    return instance.name


def _write_account_changes(instance, reverse, changes, label: str) -> None:
    if not changes:
        return
    actor = _actor()
    if reverse:
        # One group or permission given to (or taken from) several accounts: a row each.
        name = _name_of(instance)
        rows = [
            _row(actor, "account_role", f"{label}: {sign}{name}", subject=(pk, username))
            for pk, sign, username in changes
        ]
    else:
        listed = ", ".join(f"{sign}{name}" for _pk, sign, name in changes)
        rows = [
            _row(
                actor,
                "account_role",
                f"{label}: {listed}",
                subject=(instance.pk, instance.get_username()),
            )
        ]
    write_events(rows)


def group_permissions_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """A group's permissions reach every member at once: the row names the group."""
    changes = _m2m_rows(
        instance,
        action,
        reverse,
        pk_set,
        relation="group_set" if reverse else "permissions",
        related=_permission_names,
        reverse_related=_group_names,
    )
    if not changes:
        return
    actor = _actor()
    if reverse:
        permission = _name_of(instance)
        rows = [
            _row(actor, "account_role", f"group {group}: permissions {sign}{permission}")
            for _pk, sign, group in changes
        ]
    else:
        listed = ", ".join(f"{sign}{name}" for _pk, sign, name in changes)
        rows = [_row(actor, "account_role", f"group {instance.name}: permissions {listed}")]
    write_events(rows)
