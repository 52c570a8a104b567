"""Booking, rescheduling and check-in through the staff pages: clear form errors, nothing half-saved."""

import pytest
from django.urls import reverse

from patients.factories import PatientFactory
from scheduling.factories import FUTURE_MONDAY, ResourceFactory, local
from scheduling.models import Appointment, AppointmentReschedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def device():
    return ResourceFactory(name="OCT-A")


def post_booking(client, patient, device, start="09:00", end="09:20", day="2030-01-07"):
    return client.post(
        reverse("scheduling:appointment_create") + f"?patient={patient.pk}",
        {"patient_mrn": patient.mrn, "resource": device.pk, "day": day, "start_time": start, "end_time": end},
    )


def test_technician_books_from_the_patient_page(technician_client, device):
    patient = PatientFactory()
    response = post_booking(technician_client, patient, device)
    appointment = Appointment.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "scheduling:appointment_detail", args=[appointment.pk]
    )
    assert appointment.start == local(FUTURE_MONDAY, 9)


def test_double_booking_shows_form_error(technician_client, device):
    post_booking(technician_client, PatientFactory(), device)
    response = post_booking(technician_client, PatientFactory(), device, start="09:10", end="09:30")
    assert response.status_code == 200
    assert "OCT-A is already booked from 09:00 to 09:20." in response.content.decode()
    assert Appointment.objects.count() == 1


def test_end_before_start_shows_form_error(technician_client, device):
    response = post_booking(technician_client, PatientFactory(), device, start="10:00", end="09:00")
    assert "The appointment must end after it starts." in response.content.decode()
    assert not Appointment.objects.exists()


def test_unknown_mrn_is_a_form_error(technician_client, device):
    response = technician_client.post(
        reverse("scheduling:appointment_create"),
        {
            "patient_mrn": "NOPE-0000",
            "resource": device.pk,
            "day": "2030-01-07",
            "start_time": "09:00",
            "end_time": "09:20",
        },
    )
    assert "No patient has this MRN. Register the patient first." in response.content.decode()


def test_garbage_input_is_a_form_error_not_a_500(technician_client, device):
    response = technician_client.post(
        reverse("scheduling:appointment_create"),
        {"patient_mrn": "", "resource": "x", "day": "31.02.", "start_time": "25:99", "end_time": ""},
    )
    assert response.status_code == 200
    assert not Appointment.objects.exists()
    assert technician_client.get(reverse("scheduling:appointment_create") + "?patient=abc").status_code == 404
    assert technician_client.get(reverse("scheduling:day") + "?date=not-a-date").status_code == 200


def test_reschedule_page_records_the_move(technician_client, device):
    post_booking(technician_client, PatientFactory(), device)
    appointment = Appointment.objects.get()
    url = reverse("scheduling:appointment_reschedule", args=[appointment.pk])
    response = technician_client.post(
        url, {"resource": device.pk, "day": "2030-01-08", "start_time": "11:00", "end_time": "11:20", "reason": "Asked"}
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.start == local(FUTURE_MONDAY.replace(day=8), 11)
    assert AppointmentReschedule.objects.get().reason == "Asked"


def test_doctor_may_view_but_not_book(doctor_client, device):
    assert doctor_client.get(reverse("scheduling:day")).status_code == 200
    response = doctor_client.get(reverse("scheduling:appointment_create"))
    assert response.status_code == 403
    assert "You don't have access to this page" in response.content.decode()


def test_anonymous_is_sent_to_login(anonymous_client):
    response = anonymous_client.get(reverse("scheduling:day"))
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
