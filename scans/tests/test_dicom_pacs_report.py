"""A doctor's signed-off visit report goes to the PACS (Debian's Orthanc) as a DICOM Encapsulated PDF in the
visit's study; an unreviewed visit is not sent."""

import datetime as dt
import io
import json
import urllib.request

import pydicom
from django.urls import reverse

from scans.factories import PredictionFactory, ScanFactory
from scans.models import AiStatus
from scans.review import review_decide
from scans.tests.builders import secondary_capture_bytes
from scans.tests.dicom_peers import dicom_server_fixture, orthanc_fixture  # noqa: F401


def _orthanc_instances(orthanc) -> list[pydicom.Dataset]:
    with urllib.request.urlopen(f"{orthanc.url}/instances", timeout=10) as response:  # noqa: S310 - loopback
        ids = json.loads(response.read())
    datasets = []
    for instance_id in ids:
        with urllib.request.urlopen(f"{orthanc.url}/instances/{instance_id}/file", timeout=10) as response:  # noqa: S310
            datasets.append(pydicom.dcmread(io.BytesIO(response.read())))
    return datasets


def test_a_signed_off_visit_report_is_stored_in_the_pacs_as_encapsulated_pdf(
    orthanc, patient, doctor, doctor_client, technician_client
):
    day = dt.date(2024, 3, 1)  # the builder's DICOM header date, which intake files the scan under
    scan = ScanFactory(
        patient=patient,
        eye="OD",
        acquired_on=day,
        data=secondary_capture_bytes(patient_id=patient.mrn),
        file_name="sc.dcm",
        ai_status=AiStatus.CLASSIFIED,
    )
    PredictionFactory(scan=scan)
    url = reverse("scans:pacs_report_store", args=[patient.pk])

    page = doctor_client.get(reverse("scans:pacs_studies", args=[patient.pk]))
    assert "Send visit report" in page.content.decode()
    unsigned = doctor_client.post(url, {"eye": "OD"}, follow=True)
    assert "not every scan of this visit has the doctor" in unsigned.content.decode()
    assert _orthanc_instances(orthanc) == []

    review_decide(scan=scan, reviewer=doctor, decision="approved")
    assert technician_client.post(url, {"eye": "OD"}).status_code == 403  # doctors sign off, not technicians
    sent = doctor_client.post(url, {"eye": "OD", "day": day.isoformat()}, follow=True)
    assert "The visit report was stored in the PACS." in sent.content.decode()

    [report] = _orthanc_instances(orthanc)
    assert report.SOPClassUID == "1.2.840.10008.5.1.4.1.1.104.1" and report.Modality == "DOC"
    assert report.MIMETypeOfEncapsulatedDocument == "application/pdf"
    assert bytes(report.EncapsulatedDocument)[: report.EncapsulatedDocumentLength].startswith(b"%PDF")
    assert report.PatientID == patient.mrn and report.StudyInstanceUID == scan.dicom.study_instance_uid

    doctor_client.post(url, {"eye": "OD", "day": day.isoformat()})  # the same report again: stored once
    assert len(_orthanc_instances(orthanc)) == 1
