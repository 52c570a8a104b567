from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scans", "0009_scan_unique_dicom_instance"),
    ]

    operations = [
        migrations.AddField(
            model_name="prediction",
            name="device",
            field=models.CharField(
                blank=True,
                help_text="The device that took the scan (DICOM Manufacturer / Model Name, or the booked OCT device).",
                max_length=160,
            ),
        ),
    ]
