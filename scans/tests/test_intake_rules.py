"""Intake rules that every path applies (issue #18 part 5, issue #17 part 5): what is stored can be read, dates are
plausible on every path, one DICOM instance is one scan whichever way it came, and one click can't queue a reading
of every B-scan of a volume."""

from __future__ import annotations

import datetime as dt
import io
import struct
from pathlib import Path

import numpy as np
import pydicom
import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from scans.dicom_receiver import DATASET_DOES_NOT_MATCH_SOP_CLASS, dicom_instance_receive
from scans.errors import IntakeError
from scans.models import AiStatus, Prediction, ReceivedInstance, ReceivedInstanceStatus, Scan
from scans.reconciliation import received_instance_assign
from scans.services import scan_frames_select, scan_upload, scans_upload_batch
from scans.tests.ai_helpers import bscan_png, upload_through_page
from scans.tests.builders import opt_volume_bytes, png_bytes
from scans.tests.conftest import stored_files
from scans.tests.dicom_peers import dicom_file, dicom_server_fixture, orthanc_fixture, storescu  # noqa: F401

# --- What is stored can be read ---------------------------------------------------------------------------------


def deep(fmt: str, *, seed: int = 2) -> bytes:
    """A phantom B-scan as a 16-bit grayscale PNG or TIFF (values spread over the whole 16-bit range)."""
    gray = np.asarray(Image.open(io.BytesIO(bscan_png(seed=seed))).convert("L"), dtype=np.uint16) * 257
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.django_db
def test_16_bit_png_and_tiff_get_an_ai_reading(
    technician_client, patient, deployed_model, django_capture_on_commit_callbacks
):
    files = {"deep.png": deep("PNG"), "deep.tif": deep("TIFF")}
    assert {Image.open(io.BytesIO(data)).mode for data in files.values()} == {"I;16"}
    response, scans = upload_through_page(technician_client, patient, files, capture=django_capture_on_commit_callbacks)
    assert response.content.decode().count('data-status="stored"') == 2
    for scan in scans:
        scan.refresh_from_db()
        assert scan.ai_status == AiStatus.CLASSIFIED, scan.ai_error  # was "16-bit images are not supported"
        assert Prediction.objects.filter(scan=scan, model_version=deployed_model).count() == 1


def png_with_bad_idat_checksum() -> bytes:
    data = bytearray(png_bytes(seed=5))
    at = data.find(b"IDAT")
    length = struct.unpack(">I", data[at - 4 : at])[0]
    data[at + 4 + length] ^= 0xFF  # first byte of the chunk's CRC
    return bytes(data)


@pytest.mark.django_db
def test_a_png_with_a_bad_idat_checksum_is_refused_and_nothing_stored(patient, technician, media_root):
    damaged = png_with_bad_idat_checksum()
    Image.open(io.BytesIO(damaged)).load()  # Pillow alone decodes it without complaint
    with pytest.raises(IntakeError) as refused:
        scan_upload(
            patient=patient,
            eye="OD",
            acquired_on=dt.date(2026, 1, 5),
            file_name="damaged.png",
            data=damaged,
            uploaded_by=technician,
        )
    assert refused.value.code == "corrupt" and "truncated or corrupt" in refused.value.message
    assert refused.value.message.startswith("damaged.png: ")
    assert not Scan.objects.exists() and stored_files(media_root) == []


# --- Acquisition dates, one rule for every path -----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("day", ["0001-01-01", "1800-01-01", "1960-03-13"])
def test_acquisition_dates_before_the_patients_birth_are_refused_on_the_upload_page(technician_client, patient, day):
    response = technician_client.post(
        reverse("scans:upload") + f"?patient={patient.pk}",
        {"eye": "OD", "acquired_on": day, "files": [_uploaded("b.png", png_bytes())]},
    )
    assert response.status_code == 400
    assert "The acquisition date is before the patient&#x27;s date of birth." in response.content.decode()
    assert not Scan.objects.exists()


@pytest.mark.django_db
def test_the_service_applies_the_date_rules_to_every_caller(patient, technician):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    for day, reason in (
        (tomorrow, "the acquisition date is in the future"),
        (dt.date(1, 1, 1), "the acquisition date is before the patient's date of birth"),
        (dt.date(1800, 1, 1), "the acquisition date is before the patient's date of birth"),
    ):
        outcomes = scans_upload_batch(
            patient=patient,
            eye="OD",
            acquired_on=day,
            uploads=[_uploaded("b.png", png_bytes())],
            uploaded_by=technician,
        )
        assert [(o.status, o.message) for o in outcomes] == [("refused", f"b.png: {reason}")]
    assert scan_upload(
        patient=patient,
        eye="OD",
        acquired_on=patient.date_of_birth,
        file_name="b.png",
        data=png_bytes(),
        uploaded_by=technician,
    )


