"""Worklist fields: a device's DICOM AE title, and an accession number per appointment.

Existing appointments get their own random number (a callable default on AddField would give every row
the same one), then the column becomes unique and required.
"""

from django.db import migrations, models
from django.db.models import Q

import scheduling.models


def fill_accession_numbers(apps, schema_editor):
    Appointment = apps.get_model("scheduling", "Appointment")
    used: set[str] = set()
    for appointment in Appointment.objects.filter(accession_number__isnull=True).only("pk").iterator():
        number = scheduling.models.accession_number_new()
        while number in used:
            number = scheduling.models.accession_number_new()
        used.add(number)
        Appointment.objects.filter(pk=appointment.pk).update(accession_number=number)


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0002_no_show_schedule"),
    ]

    operations = [
        migrations.AddField(
            model_name="resource",
            name="dicom_ae_title",
            field=models.CharField(
                blank=True,
                help_text="The device's own AE title: its worklist shows the appointments booked on it (docs/dicom.md).",
                max_length=16,
                verbose_name="DICOM AE title",
            ),
        ),
        migrations.AddConstraint(
            model_name="resource",
            constraint=models.UniqueConstraint(
                condition=~Q(dicom_ae_title=""), fields=("dicom_ae_title",), name="resource_unique_dicom_ae_title"
            ),
        ),
        migrations.AddField(
            model_name="appointment",
            name="accession_number",
            field=models.CharField(editable=False, max_length=16, null=True),
        ),
        migrations.RunPython(fill_accession_numbers, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="appointment",
            name="accession_number",
            field=models.CharField(
                default=scheduling.models.accession_number_new,
                editable=False,
                help_text=(
                    "Sent to the device in the modality worklist; images that come back with it find this appointment."
                ),
                max_length=16,
                unique=True,
            ),
        ),
    ]
