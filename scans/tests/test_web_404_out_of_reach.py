"""Issue #18 part 5: the staff pages answer 404 for a patient, scan or appointment outside the user's reach,
exactly as for one that does not exist (a 403 confirmed that the record is there). The API already did."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from patients.factories import PatientFactory
from scans.services import scan_upload
from scheduling.factories import AppointmentFactory

from .builders import png_bytes


@pytest.fixture
def hidden(technician):
    """A patient outside every care team (doctors don't reach them), with a scan and an appointment."""
    patient = PatientFactory()
    scan = scan_upload(
        patient=patient,
        eye="OD",
        acquired_on=dt.date(2026, 1, 5),
        file_name="b.png",
        data=png_bytes(seed=3),
        uploaded_by=technician,
    )
    return {"patient": patient, "scan": scan, "appointment": AppointmentFactory(patient=patient)}


def _pages(hidden) -> list[str]:
    patient, scan, appointment = hidden["patient"], hidden["scan"], hidden["appointment"]
    return [
        reverse("patients:detail", args=[patient.pk]),
        reverse("scans:patient_gallery", args=[patient.pk]),
        reverse("scans:compare", args=[patient.pk]),
        reverse("scans:detail", kwargs={"uuid": scan.uuid}),
        reverse("scans:file", kwargs={"uuid": scan.uuid, "kind": "preview"}),
        reverse("scans:ai_status", kwargs={"uuid": scan.uuid}),
        reverse("scheduling:appointment_detail", args=[appointment.pk]),
    ]


def _missing_pages() -> list[str]:
    missing_uuid = "00000000-0000-4000-8000-000000000000"
    return [
        reverse("patients:detail", args=[999_999]),
        reverse("scans:patient_gallery", args=[999_999]),
        reverse("scans:detail", kwargs={"uuid": missing_uuid}),
        reverse("scheduling:appointment_detail", args=[999_999]),
    ]


def test_out_of_reach_pages_are_404_like_missing_ones(doctor_client, hidden):
    for url in _pages(hidden):
        assert doctor_client.get(url).status_code == 404, url
    for url in _missing_pages():
        assert doctor_client.get(url).status_code == 404, url


def test_the_same_pages_open_for_a_user_who_reaches_the_patient(technician_client, hidden):
    for url in _pages(hidden):
        assert technician_client.get(url).status_code == 200, url


def test_a_role_that_may_not_do_it_at_all_still_gets_403(doctor_client, doctor, hidden):
    """The upload page needs the technician's right: a doctor who reaches the patient is refused with 403."""
    from patients.factories import CareTeamFactory
    from patients.services import patient_care_team_assign

    patient_care_team_assign(patient=hidden["patient"], care_team=CareTeamFactory(members=[doctor]), assigned_by=None)
    assert doctor_client.get(reverse("scans:upload") + f"?patient={hidden['patient'].pk}").status_code == 403
