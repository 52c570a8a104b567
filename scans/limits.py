"""Intake limits, each overridable in settings so a clinic with bigger volumes can raise them.

Read at call time (not import time) so tests and ``override_settings`` see the current value.
"""

from __future__ import annotations

from django.conf import settings

DEFAULTS = {
    # One uploaded file (an OCT volume can be large; a single B-scan is ~100 kB).
    "SCANS_MAX_UPLOAD_BYTES": 200 * 1024 * 1024,
    # Pixels per frame: Pillow's decompression-bomb guard, and the same cap for DICOM frames.
    "SCANS_MAX_PIXELS_PER_FRAME": 40_000_000,
    # Pixels over all frames of a volume (decoded into memory at intake).
    "SCANS_MAX_TOTAL_PIXELS": 400_000_000,
    "SCANS_MAX_FRAMES": 1024,
    # Archives for dataset import. Kermany OCT2017 has ~84,500 images and ~6 GB.
    "SCANS_ZIP_MAX_FILES": 150_000,
    "SCANS_ZIP_MAX_TOTAL_BYTES": 20 * 1024 * 1024 * 1024,
    "SCANS_ZIP_MAX_RATIO": 200,
    # Longest side of derived images.
    "SCANS_PREVIEW_MAX_SIDE": 2048,
    "SCANS_THUMBNAIL_MAX_SIDE": 256,
    # The orphan sweep leaves files younger than this alone: an upload may be between file and row.
    "SCANS_ORPHAN_GRACE_MINUTES": 60,
    # Server folders the admin page may import from (the command may read any path).
    "SCANS_DATASET_IMPORT_ROOTS": [],
    # AI readings per scan: the frames staff may choose for one volume (each is a model run and a heatmap).
    "SCANS_MAX_AI_FRAMES": 32,
    # The DICOM port (docs/dicom.md, "Connection limits"). A connection must have sent its whole association
    # request within DICOM_ASSOCIATION_TIMEOUT_SECONDS of connecting or it is closed (ARTIM, and a watchdog for
    # a peer stalled inside a PDU); DICOM_TIMEOUT_SECONDS stays the idle / message timeout of an association.
    "DICOM_ASSOCIATION_TIMEOUT_SECONDS": 10,
    # Concurrent associations (more: rejected "local limit exceeded"); connections that have not yet sent an
    # association request do not count.
    "DICOM_MAX_ASSOCIATIONS": 10,
    # Open TCP connections, associated or not: in all, and from one source address (more: closed at once).
    "DICOM_MAX_CONNECTIONS": 100,
    "DICOM_MAX_CONNECTIONS_PER_ADDRESS": 8,
}


def limit(name: str):
    return getattr(settings, name, DEFAULTS[name])


def human_bytes(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover
