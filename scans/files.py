"""Stored files: generated names, checksums, verified reads.

Names never contain anything from the upload (its name could carry PHI or ``../``). Every read
of a file a row points at is checked against the sha256 recorded at intake, so silent corruption
or tampering in the storage backend is caught before a clinician looks at the image.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import uuid
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from .errors import IntegrityError

logger = logging.getLogger(__name__)

ORIGINALS = "scans/originals"
DERIVED = "scans/derived"
DEIDENTIFIED = "scans/deidentified"
HEATMAPS = "scans/heatmaps"
DATASET_IMAGES = "datasets/images"
DATASET_UPLOADS = "datasets/uploads"
RECEIVED = "scans/received"  # DICOM instances held for reconciliation
MANAGED_PREFIXES = (ORIGINALS, DERIVED, DEIDENTIFIED, HEATMAPS, DATASET_IMAGES, DATASET_UPLOADS, RECEIVED)
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    name: str
    sha256: str
    size: int


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def generated_name(prefix: str, extension: str) -> str:
    now = timezone.now()
    return f"{prefix}/{now:%Y/%m}/{uuid.uuid4().hex}{extension}"


def file_store(*, prefix: str, extension: str, data: bytes) -> StoredFile:
    name = default_storage.save(generated_name(prefix, extension), ContentFile(data))
    return StoredFile(name=name, sha256=sha256_hex(data), size=len(data))


def file_delete_quietly(name: str) -> None:
    """Cleanup after a failure must not hide the original error; a leftover is swept later."""
    if not name:
        return
    try:
        default_storage.delete(name)
    except Exception:  # noqa: BLE001
        logger.warning("could not delete a stored scan file during cleanup; the orphan sweep will remove it")


def file_open_verified(name: str, sha256: str):
    """A file object positioned at 0 whose content matched ``sha256``; raises IntegrityError otherwise.

    The content is spooled (memory up to 16 MB, then a temporary file) so the hash is known before
    a single byte is sent to the browser.
    """
    digest = hashlib.sha256()
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - returned to the caller
    try:
        with default_storage.open(name, "rb") as source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                spool.write(chunk)
    except FileNotFoundError as exc:
        spool.close()
        raise IntegrityError("stored file is missing") from exc
    if digest.hexdigest() != sha256:
        spool.close()
        raise IntegrityError("stored file does not match its recorded checksum")
    spool.seek(0)
    return spool


def file_read_verified(name: str, sha256: str) -> bytes:
    with file_open_verified(name, sha256) as handle:
        return handle.read()


def storage_walk(prefix: str):
    """Yield every file name under ``prefix`` (works for the filesystem and S3 alike)."""
    try:
        directories, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return
    for file_name in files:
        yield f"{prefix}/{file_name}"
    for directory in directories:
        yield from storage_walk(f"{prefix}/{directory}")
