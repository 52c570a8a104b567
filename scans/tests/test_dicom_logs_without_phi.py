"""Receiving and answering the worklist log counts, statuses and our own ids: never a name, MRN or UID."""

import logging

import pydicom
from django.utils import timezone

from scans.tests.builders import secondary_capture_bytes
from scans.tests.dicom_peers import (  # noqa: F401
    DEVICE_AE,
    dicom_file,
    dicom_server_fixture,
    findscu_worklist,
    storescu,
)
from scheduling.factories import AppointmentFactory, ResourceFactory, local


def test_receiver_and_worklist_logs_carry_no_patient_data(dicom_server, patient, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    today = timezone.localdate()
    AppointmentFactory(
        patient=patient,
        resource=ResourceFactory(dicom_ae_title=DEVICE_AE),
        start=local(today, 0, 20),
        end=local(today, 0, 40),
    )
    matched = secondary_capture_bytes(patient_id=patient.mrn, name="Mustermann^Erika")
    unmatched = secondary_capture_bytes(patient_id="UNKNOWN-77", name="Fremd^Fritz")
    files = [dicom_file(tmp_path, matched, "a.dcm"), dicom_file(tmp_path, unmatched, "b.dcm")]
    assert storescu(port=dicom_server, files=files).returncode == 0
    answers = findscu_worklist(
        port=dicom_server,
        keys=["PatientName", f"PatientID={patient.mrn}", "ScheduledProcedureStepSequence[0].Modality=OPT"],
        out_dir=tmp_path / "worklist",
    )
    assert len(answers) == 1

    text = caplog.text
    assert "C-STORE answered 0x0000 (stored)" in text and "held for reconciliation" in text
    uids = [pydicom.dcmread(f).SOPInstanceUID for f in files]
    for secret in [patient.mrn, "Mustermann", "Erika", "UNKNOWN-77", "Fremd", "19600314", *uids]:
        assert secret not in text, secret
