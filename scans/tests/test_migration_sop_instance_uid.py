"""The migration that adds Scan.sop_instance_uid fills it from the DICOM metadata of stored scans; where a patient
already holds the same instance twice (what the missing check let through), the oldest scan keeps the UID and the
later copy stays empty, so the unique constraint can be added without deleting anything."""

import importlib

import pytest
from django.apps import apps

from scans.factories import ScanFactory
from scans.models import DicomMetadata, Scan

fill = importlib.import_module("scans.migrations.0008_scan_sop_instance_uid").sop_instance_uids_fill


@pytest.mark.django_db
def test_existing_scans_get_their_uid_and_duplicates_stay_empty(patient):
    first, copy, other = (ScanFactory(patient=patient) for _ in range(3))
    for scan, uid in ((first, "1.2.3.4"), (copy, "1.2.3.4"), (other, "1.2.3.5")):
        DicomMetadata.objects.create(scan=scan, sop_instance_uid=uid)
    raster = ScanFactory(patient=patient)
    Scan.objects.update(sop_instance_uid="")

    fill(apps, None)

    assert dict(Scan.objects.values_list("pk", "sop_instance_uid")) == {
        first.pk: "1.2.3.4",
        copy.pk: "",
        other.pk: "1.2.3.5",
        raster.pk: "",
    }
