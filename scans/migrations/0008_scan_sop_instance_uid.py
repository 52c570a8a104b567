"""Scan.sop_instance_uid: the DICOM instance a scan holds, so one instance is stored once per patient whichever
way it arrives. Filled from the DICOM metadata of scans already stored: where a patient already has the same
instance twice (the bug this fixes), the oldest scan keeps the UID and the later copies stay empty, so the unique
constraint of 0009 can be added; nothing is deleted."""

from django.db import migrations, models


def sop_instance_uids_fill(apps, schema_editor):
    Scan = apps.get_model("scans", "Scan")
    DicomMetadata = apps.get_model("scans", "DicomMetadata")
    seen: set[tuple[int, str]] = set()
    rows = (
        DicomMetadata.objects.exclude(sop_instance_uid="")
        .order_by("scan_id")
        .values_list("scan_id", "scan__patient_id", "sop_instance_uid")
    )
    for scan_id, patient_id, uid in rows.iterator():
        if (patient_id, uid) in seen:
            continue
        seen.add((patient_id, uid))
        Scan.objects.filter(pk=scan_id).update(sop_instance_uid=uid)


class Migration(migrations.Migration):
    dependencies = [
        ("scans", "0007_prediction_deferral_refusal"),
    ]

    operations = [
        migrations.AddField(
            model_name="scan",
            name="sop_instance_uid",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="A DICOM file's SOP Instance UID (empty for JPEG/PNG/TIFF): one instance is stored once per "
                "patient, whichever way it arrives (upload, API, C-STORE, PACS, reconciliation).",
                max_length=64,
                verbose_name="SOP Instance UID",
            ),
        ),
        migrations.RunPython(sop_instance_uids_fill, migrations.RunPython.noop),
    ]