def dicom_acquired(day: dt.date, **identity) -> bytes:
    from scans.tests.builders import secondary_capture_bytes

    ds = pydicom.dcmread(io.BytesIO(secondary_capture_bytes(**identity)))
    for keyword in ("AcquisitionDateTime", "ContentDate", "StudyDate", "SeriesDate"):
        ds.data_element(keyword).value = f"{day:%Y%m%d}" + ("101500" if keyword == "AcquisitionDateTime" else "")
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.mark.django_db
def test_dicom_intake_refuses_future_and_pre_birth_dates(patient, media_root):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    cases = [
        (dicom_acquired(tomorrow, patient_id=patient.mrn), "the acquisition date is in the future"),
        (dicom_acquired(dt.date(1800, 1, 1), patient_id=patient.mrn), "before the patient's date of birth"),
        # A patient we don't know would be held for reconciliation: a future date is refused before that.
        (dicom_acquired(tomorrow, patient_id="NOBODY-1"), "the acquisition date is in the future"),
    ]
    for data, reason in cases:
        outcome = dicom_instance_receive(data=data, calling_ae_title="OCT1")
        assert (outcome.status, outcome.result) == (DATASET_DOES_NOT_MATCH_SOP_CLASS, "refused")
        assert reason in outcome.reason
    assert not Scan.objects.exists() and not ReceivedInstance.objects.exists()
    assert stored_files(media_root) == []


@pytest.mark.django_db
def test_a_held_instance_is_not_assigned_with_a_date_before_the_birth(patient, technician):
    held = dicom_instance_receive(data=dicom_acquired(dt.date(1800, 1, 1), patient_id="NOBODY-2"), calling_ae_title="X")
    assert held.result == "held"
    instance = ReceivedInstance.objects.get(pk=held.held_id)
    with pytest.raises(IntakeError, match="before the patient's date of birth"):
        received_instance_assign(
            instance=instance, patient=patient, eye="OD", user=technician, confirm_identity_mismatch=True
        )
    instance.refresh_from_db()
    assert instance.status == ReceivedInstanceStatus.PENDING and not Scan.objects.exists()


@pytest.mark.django_db
def test_the_api_refuses_a_date_before_the_birth(patient):
    from octclinic.api_testing import error_of, persona_client

    response = persona_client("technician").post(
        "/api/v1/scans/",
        {"patient": patient.pk, "eye": "OD", "acquired_on": "1800-01-01", "files": [_uploaded("b.png", png_bytes())]},
        format="multipart",
    )
    assert response.status_code == 400
    assert error_of(response)["fields"]["acquired_on"] == [
        "The acquisition date is before the patient's date of birth."
    ]
    assert not Scan.objects.exists()


def test_a_pacs_retrieval_refuses_an_instance_dated_before_the_birth(orthanc, patient, technician):
    from scans.models import PacsRetrieval, PacsRetrievalStatus
    from scans.pacs_services import pacs_retrieval_run

    study = "1.2.826.0.1.3680043.8.498.77"
    orthanc.store(_with_study(dicom_acquired(dt.date(1800, 1, 1), patient_id=patient.mrn), study))
    retrieval = PacsRetrieval.objects.create(patient=patient, study_instance_uid=study, requested_by=technician)
    pacs_retrieval_run(retrieval_id=retrieval.pk)
    retrieval.refresh_from_db()
    assert (retrieval.status, retrieval.stored, retrieval.refused) == (PacsRetrievalStatus.DONE, 0, 1)
    assert not Scan.objects.exists() and not ReceivedInstance.objects.exists()


def _with_study(data: bytes, study_uid: str) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(data))
    ds.StudyInstanceUID = study_uid
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


# --- One DICOM instance, one scan -------------------------------------------------------------------------------


