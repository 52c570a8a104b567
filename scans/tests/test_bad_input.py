"""The bad-input corpus: every refusal names the file and the reason, and leaves no row and no file."""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGLSLossless

from scans.errors import IntakeError
from scans.models import DicomMetadata, Scan
from scans.services import scan_upload, scans_upload_batch

from .builders import TODAY, dicom_variant, png_bytes, raster_bytes
from .conftest import stored_files


def _cut(data: bytes, fraction: float = 0.5) -> bytes:
    return data[: int(len(data) * fraction)]


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image: the classic decompression bomb shape."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("CNV/a.jpeg", raster_bytes("JPEG"))
    return buffer.getvalue()


def _tiff_pages_of_different_size() -> bytes:
    buffer = io.BytesIO()
    first = Image.fromarray(np.zeros((20, 20), dtype=np.uint8))
    second = Image.fromarray(np.zeros((30, 10), dtype=np.uint8))
    first.save(buffer, format="TIFF", save_all=True, append_images=[second])
    return buffer.getvalue()


def _no_pixels(ds):
    del ds.PixelData
    del ds.Rows, ds.Columns


def _jpeg_ls(ds):
    ds.file_meta.TransferSyntaxUID = JPEGLSLossless
    ds.PixelData = encapsulate([b"\xff\xd8not-really-jpeg-ls\xff\xd9"])
    ds["PixelData"].VR = "OB"


def _short_pixels(ds):
    ds.PixelData = bytes(100)


def _ct(ds):
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"


def _too_many_frames(ds):
    ds.NumberOfFrames = 5
    ds.PixelData = bytes(256 * 5)


def _zero_rows(ds):
    ds.Rows = 0


def _no_sop_ct_modality(ds):
    del ds.SOPClassUID
    del ds.file_meta.MediaStorageSOPClassUID
    ds.Modality = "CT"


def _no_ts_wrong_length(ds):
    del ds.file_meta.TransferSyntaxUID
    ds.PixelData = bytes(300)


def _bare_dataset_without_image() -> bytes:
    # Group 0008 elements, explicit VR little endian, no preamble and no image attributes.
    element = struct.pack("<HH", 0x0008, 0x0060) + b"CS" + struct.pack("<H", 2) + b"OT"
    return element * 4


def _bare_dicom_without_meta() -> bytes:
    data = dicom_variant(lambda ds: None)
    return b"\x08\x00\x05\x00CS\x0a\x00ISO_IR 100" + data[400:600]


