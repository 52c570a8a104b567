"""A process killed between 'file written' and 'row committed' leaves nothing behind for long."""

from __future__ import annotations

import datetime as dt
import io
import os
import time

import pydicom
import pytest
from django.core.management import call_command

from scans import files
from scans.factories import ScanFactory
from scans.models import Scan
from scans.reconciliation import received_instance_hold
from scans.services import storage_orphans_sweep
from scans.tests.builders import secondary_capture_bytes

from .conftest import stored_files


def _age(media_root, name, minutes):
    path = media_root / name
    old = time.time() - minutes * 60
    os.utime(path, (old, old))


@pytest.mark.django_db
def test_sweep_removes_old_orphan_files_and_keeps_young_ones_and_referenced_ones(media_root):
    scan = ScanFactory()
    for name in (scan.original.name, scan.preview.name, scan.thumbnail.name):
        _age(media_root, name, 600)
    # "Killed halfway": files written, the row never committed.
    old_orphan = files.file_store(prefix=files.ORIGINALS, extension=".png", data=b"old orphan").name
    young_orphan = files.file_store(prefix=files.DERIVED, extension=".png", data=b"young orphan").name
    _age(media_root, old_orphan, 120)

    report = storage_orphans_sweep(older_than_minutes=60)
    assert report.orphan_files == [old_orphan]
    assert report.young_files_skipped == 1
    remaining = stored_files(media_root)
    assert old_orphan not in remaining and young_orphan in remaining
    assert scan.original.name in remaining


@pytest.mark.django_db
def test_sweep_removes_rows_whose_file_is_missing(media_root):
    kept, broken = ScanFactory(), ScanFactory()
    Scan.objects.filter(pk__in=[kept.pk, broken.pk]).update(uploaded_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    (media_root / broken.original.name).unlink()
    report = storage_orphans_sweep(older_than_minutes=60, dry_run=True)
    assert report.scans_missing_file == [broken.pk] and Scan.objects.count() == 2
    report = storage_orphans_sweep(older_than_minutes=60)
    assert list(Scan.objects.values_list("pk", flat=True)) == [kept.pk]
    assert broken.preview.name not in stored_files(media_root)


@pytest.mark.django_db
def test_sweep_command(media_root, capsys):
    orphan = files.file_store(prefix=files.DEIDENTIFIED, extension=".dcm", data=b"x").name
    _age(media_root, orphan, 500)
    call_command("sweep_scan_orphans", "--older-than", "60")
    assert "removed 1 orphan files" in capsys.readouterr().out
    assert stored_files(media_root) == []


@pytest.mark.django_db
def test_sweep_covers_dicom_instances_held_for_reconciliation(media_root):
    data = secondary_capture_bytes()
    held = received_instance_hold(
        data=data,
        header=pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True),
        reason="unknown_patient",
        calling_ae_title="OCT1",
        acquired_on=None,
    )
    # A receiver killed after writing the file, before its row: under the same prefix, referenced by nothing.
    lost = files.file_store(prefix=files.RECEIVED, extension=".dcm", data=b"half-received").name
    for name in (held.file.name, lost):
        _age(media_root, name, 600)
    report = storage_orphans_sweep(older_than_minutes=60)
    assert report.orphan_files == [lost]
    assert held.file.name in stored_files(media_root)
