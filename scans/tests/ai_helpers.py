"""Helpers for the AI-reading tests: a stored scan of a known size."""

from __future__ import annotations

import datetime as dt

from scans.services import scan_upload

SCAN_SIZE = (160, 120)


def bscan_png(*, seed: int = 1, size=SCAN_SIZE) -> bytes:
    """A phantom OCT B-scan (passes the OCT check, so it gets a label) as PNG bytes of the given size."""
    from mlcore.phantom import phantom_png

    labels = ("CNV", "DME", "DRUSEN", "NORMAL")
    return phantom_png(labels[seed % 4], seed=seed, size=size)


def uploaded_scan(patient, *, seed: int = 1, size=SCAN_SIZE, user=None):
    return scan_upload(
        patient=patient,
        eye="OD",
        acquired_on=dt.date(2026, 1, 5),
        file_name="b-scan.png",
        data=bscan_png(seed=seed, size=size),
        uploaded_by=user,
    )


def upload_through_page(client, patient, files: dict[str, bytes], *, capture, eye: str = "OD", **form):
    """Post ``files`` to the upload page as a technician does, then run the classification each one queued.

    ``capture`` is pytest-django's ``django_capture_on_commit_callbacks``: the upload sends ``classify_scan``
    once its transaction commits; here the message is caught instead of reaching a broker, and the task runs in
    this process through Celery's ``apply`` (the task a worker would run, on the same database). Returns the
    response and the stored scans in upload order.
    """
    from unittest import mock

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from scans.models import Scan
    from scans.tasks import classify_scan

    queued: list[int] = []
    data = {"eye": eye, "acquired_on": dt.date(2026, 1, 5).isoformat(), **form}
    data["files"] = [SimpleUploadedFile(name, content) for name, content in files.items()]
    with mock.patch("scans.tasks.classify_scan.delay", side_effect=queued.append), capture(execute=True):
        response = client.post(reverse("scans:upload") + f"?patient={patient.pk}", data)
    for scan_id in queued:
        classify_scan.apply(args=[scan_id]).get()
    scans = sorted(Scan.objects.filter(patient=patient, pk__in=queued), key=lambda scan: queued.index(scan.pk))
    return response, scans
