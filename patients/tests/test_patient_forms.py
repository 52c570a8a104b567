"""Registering and editing patients: clear errors for a duplicate MRN, a future birth date, a bad MRN."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.factories import PatientFactory
from patients.models import Patient

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    data = {
        "mrn": "ab-1234",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "date_of_birth": "1960-12-10",
        "sex": "F",
        "phone": "",
        "email": "",
        "address": "",
        "notes": "",
    }
    data.update(overrides)
    return data


def test_register_normalises_mrn_and_records_who(technician_client, technician):
    response = technician_client.post(reverse("patients:create"), form_data())
    patient = Patient.objects.get()
    assert response.status_code == 302 and response.url == reverse("patients:detail", args=[patient.pk])
    assert patient.mrn == "AB-1234"
    assert patient.created_by == technician == patient.updated_by


def test_duplicate_mrn_is_refused_case_insensitively(technician_client):
    PatientFactory(mrn="AB-1234")
    response = technician_client.post(reverse("patients:create"), form_data(mrn=" ab-1234 "))
    assert response.status_code == 200
    assert "Another patient already has this MRN." in response.content.decode()
    assert Patient.objects.count() == 1


def test_birth_date_in_the_future_is_refused(technician_client):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    response = technician_client.post(reverse("patients:create"), form_data(date_of_birth=tomorrow.isoformat()))
    assert "The date of birth can&#x27;t be in the future." in response.content.decode()
    assert not Patient.objects.exists()


@pytest.mark.parametrize("mrn", ["AB", "A B 12", "<script>", "X" * 21, "-ABC1"])
def test_malformed_mrn_is_refused(technician_client, mrn):
    response = technician_client.post(reverse("patients:create"), form_data(mrn=mrn))
    assert response.status_code == 200
    assert "An MRN is 4 to 20 characters" in response.content.decode() or "at most 20" in response.content.decode()
    assert not Patient.objects.exists()


def test_missing_fields_are_named(technician_client):
    response = technician_client.post(reverse("patients:create"), form_data(first_name="", date_of_birth=""))
    assert response.content.decode().count("This field is required.") == 2


def test_edit_records_who_changed_it(clinic_admin_client, clinic_admin):
    patient = PatientFactory(mrn="AB-1234")
    response = clinic_admin_client.post(reverse("patients:edit", args=[patient.pk]), form_data(phone="+49 30 1"))
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.phone == "+49 30 1" and patient.updated_by == clinic_admin


def test_edit_to_another_patients_mrn_is_refused(technician_client):
    PatientFactory(mrn="TAKEN-1")
    patient = PatientFactory(mrn="MINE-1")
    response = technician_client.post(reverse("patients:edit", args=[patient.pk]), form_data(mrn="taken-1"))
    assert "Another patient already has this MRN." in response.content.decode()
    patient.refresh_from_db()
    assert patient.mrn == "MINE-1"


def test_doctor_cannot_register_patients(doctor_client):
    assert doctor_client.post(reverse("patients:create"), form_data()).status_code == 403
    assert not Patient.objects.exists()
