"""The nightly beat run of the orphan sweep: files nobody references go, clinical rows are never deleted by it."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from django_celery_beat.models import PeriodicTask

from scans import files, tasks
from scans.factories import ScanFactory
from scans.models import Scan

from .conftest import stored_files


@pytest.mark.django_db
def test_the_nightly_sweep_is_scheduled():
    task = PeriodicTask.objects.get(name="Remove orphan scan files")
    assert (task.task, task.enabled, task.interval) == ("scans.tasks.sweep_orphan_files", True, None)
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("30", "3", "*")


@pytest.mark.django_db
def test_the_nightly_run_removes_an_old_orphan_heatmap_and_only_reports_a_row_without_its_file(media_root):
    # What a worker killed after writing its heatmap, before committing the reading, leaves behind.
    heatmap = files.file_store(prefix=files.DERIVED, extension=".png", data=b"a killed reading's heatmap").name
    old = time.time() - 2 * 24 * 3600
    os.utime(media_root / heatmap, (old, old))
    young = files.file_store(prefix=files.DERIVED, extension=".png", data=b"an upload in progress").name
    broken = ScanFactory()
    Scan.objects.filter(pk=broken.pk).update(uploaded_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    (media_root / broken.original.name).unlink()

    tasks.sweep_orphan_files.apply().get()

    remaining = stored_files(media_root)
    assert heatmap not in remaining and young in remaining
    assert Scan.objects.filter(pk=broken.pk).exists()  # left for an operator (manage.py sweep_scan_orphans)
    assert broken.preview.name in remaining
