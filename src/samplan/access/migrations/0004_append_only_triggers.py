"""Refuse UPDATE and DELETE on the audit log beneath the ORM, on SQLite and PostgreSQL."""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS access_auditevent_no_update BEFORE UPDATE ON access_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS access_auditevent_no_delete BEFORE DELETE ON access_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
]
POSTGRES = [
    """CREATE OR REPLACE FUNCTION access_auditevent_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit log is append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER access_auditevent_no_change BEFORE UPDATE OR DELETE ON access_auditevent
       FOR EACH ROW EXECUTE FUNCTION access_auditevent_append_only()""",
    # TRUNCATE bypasses row triggers; refuse it too (transactional tests lift it for their flush).
    """CREATE TRIGGER access_auditevent_no_truncate BEFORE TRUNCATE ON access_auditevent
       FOR EACH STATEMENT EXECUTE FUNCTION access_auditevent_append_only()""",
]


def create(apps, schema_editor):
    statements = {"sqlite": SQLITE, "postgresql": POSTGRES}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS access_auditevent_no_update")
        schema_editor.execute("DROP TRIGGER IF EXISTS access_auditevent_no_delete")
    elif vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS access_auditevent_no_change ON access_auditevent")
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS access_auditevent_no_truncate ON access_auditevent"
        )
        schema_editor.execute("DROP FUNCTION IF EXISTS access_auditevent_append_only()")


class Migration(migrations.Migration):
    dependencies = [("access", "0003_initial")]
    operations = [migrations.RunPython(create, drop)]
