"""An instance the receiver can't file (unknown Patient ID) waits in reconciliation as one file and one row;
a technician assigns it to a patient on the reconciliation page and it goes through the normal intake."""

import pytest
from django.urls import reverse

from scans.models import ReceivedInstance, ReceivedInstanceReason, ReceivedInstanceStatus, Scan
from scans.tests.builders import secondary_capture_bytes
from scans.tests.conftest import stored_files
from scans.tests.dicom_peers import dicom_file, dicom_server_fixture, storescu  # noqa: F401


def test_unknown_patient_waits_in_reconciliation_until_a_technician_assigns_it(
    dicom_server, patient, technician_client, media_root, tmp_path
):
    data = secondary_capture_bytes(patient_id="UNKNOWN-99", name="Mustermann^Erika", laterality="R")
    result = storescu(port=dicom_server, files=[dicom_file(tmp_path, data)])
    assert result.returncode == 0, result.stderr[-2000:]

    held = ReceivedInstance.objects.get()
    assert (held.reason, held.status) == (ReceivedInstanceReason.UNKNOWN_PATIENT, ReceivedInstanceStatus.PENDING)
    assert (held.header_patient_id, held.laterality, held.calling_ae_title) == ("UNKNOWN-99", "OD", "OCT-DEVICE-1")
    assert stored_files(media_root) == [held.file.name] and held.file.name.startswith("scans/received/")
    assert not Scan.objects.exists()

    page = technician_client.get(reverse("scans:reconciliation"))
    assert page.status_code == 200 and "UNKNOWN-99" in page.content.decode()

    url = reverse("scans:reconciliation_assign", args=[held.uuid])
    wrong = technician_client.post(url, {"mrn": "NOBODY-1", "eye": "OD"})
    assert wrong.status_code == 200 and "No patient has this MRN." in wrong.content.decode()

    # The header's Patient ID differs from the chosen patient: intake asks for confirmation first.
    unconfirmed = technician_client.post(url, {"mrn": patient.mrn, "eye": "OD"})
    assert unconfirmed.status_code == 200 and "does not match the chosen patient" in unconfirmed.content.decode()
    assert not Scan.objects.exists()

    response = technician_client.post(url, {"mrn": patient.mrn, "eye": "OD", "confirm_identity_mismatch": "on"})
    assert response.status_code == 302
    scan = Scan.objects.get(patient=patient)
    held.refresh_from_db()
    assert held.status == ReceivedInstanceStatus.ASSIGNED and held.scan_id == scan.pk and not held.file.name
    assert scan.uploaded_by == held.resolved_by and scan.identity_mismatch_confirmed
    assert scan.original.name in stored_files(media_root)
    assert not any(name.startswith("scans/received/") for name in stored_files(media_root))
    assert technician_client.get(url).status_code == 404  # no second assignment


def test_reconciliation_is_for_technicians_not_doctors(doctor_client, transactional_db):
    assert doctor_client.get(reverse("scans:reconciliation")).status_code == 403


def test_a_discarded_instance_leaves_no_file(dicom_server, technician_client, media_root, tmp_path):
    data = secondary_capture_bytes(patient_id="", laterality="L")
    assert storescu(port=dicom_server, files=[dicom_file(tmp_path, data)]).returncode == 0
    held = ReceivedInstance.objects.get()
    assert held.reason == ReceivedInstanceReason.NO_PATIENT_ID
    response = technician_client.post(reverse("scans:reconciliation_assign", args=[held.uuid]), {"discard": "1"})
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.status == ReceivedInstanceStatus.DISCARDED and stored_files(media_root) == []


@pytest.mark.usefixtures("patient")
def test_a_real_spectralis_image_of_an_unknown_patient_is_held(dicom_server, spectralis_path, media_root):
    result = storescu(port=dicom_server, files=[spectralis_path])
    assert result.returncode == 0, result.stderr[-2000:]
    held = ReceivedInstance.objects.get()
    assert held.modality == "OP" and held.laterality == "OD"
    assert not Scan.objects.exists()


@pytest.mark.parametrize(
    ("identity", "reason"),
    [
        ({"name": "Fremd^Fritz"}, ReceivedInstanceReason.IDENTITY_MISMATCH),
        ({"birth": "19991231"}, ReceivedInstanceReason.IDENTITY_MISMATCH),
        ({"laterality": ""}, ReceivedInstanceReason.NO_LATERALITY),
        ({"archived": True}, ReceivedInstanceReason.ARCHIVED_PATIENT),
    ],
)
def test_what_cannot_be_filed_safely_is_held_with_its_reason(dicom_server, patient, identity, reason, tmp_path):
    if identity.pop("archived", False):
        type(patient).objects.filter(pk=patient.pk).update(is_archived=True)
    data = secondary_capture_bytes(patient_id=patient.mrn, **identity)
    path = dicom_file(tmp_path, data)
    assert storescu(port=dicom_server, files=[path]).returncode == 0
    assert storescu(port=dicom_server, files=[path]).returncode == 0  # a re-send is not held twice
    held = ReceivedInstance.objects.get()
    assert held.reason == reason and held.status == ReceivedInstanceStatus.PENDING
    assert not Scan.objects.exists()
