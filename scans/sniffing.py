"""Decide what a file is from its first bytes, never from its name or the browser's content type."""

from __future__ import annotations

JPEG = "jpeg"
PNG = "png"
TIFF = "tiff"
DICOM = "dicom"
DICOM_RAW = "dicom-raw"  # no 128-byte preamble / "DICM": maybe a bare dataset, parsed only with care
ARCHIVE = "archive"
OTHER_IMAGE = "other-image"

_ARCHIVES = (
    (b"PK\x03\x04", "ZIP"),
    (b"PK\x05\x06", "ZIP"),
    (b"\x1f\x8b", "gzip"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip"),
    (b"Rar!\x1a\x07", "RAR"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)
_OTHER_IMAGES = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "Photoshop"),
)


def sniff(head: bytes) -> tuple[str | None, str]:
    """Return (kind, label) for the first bytes of a file; kind None means unrecognised.

    ``head`` should be at least 264 bytes where the file has them (tar keeps its magic at 257).
    """
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG, "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG, "PNG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return TIFF, "TIFF"
    if len(head) >= 132 and head[128:132] == b"DICM":
        return DICOM, "DICOM"
    for magic, label in _ARCHIVES:
        if head.startswith(magic):
            return ARCHIVE, label
    if len(head) >= 262 and head[257:262] == b"ustar":
        return ARCHIVE, "tar"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return OTHER_IMAGE, "WebP"
    for magic, label in _OTHER_IMAGES:
        if head.startswith(magic):
            return OTHER_IMAGE, label
    if _looks_like_bare_dataset(head):
        return DICOM_RAW, "DICOM (no file header)"
    return None, ""


def _looks_like_bare_dataset(head: bytes) -> bool:
    """A DICOM dataset written without preamble: starts with a group 0x0002 or 0x0008 element.

    Little endian group numbers; the first element's tag must be small and its VR (explicit) or
    length (implicit) plausible. Cheap and conservative: pydicom decides for real.
    """
    if len(head) < 8:
        return False
    group = int.from_bytes(head[0:2], "little")
    if group not in (0x0002, 0x0008):
        return False
    vr = head[4:6]
    if vr.isalpha() and vr.isupper():
        return True
    length = int.from_bytes(head[4:8], "little")
    return length < 1024
