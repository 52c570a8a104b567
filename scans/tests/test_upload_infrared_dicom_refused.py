"""The real DICOM path: the Spectralis infrared fundus image from ``../shared/dicom`` (a real device's file, not a
B-scan) uploaded on the upload page is stored, read by the classification task and refused by the OCT check: its
scan page and the API say it is not a retinal OCT B-scan, and it gets no CNV/DME/DRUSEN/NORMAL label."""

import html

import pytest
from django.urls import reverse

from mlcore.labels import CLASSES
from scans.models import UNRECOGNISED_TEXT, AiStatus, FileFormat, Prediction
from scans.tests.ai_helpers import upload_through_page

pytestmark = pytest.mark.django_db


def test_the_infrared_fundus_dicom_is_not_read_as_oct(
    technician_client, doctor_client, patient, deployed_model, spectralis_path, django_capture_on_commit_callbacks
):
    # The file names another (partly anonymised) patient: staff confirm the mismatch, as they would on the page.
    response, [scan] = upload_through_page(
        technician_client,
        patient,
        {"ir.dcm": spectralis_path.read_bytes()},
        capture=django_capture_on_commit_callbacks,
        confirm_identity_mismatch="on",
    )
    assert 'data-status="stored"' in response.content.decode()
    scan.refresh_from_db()
    assert (scan.file_format, scan.ai_status) == (FileFormat.DICOM, AiStatus.CLASSIFIED)
    reading = Prediction.objects.get(scan=scan)
    assert (reading.recognised, reading.label, reading.urgency) == (False, "", "unrecognised")
    assert reading.refusal_reason and not reading.heatmap.name

    page = html.unescape(technician_client.get(reverse("scans:detail", args=[scan.uuid])).content.decode())
    panel = page[page.index('id="ai-status"') :]
    panel = panel[: panel.index("</section>")]
    assert f"{UNRECOGNISED_TEXT}: {reading.refusal_reason}" in panel
    assert "data-ai-label" not in panel and not any(name in panel for name in CLASSES)

    [body] = doctor_client.get(f"/api/v1/scans/{scan.uuid}/predictions/").json()
    assert (body["recognised"], body["label"], body["refusal_reason"]) == (False, "", reading.refusal_reason)