CORPUS = [
    # (kind, file name, bytes or builder, settings, expected reason fragment)
    ("empty", "empty.jpg", b"", {}, "the file is empty"),
    ("too large", "big.png", lambda: png_bytes(1), {"SCANS_MAX_UPLOAD_BYTES": 100}, "larger than the upload limit"),
    ("garbage", "noise.jpg", lambda: np.random.default_rng(3).bytes(4096), {}, "is not a JPEG, PNG, TIFF or DICOM"),
    ("text named .jpg", "notes.jpg", b"Patient felt fine. This is a text file.\n" * 10, {}, "is not a JPEG, PNG"),
    ("pdf", "report.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", {}, "is not a JPEG, PNG"),
    (
        "svg",
        "scan.png",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        {},
        "is not a JPEG",
    ),
    ("truncated jpeg", "cut.jpg", lambda: _cut(raster_bytes("JPEG", size=(256, 256))), {}, "JPEG data is truncated"),
    ("truncated png", "cut.png", lambda: _cut(png_bytes(2, size=(256, 256))), {}, "PNG data is truncated"),
    ("png header only", "hdr.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, {}, "PNG data is truncated or corrupt"),
    (
        "truncated tiff",
        "cut.tif",
        lambda: _cut(raster_bytes("TIFF", size=(128, 128)), 0.3),
        {},
        "TIFF data is truncated",
    ),
    ("tiff pages differ", "stack.tif", _tiff_pages_of_different_size, {}, "pages differ in size"),
    ("decompression bomb", "bomb.png", lambda: _png_declaring(100_000, 100_000), {}, "possible decompression bomb"),
    (
        "over pixel limit",
        "huge.png",
        lambda: png_bytes(4, size=(300, 300)),
        {"SCANS_MAX_PIXELS_PER_FRAME": 50_000},
        "more than the limit of 50,000",
    ),
    ("gif", "anim.gif", lambda: raster_bytes("GIF"), {}, "is a GIF image; only JPEG, PNG, TIFF and DICOM"),
    ("bmp", "scan.bmp", lambda: raster_bytes("BMP"), {}, "is a BMP image"),
    ("webp", "scan.webp", lambda: raster_bytes("WEBP"), {}, "is a WebP image"),
    ("zip", "scans.zip", _zip_bytes, {}, "is a ZIP archive; archives are not accepted"),
    ("gzip", "scan.dcm.gz", lambda: gzip.compress(png_bytes(5)), {}, "is a gzip archive"),
    ("dicom without pixel data", "sr.dcm", lambda: dicom_variant(_no_pixels), {}, "has no pixel data"),
    (
        "dicom unsupported transfer syntax",
        "jls.dcm",
        lambda: dicom_variant(_jpeg_ls),
        {},
        "transfer syntax JPEG-LS Lossless Image Compression (1.2.840.10008.1.2.4.80) is not supported",
    ),
    ("dicom pixel data too short", "short.dcm", lambda: dicom_variant(_short_pixels), {}, "pixel data is truncated"),
    (
        "dicom file truncated in header",
        "trunc.dcm",
        lambda: _cut(dicom_variant(lambda ds: None), 0.6),
        {},
        "has no pixel data (the file is truncated, or it is not an image)",
    ),
    (
        "dicom file truncated in pixels",
        "trunc2.dcm",
        lambda: _cut(dicom_variant(lambda ds: None), 0.95),
        {},
        "pixel data is truncated",
    ),
    (
        "dicom garbage after DICM",
        "junk.dcm",
        lambda: b"\x00" * 128 + b"DICM" + np.random.default_rng(9).bytes(600),
        {},
        "not a readable DICOM file",
    ),
    ("dicom preamble only", "empty.dcm", b"\x00" * 128 + b"DICM", {}, "DICOM"),
    ("dicom CT", "ct.dcm", lambda: dicom_variant(_ct), {}, "SOP class CT Image Storage"),
    (
        "dicom too many frames",
        "vol.dcm",
        lambda: dicom_variant(_too_many_frames),
        {"SCANS_MAX_FRAMES": 3},
        "5 frames, more than the limit of 3",
    ),
    ("dicom zero rows", "zero.dcm", lambda: dicom_variant(_zero_rows), {}, "zero rows"),
    (
        "dicom no SOP class, CT modality",
        "nosop.dcm",
        lambda: dicom_variant(_no_sop_ct_modality),
        {},
        "no SOP class and its modality (CT) is not an eye image",
    ),
    (
        "dicom no transfer syntax, odd pixel length",
        "nots.dcm",
        lambda: dicom_variant(_no_ts_wrong_length),
        {},
        "no transfer syntax and its pixel data is not plain uncompressed",
    ),
    ("bare dataset without image", "bare.dcm", _bare_dataset_without_image, {}, "no image attributes"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("kind,file_name,content,overrides,reason", CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_input_is_refused_with_reason_and_leaves_nothing(
    settings, media_root, patient, technician, kind, file_name, content, overrides, reason
):
    for name, value in overrides.items():
        setattr(settings, name, value)
    data = content() if callable(content) else content
    with pytest.raises(IntakeError) as caught:
        scan_upload(
            patient=patient, eye="OD", acquired_on=TODAY, file_name=file_name, data=data, uploaded_by=technician
        )
    message = caught.value.message
    assert message.startswith(f"{file_name}: "), message
    assert reason in message, message
    assert patient.mrn not in message and patient.last_name not in message
    assert Scan.objects.count() == 0
    assert DicomMetadata.objects.count() == 0
    assert stored_files(media_root) == []


def test_corpus_has_at_least_twenty_kinds():
    assert len({c[0] for c in CORPUS}) >= 20


@pytest.mark.django_db
def test_a_batch_stores_the_good_files_and_reports_the_bad_one(media_root, patient, technician):
    from django.core.files.uploadedfile import SimpleUploadedFile

    uploads = [
        SimpleUploadedFile("good-1.png", png_bytes(11), content_type="image/png"),
        SimpleUploadedFile("bad.jpg", b"definitely not a jpeg", content_type="image/jpeg"),
        SimpleUploadedFile("good-2.jpg", raster_bytes("JPEG", seed=12), content_type="image/jpeg"),
    ]
    outcomes = scans_upload_batch(patient=patient, eye="OS", acquired_on=TODAY, uploads=uploads, uploaded_by=technician)
    assert [o.status for o in outcomes] == ["stored", "refused", "stored"]
    assert outcomes[1].message.startswith("bad.jpg: is not a JPEG, PNG, TIFF or DICOM")
    assert Scan.objects.count() == 2
    # Two scans x (original, preview, thumbnail); nothing from the bad file.
    assert len(stored_files(media_root)) == 6


@pytest.mark.django_db
def test_failure_after_files_were_written_removes_them(media_root, patient, technician, monkeypatch):
    """The row insert fails (database down, constraint): the already written files go too."""
    from scans import services

    def broken_create(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services.Scan.objects, "create", broken_create)
    with pytest.raises(RuntimeError):
        scan_upload(
            patient=patient, eye="OD", acquired_on=TODAY, file_name="ok.png", data=png_bytes(21), uploaded_by=technician
        )
    assert stored_files(media_root) == []
    assert Scan.objects.count() == 0


@pytest.mark.django_db
def test_failure_writing_dicom_metadata_rolls_back_the_scan_row_and_files(media_root, patient, technician, monkeypatch):
    from scans import services

    from .builders import secondary_capture_bytes

    def broken_create(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.DicomMetadata.objects, "create", broken_create)
    with pytest.raises(RuntimeError):
        scan_upload(
            patient=patient,
            eye="OD",
            acquired_on=TODAY,
            file_name="sc.dcm",
            data=secondary_capture_bytes(),
            uploaded_by=technician,
        )
    assert Scan.objects.count() == 0
    assert stored_files(media_root) == []
