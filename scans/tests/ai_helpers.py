"""Helpers for the AI-reading tests: a stored scan of a known size."""

from __future__ import annotations

import datetime as dt

from scans.services import scan_upload
from scans.tests.builders import png_bytes

SCAN_SIZE = (160, 120)


def uploaded_scan(patient, *, seed: int = 1, size=SCAN_SIZE, user=None):
    return scan_upload(
        patient=patient,
        eye="OD",
        acquired_on=dt.date(2026, 1, 5),
        file_name="b-scan.png",
        data=png_bytes(seed=seed, size=size),
        uploaded_by=user,
    )
