"""The app's PostgreSQL role may append to the audit log and read it, nothing more: UPDATE, DELETE
and TRUNCATE are refused by permission (before any trigger), and not owning the table it cannot
switch the triggers off. The same for the emergency access grants and the records of log reviews,
which the app writes once and never changes. The rest of the app stays writable. Roles are
cluster-wide: the test makes throwaway ones with unique names, inside the test's transaction, and
drops them."""

import datetime as dt
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from samplan.access.emergency import grant_emergency_access
from samplan.access.management.commands.db_roles import role_statements
from samplan.access.models import AuditEvent, EmergencyAccess, LogReview
from samplan.access.services import audit
from samplan.cases import services
from samplan.cases.models import State
from samplan.directory.models import Unit
from tests.factories import case_in_state

REASON = "Akut inläggning, behöver se vilka insatser som pågår i hemmet."


def revoked_for_bob(county):
    """A SIP bob's unit takes part in whose consent no longer covers the kommun: he may ask for
    emergency access (as in tests/test_emergency_access.py)."""
    case = case_in_state(county, State.PREPARATION)
    services.add_participant(case, actor=county.alice, unit=county.hemtjanst)
    case.refresh_from_db()
    services.revoke_consent(
        case, actor=county.alice, expected_version=case.lock_version, organisations=[county.kommun]
    )
    return case


Action = AuditEvent.Action


def test_the_command_prints_the_statements_in_one_transaction():
    out = StringIO()
    call_command(
        "db_roles", "--app-role", "samplan_app", "--migration-role", "samplan_owner", stdout=out
    )
    printed = out.getvalue()
    body = "".join(f"{s};\n" for s in role_statements("samplan_app", "samplan_owner"))
    assert "BEGIN;\n" + body + "COMMIT;" in printed
    assert "GRANT SELECT, INSERT ON public.access_auditevent TO samplan_app;" in printed
    assert "REVOKE ALL ON public.access_auditevent FROM PUBLIC, samplan_app;" in printed
    for table in ("access_emergencyaccess", "access_logreview"):
        assert f"REVOKE ALL ON public.{table} FROM PUBLIC, samplan_app;" in printed
        assert f"GRANT SELECT, INSERT ON public.{table} TO samplan_app;" in printed
        # After the grant on all tables, which it narrows.
        assert printed.index(f"REVOKE ALL ON public.{table}") > printed.index("ON ALL TABLES")


@pytest.mark.parametrize(
    "app, owner", [("samplan_app", "samplan_app"), ("app; DROP TABLE x", "o"), ("App", "o")]
)
def test_the_command_refuses_one_role_for_both_or_a_name_that_is_not_plain(app, owner):
    with pytest.raises(CommandError):
        call_command("db_roles", "--app-role", app, "--migration-role", owner, stdout=StringIO())


def refused(statement: str, params=(), match: str = "permission denied") -> None:
    with (
        pytest.raises(DatabaseError, match=match),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, params or None)


def run(statement: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or None)
        return cursor.fetchall() if cursor.description else []


@pytest.mark.needs_postgresql
@pytest.mark.django_db
def test_the_app_role_appends_to_the_log_and_can_neither_change_it_nor_switch_its_triggers_off(
    county,
):
    suffix = uuid.uuid4().hex[:12]
    app, owner = f"samplan_test_app_{suffix}", f"samplan_test_owner_{suffix}"
    revoked = revoked_for_bob(county)
    run("SET CONSTRAINTS ALL IMMEDIATE")  # the county's deferred checks, before ALTER TABLE
    for statement in role_statements(app, owner):
        run(statement)
    earlier = audit(county.alice, Action.READ, "before the split")
    try:
        run(f"SET ROLE {app}")
        assert run("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user") == [
            (app, False)
        ]

        written = audit(county.alice, Action.READ, "sip_case")
        assert AuditEvent.objects.get(pk=written.pk).seq == earlier.seq + 1
        refused("UPDATE access_auditevent SET what = 'x' WHERE id = %s", [earlier.pk])
        refused("DELETE FROM access_auditevent WHERE id = %s", [earlier.pk])
        refused("TRUNCATE access_auditevent")
        refused("ALTER TABLE access_auditevent DISABLE TRIGGER USER", match="must be owner")
        refused("ALTER TABLE access_auditevent DISABLE TRIGGER ALL", match="must be owner")
        refused("DROP TRIGGER access_auditevent_no_change ON access_auditevent", match="owner")
        refused(
            "CREATE OR REPLACE FUNCTION access_auditevent_append_only() RETURNS trigger AS "
            "$$ BEGIN RETURN NULL; END; $$ LANGUAGE plpgsql",
            match="permission denied for schema|must be owner",
        )
        refused("SET session_replication_role = replica", match="permission denied")
        refused("CREATE TABLE access_shadow (id int)", match="permission denied")

        # A grant of emergency access and the record of a review: written once, never changed.
        grant = grant_emergency_access(county.bob, revoked.pk, REASON)
        record = LogReview.objects.create(
            reviewer=county.alice,
            organisation=county.region,
            period_start=dt.date(2026, 3, 1),
            period_end=dt.date(2026, 3, 31),
            scope="whole log",
            conclusion="Inget att anmärka.",
        )
        refused("UPDATE access_emergencyaccess SET reason = 'x' WHERE id = %s", [grant.pk])
        refused("DELETE FROM access_emergencyaccess WHERE id = %s", [grant.pk])
        refused("UPDATE access_logreview SET conclusion = 'x' WHERE id = %s", [record.pk])
        refused("DELETE FROM access_logreview WHERE id = %s", [record.pk])
        refused("TRUNCATE access_logreview")
        assert EmergencyAccess.objects.get(pk=grant.pk).reason == REASON

        # The rest of the app is the app's to write.
        unit = Unit.objects.get(pk=county.hemtjanst.pk)
        unit.name = "Hemtjänst Söder"
        unit.save()
        county.bob.set_password("a new passphrase for bob")
        county.bob.save()
        run("DELETE FROM django_session")
        refused("DELETE FROM django_migrations")
        assert Unit.objects.get(pk=unit.pk).name == "Hemtjänst Söder"
    finally:
        run("RESET ROLE")
        # The test's transaction rolls all of this back too; dropping says what was made.
        for role in (app, owner):
            run(f"REASSIGN OWNED BY {role} TO CURRENT_USER")
            run(f"DROP OWNED BY {role}")
            run(f"DROP ROLE {role}")
    assert not run("SELECT 1 FROM pg_roles WHERE rolname IN (%s, %s)", [app, owner])
    assert run(
        "SELECT tableowner = current_user FROM pg_tables WHERE tablename = %s",
        ["access_auditevent"],
    ) == [(True,)]
