"""PlanVersion.fhir_id: the id of the version's FHIR CarePlan, the same uuid5 the export has
always given it (samplan.fhir.ids), now kept so that the API finds a version by it."""

import uuid

from django.db import migrations, models

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:samplan:fhir")  # samplan.fhir.ids, frozen here
BATCH = 5000


def fill(apps, schema_editor):
    PlanVersion = apps.get_model("cases", "PlanVersion")
    pks = list(PlanVersion.objects.filter(fhir_id__isnull=True).values_list("pk", flat=True))
    for start in range(0, len(pks), BATCH):
        versions = [
            PlanVersion(pk=pk, fhir_id=uuid.uuid5(NAMESPACE, f"PlanVersion:{pk}"))
            for pk in pks[start : start + BATCH]
        ]
        PlanVersion.objects.bulk_update(versions, ["fhir_id"])


class Migration(migrations.Migration):
    dependencies = [("cases", "0007_caseevent_happened_at")]

    operations = [
        migrations.AddField(
            model_name="planversion",
            name="fhir_id",
            field=models.UUIDField(blank=True, editable=False, null=True, unique=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
