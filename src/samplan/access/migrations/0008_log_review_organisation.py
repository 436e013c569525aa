"""Whose review a log review is (LogReview.organisation). Records written before it was asked get
the organisation where their reviewer held a security-officer assignment, when there is exactly
one; a record whose reviewer held it in several stays empty and is listed to no one (it cannot be
told whose it was)."""

import django.db.models.deletion
from django.db import migrations, models


def fill_organisation(apps, schema_editor):
    LogReview = apps.get_model("access", "LogReview")
    Assignment = apps.get_model("directory", "Assignment")
    for record in LogReview.objects.filter(organisation__isnull=True).iterator():
        organisations = set(
            Assignment.objects.filter(
                user_id=record.reviewer_id, role="security_officer"
            ).values_list("unit__organisation_id", flat=True)
        )
        if len(organisations) == 1:
            # The app's role may not UPDATE this table (db_roles); migrations run as the owner.
            LogReview.objects.filter(pk=record.pk).update(organisation_id=organisations.pop())


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0007_audit_refused_index"),
        ("directory", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="logreview",
            name="organisation",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="directory.organisation",
                verbose_name="organisation",
            ),
        ),
        migrations.RunPython(fill_organisation, migrations.RunPython.noop),
    ]
