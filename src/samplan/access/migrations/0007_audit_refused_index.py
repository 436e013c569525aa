"""A partial index on the time of refused audit rows, for the log review (access/review.py)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0006_chain_existing_rows"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("outcome", "refused")),
                fields=["at"],
                name="audit_refused_at",
            ),
        ),
    ]
