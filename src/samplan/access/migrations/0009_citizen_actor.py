"""Min SIP: a private individual acting (the person, a guardian, a representative) is named in
the log by capacity and related party, never by identity number (access/citizen.py)."""

import importlib

import django.db.models.deletion
from django.db import migrations, models

_SECURITY = importlib.import_module("samplan.access.migrations.0005_audit_for_security")


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0008_log_review_organisation"),
        ("people", "0003_min_sip_identity"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="citizen_party",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="people.relatedparty",
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="citizen_role",
            field=models.CharField(blank=True, default="", db_default="", max_length=24),
        ),
        # SQLite adds a foreign key column by rebuilding the table, which drops its triggers.
        migrations.RunPython(_SECURITY.recreate_sqlite_triggers, migrations.RunPython.noop),
    ]
