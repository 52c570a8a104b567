"""Reading dataset archives and folders without trusting them.

Zip files are checked from the central directory before anything is extracted (entry count, total
declared size, unsafe names, symlinks, encryption), then each member is read with a hard cap so a
member that lies about its size cannot exhaust memory. Folders are walked without following links.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from . import sniffing
from .errors import IntakeError
from .limits import human_bytes, limit

IGNORED_PARTS = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class Member:
    """One file of a dataset source: its path relative to the source root, with forward slashes."""

    path: str
    size: int


def is_ignored(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return any(part in IGNORED_PARTS or part.startswith(".") for part in parts)


def _unsafe_name(name: str) -> bool:
    if not name or "\x00" in name or "\\" in name:
        return True
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return True
    return any(part == ".." for part in name.split("/"))


class ZipSource:
    def __init__(self, path_or_file):
        self.label = Path(str(getattr(path_or_file, "name", path_or_file))).name
        try:
            self.zip = zipfile.ZipFile(path_or_file)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise IntakeError("is not a readable ZIP archive (truncated or corrupt)", file_name=self.label) from exc
        self._check(infos)
        self.infos = {info.filename: info for info in infos if not info.is_dir() and not is_ignored(info.filename)}

    def _check(self, infos) -> None:
        if len(infos) > limit("SCANS_ZIP_MAX_FILES"):
            raise IntakeError(
                f"the archive has {len(infos):,} entries, more than the limit of {limit('SCANS_ZIP_MAX_FILES'):,}",
                file_name=self.label,
            )
        total = sum(info.file_size for info in infos)
        if total > limit("SCANS_ZIP_MAX_TOTAL_BYTES"):
            raise IntakeError(
                f"the archive unpacks to {human_bytes(total)}, more than the limit of "
                f"{human_bytes(limit('SCANS_ZIP_MAX_TOTAL_BYTES'))}",
                file_name=self.label,
            )
        for index, info in enumerate(infos, start=1):
            if _unsafe_name(info.filename):
                raise IntakeError(
                    f"the archive contains an unsafe path (entry {index}: absolute, '..' or backslash); "
                    "nothing was imported",
                    file_name=self.label,
                )
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise IntakeError(
                    f"the archive contains a symbolic link (entry {index}); nothing was imported",
                    file_name=self.label,
                )
            if info.flag_bits & 0x1:
                raise IntakeError("the archive is encrypted; nothing was imported", file_name=self.label)

    def members(self) -> list[Member]:
        return [Member(path=name, size=info.file_size) for name, info in sorted(self.infos.items())]

    def read(self, member: Member) -> bytes:
        info = self.infos[member.path]
        cap = min(limit("SCANS_MAX_UPLOAD_BYTES"), info.file_size)
        if info.file_size > limit("SCANS_MAX_UPLOAD_BYTES"):
            raise IntakeError(
                f"the file is larger than the upload limit of {human_bytes(limit('SCANS_MAX_UPLOAD_BYTES'))}"
            )
        if info.compress_size and info.file_size / info.compress_size > limit("SCANS_ZIP_MAX_RATIO"):
            raise IntakeError("the file is compressed more than any image plausibly is (possible zip bomb)")
        try:
            with self.zip.open(info) as handle:
                data = handle.read(cap + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise IntakeError("cannot be read from the archive (corrupt entry)") from exc
        if len(data) > cap:
            raise IntakeError("the file is larger inside the archive than its header declares")
        _refuse_nested(data)
        return data

    def close(self) -> None:
        self.zip.close()


class FolderSource:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.label = self.root.name
        if not self.root.is_dir():
            raise IntakeError("is not a folder that can be read", file_name=str(root))
        self.links: list[str] = []
        self._members: list[Member] = []
        for directory, dirnames, filenames in os.walk(self.root, followlinks=False):
            base = Path(directory)
            for name in list(dirnames):
                if (base / name).is_symlink():
                    self.links.append((base / name).relative_to(self.root).as_posix())
                    dirnames.remove(name)
            for name in filenames:
                full = base / name
                relative = full.relative_to(self.root).as_posix()
                if is_ignored(relative):
                    continue
                if full.is_symlink():
                    self.links.append(relative)
                    continue
                self._members.append(Member(path=relative, size=full.stat().st_size))
        count = len(self._members) + len(self.links)
        if count > limit("SCANS_ZIP_MAX_FILES"):
            raise IntakeError(
                f"the folder has {count:,} files, more than the limit of {limit('SCANS_ZIP_MAX_FILES'):,}",
                file_name=self.label,
            )
        self._members.sort(key=lambda m: m.path)

    def members(self) -> list[Member]:
        return list(self._members)

    def read(self, member: Member) -> bytes:
        if member.size > limit("SCANS_MAX_UPLOAD_BYTES"):
            raise IntakeError(
                f"the file is larger than the upload limit of {human_bytes(limit('SCANS_MAX_UPLOAD_BYTES'))}"
            )
        path = self.root / member.path
        # Open without following a link swapped in after the walk.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(limit("SCANS_MAX_UPLOAD_BYTES") + 1)
        _refuse_nested(data)
        return data

    def close(self) -> None:
        pass


def _refuse_nested(data: bytes) -> None:
    kind, label = sniffing.sniff(data[:512])
    if kind == sniffing.ARCHIVE:
        raise IntakeError(f"is a nested {label} archive; archives inside a dataset are not opened", code="nested")


def source_open(path) -> ZipSource | FolderSource:
    path = Path(path)
    if path.is_dir():
        return FolderSource(path)
    if path.is_file():
        with open(path, "rb") as handle:
            kind, label = sniffing.sniff(handle.read(512))
        if kind == sniffing.ARCHIVE and label == "ZIP":
            return ZipSource(path)
        raise IntakeError("is neither a folder nor a ZIP archive", file_name=path.name)
    raise IntakeError("does not exist", file_name=str(path))


def iter_members(source) -> Iterator[Member]:
    yield from source.members()
