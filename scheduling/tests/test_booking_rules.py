"""The booking rules, at the service level: what is refused, and with which words."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from patients.factories import PatientFactory
from patients.services import patient_archive
from scheduling.factories import FUTURE_MONDAY, ResourceFactory, local
from scheduling.models import Appointment
from scheduling.services import appointment_book, appointment_cancel

pytestmark = pytest.mark.django_db


@pytest.fixture
def device():
    return ResourceFactory(name="OCT-A")


def book(patient, resource, start, minutes=20, user=None, **kwargs):
    return appointment_book(
        patient=patient,
        resource=resource,
        start=start,
        end=start + dt.timedelta(minutes=minutes),
        booked_by=user,
        **kwargs,
    )


def messages_of(exc: pytest.ExceptionInfo) -> dict[str, list[str]]:
    return exc.value.message_dict


def test_books_a_free_slot_inside_opening_hours(device, technician):
    appointment = book(PatientFactory(), device, local(FUTURE_MONDAY, 9), user=technician)
    assert appointment.pk and appointment.status == "scheduled" and appointment.created_by == technician


def test_same_device_double_booking_is_refused(device):
    book(PatientFactory(), device, local(FUTURE_MONDAY, 9))
    with pytest.raises(ValidationError) as exc:
        book(PatientFactory(), device, local(FUTURE_MONDAY, 9, 10))
    assert messages_of(exc)["start"] == ["OCT-A is already booked from 09:00 to 09:20."]
    assert Appointment.objects.count() == 1


def test_back_to_back_slots_are_allowed(device):
    book(PatientFactory(), device, local(FUTURE_MONDAY, 9))
    book(PatientFactory(), device, local(FUTURE_MONDAY, 9, 20))
    assert Appointment.objects.count() == 2


def test_same_patient_double_booking_on_another_device_is_refused(device):
    patient = PatientFactory()
    other = ResourceFactory(name="OCT-B")
    book(patient, device, local(FUTURE_MONDAY, 10))
    with pytest.raises(ValidationError) as exc:
        book(patient, other, local(FUTURE_MONDAY, 10, 5))
    assert messages_of(exc)["start"] == ["This patient already has an appointment from 10:00 to 10:20 on OCT-A."]


def test_cancelled_appointment_frees_the_slot(device, technician):
    first = book(PatientFactory(), device, local(FUTURE_MONDAY, 11))
    appointment_cancel(appointment=first, cancelled_by=technician, reason="Patient called")
    book(PatientFactory(), device, local(FUTURE_MONDAY, 11))
    assert Appointment.objects.filter(status="scheduled").count() == 1


@pytest.mark.parametrize(
    ("day_offset", "hour", "minute", "minutes", "expected"),
    [
        (0, 7, 30, 20, "Outside the opening hours of OCT-A on Monday (08:00–18:00)."),
        (0, 17, 50, 20, "Outside the opening hours of OCT-A on Monday (08:00–18:00)."),
        (5, 12, 50, 20, "Outside the opening hours of OCT-A on Saturday (09:00–13:00)."),
        (6, 10, 0, 20, "Outside the opening hours of OCT-A on Sunday (closed that day)."),
    ],
)
def test_outside_opening_hours_is_refused(device, day_offset, hour, minute, minutes, expected):
    with pytest.raises(ValidationError) as exc:
        book(PatientFactory(), device, local(FUTURE_MONDAY + dt.timedelta(days=day_offset), hour, minute), minutes)
    assert messages_of(exc)["start"] == [expected]


def test_slot_ending_exactly_at_closing_is_allowed(device):
    book(PatientFactory(), device, local(FUTURE_MONDAY, 17, 40))


def test_in_the_past_is_refused(device):
    start = local(FUTURE_MONDAY, 9)
    with pytest.raises(ValidationError) as exc:
        book(PatientFactory(), device, start, now=start + dt.timedelta(hours=1))
    assert messages_of(exc)["start"] == ["This time is in the past."]


def test_end_before_start_is_refused(device):
    with pytest.raises(ValidationError) as exc:
        book(PatientFactory(), device, local(FUTURE_MONDAY, 9), minutes=-20)
    assert messages_of(exc)["end"] == ["The appointment must end after it starts."]


def test_archived_patient_cannot_be_booked(device, clinic_admin):
    patient = patient_archive(patient=PatientFactory(), archived_by=clinic_admin)
    with pytest.raises(ValidationError) as exc:
        book(patient, device, local(FUTURE_MONDAY, 9))
    assert messages_of(exc)["patient"] == ["This patient is archived; restore the record before booking."]


def test_inactive_device_cannot_be_booked(device):
    device.is_active = False
    device.save()
    with pytest.raises(ValidationError) as exc:
        book(PatientFactory(), device, local(FUTURE_MONDAY, 9))
    assert messages_of(exc)["resource"] == ["OCT-A is out of service and can't be booked."]


def test_naive_datetimes_are_a_programming_error(device):
    with pytest.raises(ValueError, match="timezone-aware"):
        book(PatientFactory(), device, dt.datetime(2030, 1, 7, 9))
