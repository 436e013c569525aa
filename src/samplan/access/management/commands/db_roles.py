"""`manage.py db_roles --app-role samplan_app --migration-role samplan_owner`: the SQL that splits
the PostgreSQL roles, printed for a database superuser to run (`... | psql <admin URL>`).

The migration role owns every table and runs `migrate`. The app role owns nothing: it reads and
writes the app's tables, but on the audit log, the emergency access grants and the records of
log reviews it may only INSERT and SELECT. Not being the owner
(nor a superuser), it cannot ALTER the table to disable the append-only triggers, nor replace
their function, nor TRUNCATE. Run it again after every `migrate` (it is idempotent): new tables get
the app's rights from the default privileges, but only this re-asserts the append-only ones.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

AUDIT_TABLE = "access_auditevent"
# Records the app writes once and never changes (access/emergency.py, the log review): the
# emergency access reason and the record of a review. Their rows in the log hold a keyed
# fingerprint of them as well.
APPEND_ONLY_TABLES = ("access_emergencyaccess", "access_logreview")
# Written by `migrate` only; the app reads it (the unapplied-migrations warning).
MIGRATIONS_TABLE = "django_migrations"


def _name(role: str) -> str:
    if not role.replace("_", "").isalnum() or not role[0].isalpha() or role != role.lower():
        raise CommandError(f"{role!r}: use a lower-case role name of letters, digits and _.")
    return role


def role_statements(app_role: str, migration_role: str, schema: str = "public") -> list[str]:
    """Each statement on its own (DO blocks hold semicolons), in the order they must run."""
    app, owner, schema = _name(app_role), _name(migration_role), _name(schema)
    create = (
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
        "CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS; END IF; END $$"
    )
    return [
        # Log in with a password (\password in psql) or a certificate; neither is printed here.
        create.format(role=owner),
        create.format(role=app),
        f"ALTER ROLE {app} NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION",
        "DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO "
        f"{owner}, {app}', current_database()); END $$",
        f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {owner}",
        f"GRANT USAGE ON SCHEMA {schema} TO {app}",
        f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC",
        f"REVOKE CREATE ON SCHEMA {schema} FROM {app}",
        # Hand the tables, their sequences and the log's functions to the migration role.
        # (Names are checked by _name: letters, digits and _ only.)
        "DO $$ DECLARE item record; BEGIN "  # noqa: S608
        f"FOR item IN SELECT tablename FROM pg_tables WHERE schemaname = '{schema}' LOOP "
        f"EXECUTE format('ALTER TABLE {schema}.%I OWNER TO {owner}', item.tablename); END LOOP; "
        "FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p "
        f"JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = '{schema}' "
        f"AND p.proname LIKE '{AUDIT_TABLE}%' LOOP "
        f"EXECUTE format('ALTER FUNCTION %s OWNER TO {owner}', item.signature); END LOOP; END $$",
        # The app's rights on today's tables, and on those later migrations create.
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {app}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {app}",
        # The audit log: append and read, nothing else.
        f"REVOKE ALL ON {schema}.{AUDIT_TABLE} FROM PUBLIC, {app}",
        f"GRANT SELECT, INSERT ON {schema}.{AUDIT_TABLE} TO {app}",
        *(
            statement
            for table in APPEND_ONLY_TABLES
            for statement in (
                f"REVOKE ALL ON {schema}.{table} FROM PUBLIC, {app}",
                f"GRANT SELECT, INSERT ON {schema}.{table} TO {app}",
            )
        ),
        f"REVOKE ALL ON {schema}.{MIGRATIONS_TABLE} FROM PUBLIC, {app}",
        f"GRANT SELECT ON {schema}.{MIGRATIONS_TABLE} TO {app}",
    ]


class Command(BaseCommand):
    help = "Print the SQL that sets up the app role and the migration role on PostgreSQL."

    def add_arguments(self, parser):
        parser.add_argument("--app-role", default="samplan_app")
        parser.add_argument("--migration-role", default="samplan_owner")
        parser.add_argument("--schema", default="public")

    def handle(self, *args, app_role, migration_role, schema, **options):
        if app_role == migration_role:
            raise CommandError("The app role and the migration role must differ.")
        statements = role_statements(app_role, migration_role, schema)
        self.stdout.write(
            f"-- Samplan database roles for {connection.settings_dict.get('NAME') or 'Samplan'}: "
            "run as a superuser after `migrate`.\n"
            "BEGIN;\n" + "".join(f"{statement};\n" for statement in statements) + "COMMIT;"
        )
