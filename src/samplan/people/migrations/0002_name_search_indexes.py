"""Name search uses case-insensitive prefix matches (UPPER(name) LIKE 'ABC%'). On PostgreSQL an
expression index with varchar_pattern_ops serves them whatever the database's collation; SQLite
keeps a single table scan, which is fine at the sizes it is used for."""

from django.db import migrations

INDEXES = {
    "person_family_name_upper": "family_name",
    "person_given_name_upper": "given_name",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON people_person "
            f"(UPPER({column}::text) varchar_pattern_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
