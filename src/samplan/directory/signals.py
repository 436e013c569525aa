"""Every grant is itself in the audit log: an assignment (medarbetaruppdrag) granted, changed or
ended, and an account's role (superuser, staff, active, groups, permissions) given or taken.

Separation of duties: whoever grants (an administrator in the admin, a script in the shell, a
data load) leaves a row that the security officer reviews and that the grantee cannot remove.
Model signals catch every save and delete whatever path it takes; the paths that pass by the
signals (bulk update and delete of assignments) are refused by AssignmentQuerySet, and its
bulk_create writes its grant rows itself (`audit_bulk_grants`).

The actor is the signed-in user of the request (access.middleware.current_user); outside a
request there is none and the row's detail says so. Rows are written in the transaction of the
change, so a grant that rolls back leaves no row, and a grant never stands without one.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.utils import timezone

from samplan.access.chain import write_events
from samplan.access.middleware import current_request_info, current_user
from samplan.access.models import AuditEvent
from samplan.access.services import _event, _unit_snapshots

from .models import Assignment, User

GRANT = AuditEvent.Action.GRANT
ASSIGNMENT_FIELDS = ("user_id", "unit_id", "role", "hsa_id", "valid_from", "valid_to")
ROLE_FIELDS = ("is_superuser", "is_staff", "is_active")
DETAIL_LENGTH = AuditEvent._meta.get_field("detail").max_length


def connect() -> None:
    """Called once from DirectoryConfig.ready."""
    pre_save.connect(remember_assignment, sender=Assignment, dispatch_uid="grant_pre_assignment")
    post_save.connect(assignment_saved, sender=Assignment, dispatch_uid="grant_assignment")
    post_delete.connect(assignment_deleted, sender=Assignment, dispatch_uid="grant_end_assignment")
    pre_save.connect(remember_roles, sender=User, dispatch_uid="grant_pre_account")
    post_save.connect(account_saved, sender=User, dispatch_uid="grant_account")
    post_delete.connect(account_deleted, sender=User, dispatch_uid="grant_end_account")
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
    if update_fields is not None and not set(update_fields) & set(ROLE_FIELDS):
        instance._roles_before = None
        return
    stored = (
        User._base_manager.filter(pk=instance.pk).values(*ROLE_FIELDS).first()
        if instance.pk is not None
        else None
    )
    # A new account starts with no role; being active is no access by itself (that takes an
    # assignment), so only a new superuser or staff account is a grant.
    instance._roles_before = stored or {
        "is_superuser": False,
        "is_staff": False,
        "is_active": instance.is_active,
    }


def account_saved(sender, instance, created, **kwargs):
    before = instance.__dict__.pop("_roles_before", None)
    if before is None:
        return
    changes = [
        f"{field}: {_flag(before[field])}→{_flag(getattr(instance, field))}"
        for field in ROLE_FIELDS
        if before[field] != getattr(instance, field)
    ]
    if not changes:
        return
    detail = ("new account: " if created else "") + "; ".join(changes)
    write_events(
        [_row(_actor(), "account_role", detail, subject=(instance.pk, instance.get_username()))]
    )


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
