"""The same image uploaded twice for a patient is detected and reported, not stored twice."""

from __future__ import annotations

import pytest

from patients.factories import PatientFactory
from scans.errors import DuplicateScan
from scans.models import Scan
from scans.services import scan_upload

from .builders import TODAY, png_bytes
from .conftest import stored_files


@pytest.mark.django_db
def test_same_image_twice_for_one_patient_is_reported(media_root, patient, technician):
    data = png_bytes(42)
    first = scan_upload(
        patient=patient, eye="OD", acquired_on=TODAY, file_name="a.png", data=data, uploaded_by=technician
    )
    files_before = stored_files(media_root)
    with pytest.raises(DuplicateScan) as caught:
        scan_upload(
            patient=patient, eye="OS", acquired_on=TODAY, file_name="renamed.png", data=data, uploaded_by=technician
        )
    assert caught.value.message.startswith("renamed.png: the same image is already in this patient's record")
    assert f"scan #{first.pk}" in caught.value.message
    assert Scan.objects.count() == 1
    assert stored_files(media_root) == files_before


@pytest.mark.django_db
def test_same_image_for_another_patient_is_allowed(patient, technician):
    data = png_bytes(43)
    scan_upload(patient=patient, eye="OD", acquired_on=TODAY, file_name="a.png", data=data, uploaded_by=technician)
    other = PatientFactory()
    scan_upload(patient=other, eye="OD", acquired_on=TODAY, file_name="a.png", data=data, uploaded_by=technician)
    assert Scan.objects.count() == 2


@pytest.mark.django_db
def test_duplicate_reported_in_batch_upload_through_the_page(technician_client, patient):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    data = png_bytes(44)
    url = reverse("scans:upload") + f"?patient={patient.pk}"
    form = {"eye": "OD", "acquired_on": TODAY.isoformat()}
    files = [SimpleUploadedFile("one.png", data), SimpleUploadedFile("two.png", data)]
    response = technician_client.post(url, {**form, "files": files}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'data-status="stored"' in html and 'data-status="duplicate"' in html
    assert "two.png: the same image is already in this patient" in html
    assert Scan.objects.count() == 1
