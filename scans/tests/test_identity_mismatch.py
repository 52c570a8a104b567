"""A DICOM naming someone else (or the other eye) is shown before anything is stored."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from scans.errors import IdentityMismatch
from scans.models import Scan
from scans.services import scan_upload

from .builders import TODAY, secondary_capture_bytes
from .conftest import stored_files


@pytest.mark.django_db
def test_matching_identity_is_stored_without_question(patient, technician):
    scan = scan_upload(
        patient=patient,
        eye="OD",
        acquired_on=TODAY,
        file_name="sc.dcm",
        data=secondary_capture_bytes(),
        uploaded_by=technician,
    )
    assert not scan.identity_mismatch_confirmed


@pytest.mark.django_db
@pytest.mark.parametrize(
    "identity,eye,expected",
    [
        ({"patient_id": "MRN-9999"}, "OD", "patient ID"),
        ({"name": "Other^Person"}, "OD", "name"),
        ({"birth": "19700101"}, "OD", "birth date"),
        ({}, "OS", "eye (file says OD, OS was chosen)"),
    ],
)
def test_mismatch_is_refused_until_confirmed(media_root, patient, technician, identity, eye, expected):
    data = secondary_capture_bytes(**identity)
    with pytest.raises(IdentityMismatch) as caught:
        scan_upload(
            patient=patient, eye=eye, acquired_on=TODAY, file_name="other.dcm", data=data, uploaded_by=technician
        )
    message = caught.value.message
    assert message.startswith("other.dcm: the DICOM header does not match") and expected in message
    for phi in ("MRN-9999", "Other", "19700101", patient.last_name, patient.mrn):
        assert phi not in message
    assert Scan.objects.count() == 0 and stored_files(media_root) == []
    scan = scan_upload(
        patient=patient,
        eye=eye,
        acquired_on=TODAY,
        file_name="other.dcm",
        data=data,
        uploaded_by=technician,
        confirm_identity_mismatch=True,
    )
    assert scan.identity_mismatch_confirmed and scan.eye == eye


@pytest.mark.django_db
def test_real_partly_anonymised_file_shows_mismatch_on_the_page(technician_client, patient, spectralis_path):
    url = reverse("scans:upload") + f"?patient={patient.pk}"
    response = technician_client.post(
        url,
        {
            "eye": "OD",
            "acquired_on": TODAY.isoformat(),
            "files": [SimpleUploadedFile("ir.dcm", spectralis_path.read_bytes())],
        },
    )
    html = response.content.decode()
    assert 'data-status="identity_mismatch"' in html
    assert "differs: patient ID, name, birth date" in html
    assert "19530516" not in html and "3267" not in html
    assert Scan.objects.count() == 0
