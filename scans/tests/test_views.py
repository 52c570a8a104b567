"""Upload page, scan page, comparison and the template tags other apps use."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from patients.factories import CareTeamFactory, PatientFactory
from scans.factories import ScanFactory
from scans.models import Scan

from .builders import TODAY, png_bytes


@pytest.fixture
def appointment(patient):
    from scheduling.models import Appointment, Resource

    resource = Resource.objects.create(name="OCT 1")
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    return Appointment.objects.create(
        patient=patient, resource=resource, start=start, end=start + dt.timedelta(minutes=20)
    )


@pytest.mark.django_db
def test_upload_page_from_appointment_links_scan_to_it(technician_client, appointment):
    url = reverse("scans:upload") + f"?appointment={appointment.pk}"
    page = technician_client.get(url)
    assert page.status_code == 200 and b'type="file"' in page.content and b"multiple" in page.content
    response = technician_client.post(
        url,
        {
            "eye": "OS",
            "acquired_on": TODAY.isoformat(),
            "appointment": appointment.pk,
            "files": [SimpleUploadedFile("a.png", png_bytes(1)), SimpleUploadedFile("b.png", png_bytes(2))],
        },
    )
    assert response.status_code == 200
    assert response.content.decode().count('data-status="stored"') == 2
    assert set(Scan.objects.values_list("appointment_id", "patient_id", "eye")) == {
        (appointment.pk, appointment.patient_id, "OS")
    }


@pytest.mark.django_db
def test_upload_requires_files_and_eye(technician_client, patient):
    url = reverse("scans:upload") + f"?patient={patient.pk}"
    response = technician_client.post(url, {"acquired_on": TODAY.isoformat()}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert b"Choose at least one file." in response.content


@pytest.mark.django_db
def test_doctor_cannot_upload(doctor_client, patient):
    assert doctor_client.get(reverse("scans:upload") + f"?patient={patient.pk}").status_code == 403


@pytest.mark.django_db
def test_upload_needs_a_patient(technician_client):
    assert technician_client.get(reverse("scans:upload")).status_code == 404


@pytest.mark.django_db
def test_scan_page_and_compare_two_visits(doctor_client, doctor):
    patient = PatientFactory(care_team=CareTeamFactory(members=[doctor]))
    old = ScanFactory(patient=patient, eye="OD", acquired_on=dt.date(2023, 1, 5))
    new = ScanFactory(patient=patient, eye="OD", acquired_on=dt.date(2024, 2, 7))
    detail = doctor_client.get(reverse("scans:detail", kwargs={"uuid": new.uuid}))
    assert detail.status_code == 200 and detail["Cache-Control"] == "private, no-store"
    assert b"data-zoom-image" in detail.content and b"compare with another OD visit" in detail.content
    compare = doctor_client.get(reverse("scans:compare", kwargs={"patient_pk": patient.pk}) + "?eye=OD")
    html = compare.content.decode()
    assert compare.status_code == 200
    assert reverse("scans:file", kwargs={"uuid": old.uuid, "kind": "preview"}) in html
    assert reverse("scans:file", kwargs={"uuid": new.uuid, "kind": "preview"}) in html
    assert "05.01.2023" in html and "07.02.2024" in html


@pytest.mark.django_db
def test_no_phi_in_scan_urls(technician_client, patient):
    scan = ScanFactory(patient=patient, file_name=f"{patient.last_name}_{patient.mrn}.png")
    for url in (
        reverse("scans:detail", kwargs={"uuid": scan.uuid}),
        reverse("scans:file", kwargs={"uuid": scan.uuid, "kind": "original"}),
    ):
        assert patient.last_name not in url and patient.mrn not in url
    response = technician_client.get(reverse("scans:file", kwargs={"uuid": scan.uuid, "kind": "original"}))
    assert patient.last_name not in response["Content-Disposition"]
    assert patient.last_name not in scan.original.name


@pytest.mark.django_db
def test_upload_url_tag(patient, appointment):
    html = Template("{% load scan_tags %}{% scan_upload_url patient=p %}|{% scan_upload_url appointment=a %}").render(
        Context({"p": patient, "a": appointment})
    )
    assert html == f"/scans/upload/?patient={patient.pk}|/scans/upload/?appointment={appointment.pk}"


@pytest.mark.django_db
def test_gallery_tag_renders_nothing_without_permission(patient):
    from django.test import RequestFactory

    from octclinic.factories import UserFactory

    ScanFactory(patient=patient)
    request = RequestFactory().get("/")
    request.user = UserFactory()
    html = Template("{% load scan_tags %}{% patient_scan_gallery patient %}").render(
        Context({"request": request, "patient": patient})
    )
    assert html.strip() == ""
