"""The unique constraint behind the SOP Instance UID duplicate check (its own migration: PostgreSQL will not alter
a table in the transaction that just updated its rows)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scans", "0008_scan_sop_instance_uid"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="scan",
            constraint=models.UniqueConstraint(
                condition=models.Q(("sop_instance_uid", ""), _negated=True),
                fields=("patient", "sop_instance_uid"),
                name="scan_unique_dicom_instance_per_patient",
            ),
        ),
    ]
