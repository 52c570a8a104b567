"""Helpers for the AI-reading tests: a stored scan of a known size."""

from __future__ import annotations

import datetime as dt

from scans.services import scan_upload

SCAN_SIZE = (160, 120)


def bscan_png(*, seed: int = 1, size=SCAN_SIZE) -> bytes:
    """A phantom OCT B-scan (passes the OCT check, so it gets a label) as PNG bytes of the given size."""
    import io

    from PIL import Image

    from mlcore.phantom import phantom_bscan

    buffer = io.BytesIO()
    labels = ("CNV", "DME", "DRUSEN", "NORMAL")
    image = Image.fromarray(phantom_bscan(labels[seed % 4], seed=seed)).resize(size, Image.Resampling.BILINEAR)
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def uploaded_scan(patient, *, seed: int = 1, size=SCAN_SIZE, user=None):
    return scan_upload(
        patient=patient,
        eye="OD",
        acquired_on=dt.date(2026, 1, 5),
        file_name="b-scan.png",
        data=bscan_png(seed=seed, size=size),
        uploaded_by=user,
    )
