"""Backup and restore of the database and the media store, verified by checksum.

A backup is one ``.tar.gz`` holding ``db.json`` (Django's portable dumpdata, so a SQLite demo can be
restored into PostgreSQL and back), every media file under ``media/`` and ``manifest.json`` with the
sha256 of each member. Restore checks every checksum *before* touching anything, so a damaged or
tampered archive is refused whole instead of half-restored.

Media is read and written through Django's storage API, so the same commands work for the local
folder and for S3/MinIO.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

FORMAT = "octclinic-backup-1"
# Rebuilt by `migrate` itself; dumping them would clash on restore.
EXCLUDED_MODELS = ["contenttypes", "auth.permission", "sessions", "admin.logentry"]


class BackupError(Exception):
    """A backup or restore that can't go ahead; the message says why, naming the file."""


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    objects: int
    media_files: int


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _media_files(storage, folder: str = "") -> list[str]:
    directories, files = storage.listdir(folder)
    found = [str(PurePosixPath(folder) / name) if folder else name for name in files]
    for directory in directories:
        found.extend(_media_files(storage, str(PurePosixPath(folder) / directory) if folder else directory))
    return found


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(timezone.now().timestamp())
    tar.addfile(info, io.BytesIO(data))


def backup_create(*, output: Path, storage=None) -> BackupSummary:
    storage = storage or default_storage
    buffer = io.StringIO()
    call_command(
        "dumpdata", natural_foreign=True, natural_primary=True, exclude=EXCLUDED_MODELS, indent=None, stdout=buffer
    )
    db_bytes = buffer.getvalue().encode()
    manifest = {"format": FORMAT, "created_at": timezone.now().isoformat(), "files": {"db.json": _sha256(db_bytes)}}
    output.parent.mkdir(parents=True, exist_ok=True)
    media = sorted(_media_files(storage)) if _storage_has_root(storage) else []
    partial = output.with_suffix(output.suffix + ".partial")
    with tarfile.open(partial, "w:gz") as tar:
        _add(tar, "db.json", db_bytes)
        for name in media:
            with storage.open(name, "rb") as handle:
                data = handle.read()
            manifest["files"][f"media/{name}"] = _sha256(data)
            _add(tar, f"media/{name}", data)
        _add(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
    partial.replace(output)  # only a complete archive ever carries the final name
    return BackupSummary(path=output, objects=len(json.loads(db_bytes)), media_files=len(media))


def _storage_has_root(storage) -> bool:
    try:
        storage.listdir("")
    except FileNotFoundError:
        return False
    return True


def _read_verified(archive: Path) -> tuple[bytes, dict[str, bytes]]:
    if not archive.is_file():
        raise BackupError(f"{archive.name}: no such backup file")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = {}
            for member in tar.getmembers():
                name = PurePosixPath(member.name)
                if not member.isfile() or name.is_absolute() or ".." in name.parts:
                    raise BackupError(f"{archive.name}: refusing unsafe member {member.name!r}")
                members[member.name] = tar.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"{archive.name}: not a readable backup archive ({exc.__class__.__name__})") from exc
    if "manifest.json" not in members:
        raise BackupError(f"{archive.name}: manifest.json is missing")
    manifest = json.loads(members.pop("manifest.json"))
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive.name}: unknown backup format {manifest.get('format')!r}")
    expected = manifest["files"]
    for name, digest in expected.items():
        if name not in members:
            raise BackupError(f"{archive.name}: {name} is listed in the manifest but missing")
        if _sha256(members[name]) != digest:
            raise BackupError(f"{archive.name}: checksum mismatch for {name}")
    extra = set(members) - set(expected)
    if extra:
        raise BackupError(f"{archive.name}: files not in the manifest: {sorted(extra)[:3]}")
    db_bytes = members.pop("db.json")
    media = {name.removeprefix("media/"): data for name, data in members.items()}
    return db_bytes, media


def backup_restore(*, archive: Path, storage=None) -> BackupSummary:
    """Replace the database content and media with the backup's (after verifying all of it)."""
    storage = storage or default_storage
    db_bytes, media = _read_verified(archive)
    with tempfile.TemporaryDirectory() as tmp:
        fixture = Path(tmp) / "db.json"
        fixture.write_bytes(db_bytes)
        with transaction.atomic():
            call_command("flush", interactive=False, verbosity=0)
            call_command("loaddata", str(fixture), verbosity=0)
    for name, data in media.items():
        if storage.exists(name):
            storage.delete(name)
        saved = storage.save(name, ContentFile(data))
        if saved != name:
            raise BackupError(f"media file {name} could not be restored under its own name")
        with storage.open(name, "rb") as handle:
            if _sha256(handle.read()) != _sha256(data):
                raise BackupError(f"media file {name} failed verification after restore")
    return BackupSummary(path=archive, objects=len(json.loads(db_bytes)), media_files=len(media))
