"""A DICOM keeps the day its header says it was taken; the upload form's date (today by default) is for raster files.

Issue #19: a new user's DICOM from March was filed under the day of the upload because the form's default won.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from scans.models import Scan
from scans.services import scan_acquired_on, scan_upload

from .builders import dicom_variant, png_bytes, secondary_capture_bytes

HEADER_DAY = dt.date(2024, 3, 1)  # the builders' StudyDate / ContentDate / AcquisitionDateTime
DATE_KEYWORDS = ("AcquisitionDateTime", "AcquisitionDate", "ContentDate", "SeriesDate", "StudyDate")


def _undated(ds):
    for keyword in DATE_KEYWORDS:
        if keyword in ds:
            delattr(ds, keyword)


def _study_date_only(ds):
    _undated(ds)
    ds.StudyDate = "20230615"


@pytest.mark.django_db
def test_the_header_date_wins_over_the_given_date(patient, technician):
    scan = scan_upload(
        patient=patient,
        eye="OD",
        acquired_on=timezone.localdate(),
        file_name="sc.dcm",
        data=secondary_capture_bytes(),
        uploaded_by=technician,
    )
    assert scan.acquired_on == HEADER_DAY


@pytest.mark.django_db
def test_a_study_date_alone_is_enough(patient, technician):
    scan = scan_upload(
        patient=patient,
        eye="OD",
        acquired_on=timezone.localdate(),
        file_name="study-date.dcm",
        data=dicom_variant(_study_date_only),
        uploaded_by=technician,
    )
    assert scan.acquired_on == dt.date(2023, 6, 15)


@pytest.mark.django_db
def test_the_given_date_serves_raster_files_and_undated_dicoms(patient, technician):
    given = dt.date(2025, 2, 3)
    png = scan_upload(
        patient=patient, eye="OD", acquired_on=given, file_name="a.png", data=png_bytes(3), uploaded_by=technician
    )
    undated = scan_upload(
        patient=patient,
        eye="OD",
        acquired_on=given,
        file_name="undated.dcm",
        data=dicom_variant(_undated),
        uploaded_by=technician,
    )
    assert png.acquired_on == given and undated.acquired_on == given


def test_the_service_reads_the_header_or_falls_back():
    from io import BytesIO

    import pydicom

    given = dt.date(2025, 2, 3)
    dated = pydicom.dcmread(BytesIO(secondary_capture_bytes()))
    undated = pydicom.dcmread(BytesIO(dicom_variant(_undated)))
    assert scan_acquired_on(given=given, dataset=dated) == HEADER_DAY
    assert scan_acquired_on(given=given, dataset=undated) == given
    assert scan_acquired_on(given=given, dataset=None) == given


@pytest.mark.django_db
def test_web_upload_files_the_dicom_under_its_header_date_and_says_so(technician_client, patient):
    url = reverse("scans:upload") + f"?patient={patient.pk}"
    page = technician_client.get(url).content.decode()
    assert "A DICOM file keeps the acquisition date in its own header" in page
    today = timezone.localdate()
    response = technician_client.post(
        url,
        {
            "eye": "OD",
            "acquired_on": today.isoformat(),
            "files": [SimpleUploadedFile("march.dcm", secondary_capture_bytes())],
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    scan = Scan.objects.get(patient=patient)
    assert scan.acquired_on == HEADER_DAY
    html = response.content.decode()
    assert "acquired 01.03.2024 (the date in its DICOM header)" in html
    detail = technician_client.get(reverse("scans:detail", kwargs={"uuid": scan.uuid})).content.decode()
    assert "Acquired 01.03.2024" in detail and f"Acquired {today:%d.%m.%Y}" not in detail
