from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="signed_out_everywhere_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="signed out everywhere at"
            ),
        ),
    ]
