"""A device (dcmtk's storescu) sends an OPT volume to our receiver: it is filed on the right patient and today's
appointment on that device, attributed to the receiver's system account, and read by the AI in a real worker."""

import datetime as dt
from pathlib import Path

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from octclinic.testing import wait_until
from scans.models import AiStatus, Prediction, ReceivedInstance, Scan
from scans.tasks import classify_scan
from scans.tests.builders import opt_volume_bytes, png_bytes
from scans.tests.dicom_peers import DEVICE_AE, dicom_file, dicom_server_fixture, storescu  # noqa: F401
from scheduling.factories import AppointmentFactory, ResourceFactory, local


def opt_volume(folder: Path, *, frames: int = 5, **identity) -> bytes:
    """An OPT volume of generated B-scans (no ../shared needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(frames):
        path = folder / f"b-scan-{index}.png"
        path.write_bytes(png_bytes(seed=index, size=(160, 120)))
        paths.append(path)
    return opt_volume_bytes(paths, **identity)


def acquired_today(data: bytes) -> bytes:
    import io

    import pydicom

    ds = pydicom.dcmread(io.BytesIO(data))
    now = timezone.localtime()
    ds.AcquisitionDateTime = f"{now:%Y%m%d%H%M%S}"
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.mark.worker
def test_device_sends_an_opt_volume_and_it_is_classified_on_the_patient(
    dicom_server, patient, deployed_model, celery_worker_process, tmp_path
):
    today = timezone.localdate()
    other_device = ResourceFactory(dicom_ae_title="OCT-DEVICE-2")
    device = ResourceFactory(dicom_ae_title=DEVICE_AE)
    AppointmentFactory(patient=patient, resource=other_device, start=local(today, 0, 10), end=local(today, 0, 20))
    appointment = AppointmentFactory(
        patient=patient, resource=device, start=local(today, 0, 30), end=local(today, 0, 50)
    )
    AppointmentFactory(patient=patient, resource=device, start=local(today + dt.timedelta(days=1), 9))

    volume = acquired_today(opt_volume(tmp_path / "frames", frames=5, laterality="L"))
    result = storescu(port=dicom_server, files=[dicom_file(tmp_path, volume)])
    assert result.returncode == 0, result.stderr[-2000:]

    scan = Scan.objects.get(patient=patient)
    assert (scan.eye, scan.frame_count, scan.acquired_on) == ("OS", 5, today)
    assert scan.appointment_id == appointment.pk  # the sending device's appointment, not the other one
    assert scan.dicom.modality == "OPT"
    assert scan.uploaded_by.username == "dicom-receiver"
    assert not scan.uploaded_by.is_active and not scan.uploaded_by.has_usable_password()
    assert scan.deidentified.name and scan.sha256
    assert not ReceivedInstance.objects.exists()
    created = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(Scan), object_pk=str(scan.pk), action=LogEntry.Action.CREATE
    )
    assert created.actor == scan.uploaded_by

    classify_scan.apply_async(args=[scan.pk], queue=celery_worker_process)
    wait_until(lambda: Scan.objects.get(pk=scan.pk).ai_status in (AiStatus.CLASSIFIED, AiStatus.FAILED), timeout=120)
    scan.refresh_from_db()
    assert scan.ai_status == AiStatus.CLASSIFIED, scan.ai_error
    assert Prediction.objects.get(scan=scan).model_version_id == deployed_model.pk


def test_the_same_instance_sent_twice_is_stored_once(dicom_server, patient, tmp_path):
    path = dicom_file(tmp_path, opt_volume(tmp_path / "frames", frames=3))
    first = storescu(port=dicom_server, files=[path])
    second = storescu(port=dicom_server, files=[path])
    assert first.returncode == 0 and second.returncode == 0, second.stderr[-2000:]
    assert Scan.objects.filter(patient=patient).count() == 1
