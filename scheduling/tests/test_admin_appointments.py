"""Clinic admins book and reschedule in the Django admin under the same rules, with the move recorded."""

import pytest
from django.urls import reverse

from patients.factories import PatientFactory
from scheduling.factories import FUTURE_MONDAY, ResourceFactory, local
from scheduling.models import Appointment, AppointmentReschedule
from scheduling.services import appointment_book

pytestmark = pytest.mark.django_db


@pytest.fixture
def device():
    return ResourceFactory(name="OCT-A")


@pytest.fixture
def appointment(device, technician):
    return appointment_book(
        patient=PatientFactory(),
        resource=device,
        start=local(FUTURE_MONDAY, 9),
        end=local(FUTURE_MONDAY, 9, 20),
        booked_by=technician,
    )


def change_form(appointment, **overrides):
    data = {
        "resource": appointment.resource_id,
        "start_0": "2030-01-07",
        "start_1": "09:00:00",
        "end_0": "2030-01-07",
        "end_1": "09:20:00",
        "technician": "",
        "reason": appointment.reason,
        "reschedule_reason": "",
        "reschedules-TOTAL_FORMS": "0",
        "reschedules-INITIAL_FORMS": "0",
        "reschedules-MIN_NUM_FORMS": "0",
        "reschedules-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_clinic_admin_reschedules_in_admin_and_the_move_is_recorded(clinic_admin_client, clinic_admin, appointment):
    url = reverse("admin:scheduling_appointment_change", args=[appointment.pk])
    response = clinic_admin_client.post(
        url, change_form(appointment, start_1="15:00:00", end_1="15:30:00", reschedule_reason="Doctor's request")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    appointment.refresh_from_db()
    assert appointment.start == local(FUTURE_MONDAY, 15)
    record = AppointmentReschedule.objects.get()
    assert (record.changed_by, record.reason, record.old_start) == (
        clinic_admin,
        "Doctor's request",
        local(FUTURE_MONDAY, 9),
    )


def test_admin_move_without_reason_is_a_form_error(clinic_admin_client, appointment):
    url = reverse("admin:scheduling_appointment_change", args=[appointment.pk])
    response = clinic_admin_client.post(url, change_form(appointment, start_1="15:00:00", end_1="15:30:00"))
    assert response.status_code == 200
    assert "Say why the appointment is moved." in response.content.decode()
    assert not AppointmentReschedule.objects.exists()


def test_admin_double_booking_is_a_form_error(clinic_admin_client, appointment, device, technician):
    appointment_book(
        patient=PatientFactory(),
        resource=device,
        start=local(FUTURE_MONDAY, 15),
        end=local(FUTURE_MONDAY, 15, 20),
        booked_by=technician,
    )
    url = reverse("admin:scheduling_appointment_change", args=[appointment.pk])
    response = clinic_admin_client.post(
        url, change_form(appointment, start_1="15:10:00", end_1="15:30:00", reschedule_reason="x")
    )
    assert "OCT-A is already booked from 15:00 to 15:20." in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.start == local(FUTURE_MONDAY, 9)


def test_admin_add_runs_the_booking_rules(clinic_admin_client, device):
    patient = PatientFactory()
    data = change_form(Appointment(resource=device, reason=""), start_1="07:00:00", end_1="07:20:00")
    data["patient"] = patient.pk
    response = clinic_admin_client.post(reverse("admin:scheduling_appointment_add"), data)
    assert "Outside the opening hours of OCT-A on Monday (08:00–18:00)." in response.content.decode()
    data.update(start_1="08:00:00", end_1="08:20:00")
    response = clinic_admin_client.post(reverse("admin:scheduling_appointment_add"), data)
    assert response.status_code == 302
    assert Appointment.objects.get().created_by is not None


def test_technicians_have_no_admin(technician_client):
    response = technician_client.get(reverse("admin:scheduling_appointment_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response.url
