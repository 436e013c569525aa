"""Separation of duties: every grant, change and end of an assignment (medarbetaruppdrag) and of
an account's role is a GRANT row in the audit log, whoever makes it (the admin, the shell, a bulk
load), naming the actor, the staff member it concerns, the unit and its organisation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission, update_last_login
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from samplan.access.models import AuditEvent
from samplan.directory.models import Assignment, Unit, User
from samplan.errors import DomainError
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

Role = Assignment.Role
NO_REQUEST = "by: no request (shell, command or data load)"


def grants(what: str = "assignment", **filters):
    return AuditEvent.objects.filter(action=AuditEvent.Action.GRANT, what=what, **filters).order_by(
        "pk"
    )


@pytest.fixture
def dana(county):
    """A staff member with no assignment yet."""
    return UserFactory(username="dana")


# --- Assignments outside a request (shell, data load) -----------------------------------------


def test_an_assignment_granted_in_the_shell_is_logged_with_unit_organisation_and_subject(
    county, dana
):
    since = timezone.now() - dt.timedelta(hours=1)
    Assignment.objects.create(
        user=dana, unit=county.hemtjanst, role=Role.COORDINATOR, valid_from=since
    )
    row = grants(subject_user=dana).get()
    assert row.user is None and row.username == ""
    assert row.subject_username == "dana"
    assert (row.unit_id, row.unit_name) == (county.hemtjanst.pk, "Hemtjänst Norr")
    assert (row.organisation_id, row.organisation_name) == (county.kommun.pk, "Testby kommun")
    assert row.outcome == AuditEvent.Outcome.ALLOWED
    assert row.detail.startswith(
        f"granted: role=coordinator; from {timezone.localtime(since):%Y-%m-%d %H:%M}; to open"
    )
    assert row.detail.endswith(NO_REQUEST)
    assert row.case_id is None and row.person_id is None


def test_ending_an_assignment_is_logged_as_ended_with_the_old_and_new_end(county):
    assignment = Assignment.objects.get(user=county.bob)
    ended = timezone.now() - dt.timedelta(minutes=1)
    assignment.valid_to = ended
    assignment.save()
    row = grants(subject_user=county.bob).last()
    assert row.detail.startswith("ended: role=participant;")
    assert f"valid_to: open→{timezone.localtime(ended):%Y-%m-%d %H:%M}" in row.detail
    assert row.unit_id == county.hemtjanst.pk


def test_a_changed_role_is_logged_and_a_save_without_change_is_not(county):
    assignment = Assignment.objects.get(user=county.bob)
    before = grants().count()
    assignment.save()
    assert grants().count() == before
    assignment.role = Role.COORDINATOR
    assignment.save()
    row = grants(subject_user=county.bob).last()
    assert row.detail.startswith("changed: role=coordinator;")
    assert "role: participant→coordinator" in row.detail


def test_moving_an_assignment_to_another_unit_ends_it_there_and_grants_it_here(county):
    assignment = Assignment.objects.get(user=county.bob)
    assignment.unit = county.elsewhere
    assignment.save()
    ended, granted = grants(subject_user=county.bob).reverse()[:2][::-1]
    assert ended.unit_id == county.hemtjanst.pk and ended.detail.startswith("ended (moved")
    assert ended.organisation_id == county.kommun.pk
    assert granted.unit_id == county.elsewhere.pk and granted.detail.startswith("granted (moved")
    assert granted.organisation_id == county.other_kommun.pk


def test_deleting_an_assignment_is_logged_as_ended(county):
    Assignment.objects.get(user=county.bob).delete()
    row = grants(subject_user=county.bob).last()
    assert row.detail.startswith("ended (deleted): role=participant;")
    assert row.unit_id == county.hemtjanst.pk


def test_deleting_an_account_ends_each_assignment_and_the_account_in_the_log(county):
    bob_id = county.bob.pk
    county.bob.delete()
    ended = grants(subject_user_id=bob_id).last()
    assert ended.detail.startswith("ended (deleted)") and ended.subject_username == "bob"
    account = grants("account_role", subject_user_id=bob_id).get()
    assert account.detail.startswith("account deleted (was is_superuser=false")


def test_a_grant_that_rolls_back_leaves_no_row(county, dana):
    before = grants().count()
    with pytest.raises(RuntimeError), transaction.atomic():
        Assignment.objects.create(user=dana, unit=county.hemtjanst, role=Role.PARTICIPANT)
        raise RuntimeError("the surrounding work failed")
    assert grants().count() == before
    assert not Assignment.objects.filter(user=dana).exists()


# --- What would pass by the signals ----------------------------------------------------------


@pytest.mark.parametrize(
    "bulk",
    [
        lambda qs: qs.update(valid_to=timezone.now()),
        lambda qs: qs.delete(),
        lambda qs: qs.active().filter(role=Role.COORDINATOR).update(role=Role.PARTICIPANT),
        lambda qs: Assignment.objects.bulk_update(list(qs), ["role"]),
        lambda qs: User.objects.get(username="alice").assignments.update(role=Role.PARTICIPANT),
    ],
    ids=["update", "delete", "filtered update", "bulk_update", "related manager"],
)
def test_bulk_changes_of_assignments_are_refused_and_change_nothing(county, bulk):
    before = list(Assignment.objects.order_by("pk").values_list("pk", "role", "valid_to"))
    rows = grants().count()
    with pytest.raises(DomainError) as refused:
        bulk(Assignment.objects.all())
    assert refused.value.code == "bulk_grant"
    assert list(Assignment.objects.order_by("pk").values_list("pk", "role", "valid_to")) == before
    assert grants().count() == rows


def test_bulk_create_writes_one_grant_row_each_in_one_write(county):
    def load(count: int) -> int:
        users = [UserFactory() for _ in range(count)]
        with CaptureQueriesContext(connection) as queries:
            Assignment.objects.bulk_create(
                [
                    Assignment(user=user, unit=county.hemtjanst, role=Role.PARTICIPANT)
                    for user in users
                ]
            )
        assert grants(subject_user__in=users).count() == count
        return len(queries)

    # Insert the assignments, read the units once, insert the rows once: the same few
    # statements for 2 assignments as for 12 (no query per row).
    assert load(2) == load(12)
    row = grants(subject_user__username__isnull=False).last()
    assert row.detail.startswith("granted: role=participant;") and row.unit_name == "Hemtjänst Norr"


def test_bulk_create_that_ignores_conflicts_is_refused(county, dana):
    with pytest.raises(DomainError):
        Assignment.objects.bulk_create(
            [Assignment(user=dana, unit=county.hemtjanst, role=Role.PARTICIPANT)],
            ignore_conflicts=True,
        )
    assert not Assignment.objects.filter(user=dana).exists()


def test_the_synthetic_county_logs_a_grant_for_each_assignment_it_loads(db):
    from samplan.demo.synthetic import generate_county

    generate_county(cases=20)
    assignments = Assignment.objects.count()
    assert assignments > 0
    assert grants().count() == assignments
    assert grants().filter(detail__endswith=NO_REQUEST).count() == assignments


# --- Account roles ---------------------------------------------------------------------------


def test_making_a_superuser_in_the_shell_is_logged(county):
    User.objects.create_superuser("ruth", "ruth@exempel.invalid", "x" * 20)
    row = grants("account_role", subject_username="ruth").get()
    assert (
        row.detail == f"new account: is_superuser: false→true; is_staff: false→true; {NO_REQUEST}"
    )
    assert row.user is None


def test_an_ordinary_new_account_is_no_grant(db):
    UserFactory(username="plain")
    assert not grants("account_role").exists()


def test_role_flags_changed_on_an_account_are_logged_each(county):
    bob = county.bob
    bob.is_superuser = True
    bob.is_staff = True
    bob.save()
    bob.is_active = False
    bob.save()
    first, second = grants("account_role", subject_user=bob)
    assert first.detail.startswith("is_superuser: false→true; is_staff: false→true")
    assert second.detail.startswith("is_active: true→false")


def test_signing_in_saves_the_last_login_without_a_grant_row_or_a_lookup(county):
    with CaptureQueriesContext(connection) as queries:
        update_last_login(None, county.bob)
    assert len(queries) == 1
    assert not grants("account_role").exists()


def test_groups_and_permissions_given_and_taken_are_logged(county):
    bob, alice = county.bob, county.alice
    group = Group.objects.create(name="Registratorer")
    permission = Permission.objects.get(codename="change_assignment")

    bob.groups.add(group)
    bob.groups.add(group)  # already a member: no change, no row
    bob.user_permissions.add(permission)
    group.user_set.add(alice)
    group.permissions.add(permission)
    bob.groups.clear()

    details = list(grants("account_role").values_list("subject_username", "detail"))
    assert details == [
        ("bob", f"groups: +Registratorer; {NO_REQUEST}"),
        ("bob", f"permissions: +directory.change_assignment; {NO_REQUEST}"),
        ("alice", f"groups: +Registratorer; {NO_REQUEST}"),
        ("", f"group Registratorer: permissions +directory.change_assignment; {NO_REQUEST}"),
        ("bob", f"groups: −Registratorer; {NO_REQUEST}"),
    ]


# --- Through the admin: the actor is the signed-in administrator -----------------------------


def test_granting_an_assignment_in_the_admin_names_the_actor_subject_and_unit(
    admin_client, superuser, county, dana
):
    response = admin_client.post(
        reverse("admin:directory_assignment_add"),
        {
            "user": dana.pk,
            "unit": county.vardcentral.pk,
            "role": Role.COORDINATOR,
            "hsa_id": "",
            "valid_from_0": "2026-01-05",
            "valid_from_1": "08:00:00",
            "valid_to_0": "",
            "valid_to_1": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    row = grants(subject_user=dana).get()
    assert (row.user_id, row.username) == (superuser.pk, "root")
    assert row.subject_username == "dana"
    assert (row.unit_id, row.organisation_id) == (county.vardcentral.pk, county.region.pk)
    assert row.organisation_name == "Region Test"
    assert row.detail == "granted: role=coordinator; from 2026-01-05 08:00; to open"
    assert row.path == reverse("admin:directory_assignment_add")


def test_ending_assignments_with_the_admins_delete_action_logs_each(
    admin_client, superuser, county
):
    ids = list(
        Assignment.objects.filter(user__in=[county.alice, county.bob]).values_list("pk", flat=True)
    )
    response = admin_client.post(
        reverse("admin:directory_assignment_changelist"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert response.status_code == 302
    assert not Assignment.objects.filter(pk__in=ids).exists()
    ended = grants(user=superuser, detail__startswith="ended (deleted)")
    assert sorted(ended.values_list("subject_username", flat=True)) == ["alice", "bob"]


def test_making_someone_superuser_in_the_admin_is_logged_with_the_actor(
    admin_client, superuser, county
):
    bob = county.bob
    assignment = bob.assignments.get()
    url = reverse("admin:directory_user_change", args=[bob.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name not in ("groups", "user_permissions", "password")
    }
    data.update(
        {
            "is_superuser": "on",
            "is_staff": "on",
            "is_active": "on",
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "08:00:00",
            "assignments-TOTAL_FORMS": "1",
            "assignments-INITIAL_FORMS": "1",
            "assignments-MIN_NUM_FORMS": "0",
            "assignments-MAX_NUM_FORMS": "1000",
            "assignments-0-id": assignment.pk,
            "assignments-0-user": bob.pk,
            "assignments-0-unit": assignment.unit_id,
            "assignments-0-role": assignment.role,
            "assignments-0-hsa_id": "",
            "assignments-0-valid_from_0": "2026-01-01",
            "assignments-0-valid_from_1": "08:00:00",
            "assignments-0-valid_to_0": "",
            "assignments-0-valid_to_1": "",
        }
    )
    data.pop("date_joined", None)
    data.pop("last_login", None)
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    role = grants("account_role", subject_user=bob).get()
    assert role.user == superuser
    assert role.detail == "is_superuser: false→true; is_staff: false→true"
    # The inline's changed start is a change of the assignment, by the same actor.
    changed = grants(subject_user=bob, user=superuser).get()
    assert changed.detail.startswith("changed: role=participant; from 2026-01-01 08:00")


def test_an_administrator_granting_themselves_an_assignment_is_marked_as_such(
    admin_client, superuser, county
):
    response = admin_client.post(
        reverse("admin:directory_assignment_add"),
        {
            "user": superuser.pk,
            "unit": county.elsewhere.pk,
            "role": Role.COORDINATOR,
            "valid_from_0": "2026-01-05",
            "valid_from_1": "08:00:00",
        },
    )
    assert response.status_code == 302
    row = grants(subject_user=superuser).get()
    assert row.user == superuser
    assert row.detail == "granted: role=coordinator; from 2026-01-05 08:00; to open; to themselves"
    assert row.organisation_name == "Annanby kommun"


# --- Accounts, units and groups: what would pass by the signals ------------------------------


@pytest.mark.parametrize(
    "bulk",
    [
        lambda: User.objects.filter(username="bob").update(is_superuser=True, is_staff=True),
        lambda: User.objects.all().update(is_active=False),
        lambda: User.objects.filter(username="bob").update(hsa_id="SE2321000016-9999"),
        lambda: User.objects.filter(username="bob").update(password="md5$x$y"),
        lambda: User._base_manager.filter(username="bob").update(is_superuser=True),
        lambda: User.objects.bulk_update(
            [User(pk=User.objects.get(username="bob").pk, is_superuser=True)], ["is_superuser"]
        ),
        lambda: User.objects.bulk_create([User(username="eve", is_superuser=True)]),
        lambda: Assignment._base_manager.filter(user__username="bob").update(role=Role.COORDINATOR),
    ],
    ids=[
        "superuser",
        "active",
        "hsa_id",
        "password",
        "base manager",
        "bulk_update",
        "bulk_create superuser",
        "assignment base manager",
    ],
)
def test_bulk_changes_of_account_roles_password_or_hsa_id_are_refused(county, bulk):
    columns = ("pk", "is_superuser", "is_staff", "is_active", "hsa_id", "password")
    before = list(User.objects.order_by("pk").values_list(*columns))
    roles = list(Assignment.objects.order_by("pk").values_list("role", flat=True))
    with pytest.raises(DomainError) as refused:
        bulk()
    assert refused.value.code == "bulk_grant"
    assert list(User.objects.order_by("pk").values_list(*columns)) == before
    assert list(Assignment.objects.order_by("pk").values_list("role", flat=True)) == roles
    assert not User.objects.filter(username="eve").exists()


def test_bulk_updates_of_other_account_fields_and_plain_bulk_creates_still_work(county):
    now = timezone.now()
    assert User.objects.filter(username="bob").update(signed_out_everywhere_at=now) == 1
    User.objects.bulk_create([User(username="plain1"), User(username="plain2")])
    assert User.objects.filter(username__startswith="plain").count() == 2
    assert not grants("account_role").exists()


def test_a_unit_moved_to_another_organisation_or_closed_is_a_grant(county):
    unit = county.hemtjanst
    unit.organisation = county.other_kommun
    unit.save()
    unit.active = False
    unit.save()
    unit.name = "Hemtjänst Norra"
    unit.save()  # a new name grants nothing
    rows = list(grants("unit", unit_id=unit.pk).values_list("detail", "organisation_name"))
    moved = f"organisation: Testby kommun→Annanby kommun; {NO_REQUEST}"
    assert rows == [
        # Under each organisation, so that both security officers see the move.
        (moved, "Testby kommun"),
        (moved, "Annanby kommun"),
        (f"active: true→false; {NO_REQUEST}", "Annanby kommun"),
    ]


@pytest.mark.parametrize(
    "bulk",
    [
        lambda unit: Unit.objects.filter(pk=unit.pk).update(active=False),
        lambda unit: Unit.objects.filter(pk=unit.pk).update(organisation_id=unit.organisation_id),
        lambda unit: Unit.objects.bulk_update([unit], ["active"]),
        lambda unit: Unit._base_manager.filter(pk=unit.pk).update(active=False),
    ],
    ids=["active", "organisation", "bulk_update", "base manager"],
)
def test_bulk_changes_of_a_units_organisation_or_active_flag_are_refused(county, bulk):
    with pytest.raises(DomainError):
        bulk(county.hemtjanst)
    county.hemtjanst.refresh_from_db()
    assert county.hemtjanst.active
    assert Unit.objects.filter(pk=county.hemtjanst.pk).update(phone="010-123 45 67") == 1


def test_deleting_a_group_lists_the_members_it_takes_the_group_from(county):
    group = Group.objects.create(name="Registratorer")
    group.user_set.add(county.alice, county.bob)
    group.delete()
    row = grants("account_role").last()
    assert row.detail == f"group Registratorer deleted; 2 members: alice, bob; {NO_REQUEST}"


@pytest.mark.needs_postgresql  # an advisory lock of PostgreSQL
def test_a_grant_takes_the_chain_lock_before_it_locks_the_row(county):
    """Rows locked first and the chain lock after would let two administrators' transactions
    wait for each other; the chain lock comes first."""
    assignment = Assignment.objects.get(user=county.bob)
    for change in (
        lambda: setattr(assignment, "role", Role.COORDINATOR) or assignment.save(),
        lambda: setattr(county.bob, "is_staff", True) or county.bob.save(),
        lambda: setattr(county.hemtjanst, "active", False) or county.hemtjanst.save(),
        lambda: assignment.delete(),
    ):
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            change()
        statements = [query["sql"] for query in queries]
        lock = next(i for i, sql in enumerate(statements) if "pg_advisory_xact_lock" in sql)
        first_write = next(
            i for i, sql in enumerate(statements) if sql.startswith(("UPDATE", "DELETE"))
        )
        assert lock < first_write, statements


def test_a_save_of_some_fields_logs_only_what_it_writes(county):
    bob = county.bob
    bob.is_superuser = True  # in memory only: not among the fields saved
    bob.hsa_id = "SE2321000016-7777"
    bob.is_staff = True
    bob.save(update_fields=["is_staff"])
    (row,) = grants("account_role", subject_user=bob)
    assert row.detail == f"is_staff: false→true; {NO_REQUEST}"
    bob.refresh_from_db()
    assert not bob.is_superuser and bob.hsa_id == ""
