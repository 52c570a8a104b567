"""Every reschedule is recorded (old and new time, who, why) and shows on the appointment and timeline."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from patients.factories import PatientFactory
from scheduling.factories import FUTURE_MONDAY, ResourceFactory, local
from scheduling.models import AppointmentReschedule
from scheduling.services import appointment_book, appointment_cancel, appointment_reschedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(technician):
    return appointment_book(
        patient=PatientFactory(),
        resource=ResourceFactory(name="OCT-A"),
        start=local(FUTURE_MONDAY, 9),
        end=local(FUTURE_MONDAY, 9, 20),
        booked_by=technician,
    )


def test_reschedule_records_old_and_new_time_who_and_why(booked, technician):
    other = ResourceFactory(name="OCT-B")
    appointment_reschedule(
        appointment=booked,
        start=local(FUTURE_MONDAY, 14),
        end=local(FUTURE_MONDAY, 14, 30),
        resource=other,
        reason="Device maintenance",
        changed_by=technician,
    )
    booked.refresh_from_db()
    assert (booked.start, booked.resource) == (local(FUTURE_MONDAY, 14), other)
    record = AppointmentReschedule.objects.get()
    assert record.old_start == local(FUTURE_MONDAY, 9)
    assert record.old_end == local(FUTURE_MONDAY, 9, 20)
    assert record.old_resource.name == "OCT-A"
    assert record.new_start == local(FUTURE_MONDAY, 14)
    assert record.new_resource == other
    assert record.changed_by == technician
    assert record.reason == "Device maintenance"


def test_reschedule_needs_a_reason(booked, technician):
    with pytest.raises(ValidationError) as exc:
        appointment_reschedule(
            appointment=booked,
            start=local(FUTURE_MONDAY, 10),
            end=local(FUTURE_MONDAY, 10, 20),
            reason=" ",
            changed_by=technician,
        )
    assert exc.value.message_dict == {"reason": ["Say why the appointment is moved."]}
    assert not AppointmentReschedule.objects.exists()


def test_reschedule_into_a_taken_slot_is_refused_and_changes_nothing(booked, technician):
    appointment_book(
        patient=PatientFactory(),
        resource=booked.resource,
        start=local(FUTURE_MONDAY, 10),
        end=local(FUTURE_MONDAY, 10, 20),
        booked_by=technician,
    )
    with pytest.raises(ValidationError) as exc:
        appointment_reschedule(
            appointment=booked,
            start=local(FUTURE_MONDAY, 10, 10),
            end=local(FUTURE_MONDAY, 10, 30),
            reason="x",
            changed_by=technician,
        )
    assert exc.value.message_dict["start"] == ["OCT-A is already booked from 10:00 to 10:20."]
    booked.refresh_from_db()
    assert booked.start == local(FUTURE_MONDAY, 9)
    assert not AppointmentReschedule.objects.exists()


def test_moving_within_its_own_slot_does_not_clash_with_itself(booked, technician):
    appointment_reschedule(
        appointment=booked,
        start=local(FUTURE_MONDAY, 9, 10),
        end=local(FUTURE_MONDAY, 9, 30),
        reason="Later",
        changed_by=technician,
    )
    assert AppointmentReschedule.objects.count() == 1


def test_cancelled_appointment_cannot_be_rescheduled(booked, technician):
    appointment_cancel(appointment=booked, cancelled_by=technician)
    with pytest.raises(ValidationError, match="cancelled appointment can't be rescheduled"):
        appointment_reschedule(
            appointment=booked,
            start=local(FUTURE_MONDAY, 10),
            end=local(FUTURE_MONDAY, 10, 20),
            reason="x",
            changed_by=technician,
        )


def test_reschedule_shows_on_appointment_page_and_patient_timeline(booked, technician, technician_client):
    appointment_reschedule(
        appointment=booked,
        start=local(FUTURE_MONDAY + dt.timedelta(days=1), 11),
        end=local(FUTURE_MONDAY + dt.timedelta(days=1), 11, 20),
        reason="Patient asked for Tuesday",
        changed_by=technician,
    )
    page = technician_client.get(reverse("scheduling:appointment_detail", args=[booked.pk])).content.decode()
    assert "Patient asked for Tuesday" in page
    assert "Mon 2030-01-07 09:00" in page and "Tue 2030-01-08 11:00" in page
    timeline = technician_client.get(reverse("patients:detail", args=[booked.patient.pk])).content.decode()
    assert "Appointment moved from Mon 2030-01-07 09:00 (OCT-A) to Tue 2030-01-08 11:00 (OCT-A)" in timeline
    assert "Patient asked for Tuesday" in timeline