def test_an_instance_uploaded_on_the_web_and_sent_over_c_store_is_one_scan(
    dicom_server, technician_client, patient, tmp_path, django_capture_on_commit_callbacks
):
    data = opt_volume(tmp_path, frames=3)
    response, scans = upload_through_page(
        technician_client, patient, {"volume.dcm": data}, capture=django_capture_on_commit_callbacks
    )
    assert len(scans) == 1
    sent = storescu(port=dicom_server, files=[dicom_file(tmp_path, data)])
    assert sent.returncode == 0, sent.stderr[-2000:]  # "already stored" is success for the device
    assert Scan.objects.filter(patient=patient).count() == 1  # was 2: C-STORE re-encodes, so other bytes
    assert not ReceivedInstance.objects.exists()
    assert scans[0].sop_instance_uid == pydicom.dcmread(io.BytesIO(data)).SOPInstanceUID


@pytest.mark.django_db
def test_the_same_instance_in_other_bytes_is_a_duplicate_for_uploads_too(patient, technician, tmp_path):
    data = opt_volume(tmp_path, frames=3)
    first = scan_upload(
        patient=patient, eye="OD", acquired_on=dt.date(2026, 1, 5), file_name="a.dcm", data=data, uploaded_by=technician
    )
    ds = pydicom.dcmread(io.BytesIO(data))
    ds.file_meta.ImplementationVersionName = "OTHER_EXPORT"  # same instance, re-exported: other bytes
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    assert buffer.getvalue() != data
    outcomes = scans_upload_batch(
        patient=patient,
        eye="OD",
        acquired_on=dt.date(2026, 1, 5),
        uploads=[_uploaded("again.dcm", buffer.getvalue())],
        uploaded_by=technician,
    )
    assert outcomes[0].status == "duplicate" and f"scan #{first.pk}" in outcomes[0].message
    assert "SOP Instance UID" in outcomes[0].message and ds.SOPInstanceUID not in outcomes[0].message
    assert Scan.objects.count() == 1


# --- AI frames per scan ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_ai_frames_per_scan_are_capped(technician_client, patient, technician, tmp_path, settings):
    settings.SCANS_MAX_AI_FRAMES = 3
    volume = scan_upload(
        patient=patient,
        eye="OD",
        acquired_on=dt.date(2026, 1, 5),
        file_name="vol.dcm",
        data=opt_volume(tmp_path, frames=6),
        uploaded_by=technician,
    )
    url = reverse("scans:ai_frames", kwargs={"uuid": volume.uuid})
    refused = technician_client.post(url, {"frames": "1-6"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert "At most 3 frames of a scan can be read by the AI; 6 were chosen." in refused.content.decode()
    volume.refresh_from_db()
    assert volume.ai_frames == [3]
    with pytest.raises(IntakeError, match="at most 3 frames"):
        scan_frames_select(scan=volume, frames=range(6), user=technician)
    assert technician_client.post(url, {"frames": "1-3"}, HTTP_HX_REQUEST="true").status_code == 200
    volume.refresh_from_db()
    assert volume.ai_frames == [0, 1, 2]


def test_the_default_cap_is_documented():
    from scans.limits import DEFAULTS

    docs = (Path(__file__).resolve().parents[2] / "docs" / "scans.md").read_text()
    assert f"`SCANS_MAX_AI_FRAMES` | {DEFAULTS['SCANS_MAX_AI_FRAMES']}" in docs


# --- helpers ----------------------------------------------------------------------------------------------------


def _uploaded(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def opt_volume(folder: Path, *, frames: int) -> bytes:
    folder = folder / "frames"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(frames):
        path = folder / f"b-{index}.png"
        path.write_bytes(png_bytes(seed=index, size=(160, 120)))
        paths.append(path)
    return opt_volume_bytes(paths)


@pytest.mark.django_db
def test_a_16_bit_training_image_is_refused_at_dataset_import(tmp_path):
    from scans.models import LabelledImage
    from scans.services import dataset_import

    folder = tmp_path / "ds" / "NORMAL"
    folder.mkdir(parents=True)
    (folder / "deep.png").write_bytes(deep("PNG"))
    (folder / "plain.png").write_bytes(bscan_png(seed=3))
    job = dataset_import(path=tmp_path / "ds")
    assert (job.imported, job.refused) == (1, 1)
    assert job.errors == [
        {
            "file": "NORMAL/deep.png",
            "reason": "is a 16-bit (or floating-point) image; training images must be 8-bit — export it as 8-bit",
        }
    ]
    assert LabelledImage.objects.get().original_name == "NORMAL/plain.png"
