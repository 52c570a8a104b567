"""Real Kermany JPEGs and real ophthalmic DICOMs from ../shared, in and out again byte for byte."""

from __future__ import annotations

import csv
import hashlib

import pytest
from django.urls import reverse
from PIL import Image

from scans.models import FileFormat, Scan
from scans.services import scan_upload

from .builders import TODAY, opt_volume_bytes
from .conftest import SHARED_OCT


def _download(client, scan, kind="original") -> bytes:
    response = client.get(reverse("scans:file", kwargs={"uuid": scan.uuid, "kind": kind}))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    return b"".join(response.streaming_content)


@pytest.mark.django_db
def test_real_kermany_jpegs_round_trip(kermany_jpegs, patient, technician, technician_client):
    with open(SHARED_OCT / "manifest.csv", newline="") as handle:
        manifest = {row["path"]: row for row in csv.DictReader(handle)}
    for path in kermany_jpegs[:: max(1, len(kermany_jpegs) // 4)][:4]:
        data = path.read_bytes()
        scan = scan_upload(
            patient=patient, eye="OD", acquired_on=TODAY, file_name=path.name, data=data, uploaded_by=technician
        )
        row = manifest[path.relative_to(SHARED_OCT).as_posix()]
        assert scan.file_format == FileFormat.JPEG
        assert scan.sha256 == row["sha256"] == hashlib.sha256(data).hexdigest()
        assert (scan.width, scan.height) == (int(row["width"]), int(row["height"]))
        assert scan.original.name.startswith("scans/originals/") and path.stem not in scan.original.name
        assert _download(technician_client, scan) == data  # the original is never modified
        preview = Image.open(scan.preview.open("rb"))
        assert preview.mode == "L" and preview.size == (scan.width, scan.height)
        thumb = Image.open(scan.thumbnail.open("rb"))
        assert max(thumb.size) == 256


@pytest.mark.django_db
def test_real_spectralis_op_dicom(spectralis_path, patient, technician, technician_client):
    data = spectralis_path.read_bytes()
    scan = scan_upload(
        patient=patient,
        eye="OD",
        acquired_on=TODAY,
        file_name=spectralis_path.name,
        data=data,
        uploaded_by=technician,
        confirm_identity_mismatch=True,
    )
    meta = scan.dicom
    assert meta.modality == "OP"
    assert meta.sop_class_uid == "1.2.840.10008.5.1.4.1.1.77.1.5.1"
    assert meta.laterality == "OD"
    assert meta.manufacturer == "Heidelberg Engineering" and meta.model_name == "Spectralis"
    assert (meta.rows, meta.columns, meta.number_of_frames) == (768, 768, 1)
    assert meta.pixel_spacing_row_mm == pytest.approx(0.011433)
    assert meta.acquisition_datetime.strftime("%Y-%m-%d %H:%M:%S") == "2016-10-12 15:35:50"
    assert _download(technician_client, scan) == data
    assert scan.deidentified.name and _download(technician_client, scan, "deidentified") != data


@pytest.mark.django_db
def test_almost_dicom_without_transfer_syntax_is_read_with_care(nonstandard_no_ts_path, patient, technician):
    scan = scan_upload(
        patient=patient,
        eye="OS",
        acquired_on=TODAY,
        file_name="slice.dcm",
        data=nonstandard_no_ts_path.read_bytes(),
        uploaded_by=technician,
        confirm_identity_mismatch=True,
    )
    assert (scan.width, scan.height) == (879, 586)
    assert scan.dicom.modality == "OCT" and scan.dicom.sop_class_uid == ""
    assert any("no transfer syntax" in w for w in scan.warnings)
    assert any("no SOP class" in w for w in scan.warnings)
    assert scan.original.open("rb").read() == nonstandard_no_ts_path.read_bytes()


@pytest.mark.django_db
def test_fixed_nonstandard_oct_dicom(nonstandard_fixed_path, patient, technician):
    scan = scan_upload(
        patient=patient,
        eye="OS",
        acquired_on=TODAY,
        file_name="fixed.dcm",
        data=nonstandard_fixed_path.read_bytes(),
        uploaded_by=technician,
        confirm_identity_mismatch=True,
    )
    assert scan.dicom.transfer_syntax_uid == "1.2.840.10008.1.2.1"
    assert not any("no transfer syntax" in w for w in scan.warnings)


@pytest.mark.django_db
def test_opt_volume_built_from_real_jpegs(kermany_jpegs, patient, technician, technician_client):
    data = opt_volume_bytes(kermany_jpegs[:7])
    scan = scan_upload(
        patient=patient, eye="OD", acquired_on=TODAY, file_name="volume.dcm", data=data, uploaded_by=technician
    )
    assert scan.frame_count == 7 and scan.ai_frames == [3]  # the central B-scan by default
    meta = scan.dicom
    assert meta.sop_class_uid == "1.2.840.10008.5.1.4.1.1.77.1.5.4" and meta.modality == "OPT"
    assert meta.number_of_frames == 7 and meta.laterality == "OD"
    assert meta.pixel_spacing_row_mm == pytest.approx(0.0039) and meta.slice_thickness_mm == pytest.approx(0.12)
    assert _download(technician_client, scan) == data
    assert Scan.objects.count() == 1
