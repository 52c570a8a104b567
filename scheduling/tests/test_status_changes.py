"""Check-in, completion, cancellation and no-shows: the allowed moves and the refused ones."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from scheduling.factories import FUTURE_MONDAY, AppointmentFactory, local
from scheduling.models import AppointmentStatus
from scheduling.services import (
    appointment_cancel,
    appointment_check_in,
    appointment_complete,
    appointments_mark_no_show,
)

pytestmark = pytest.mark.django_db


def test_check_in_on_the_day_then_complete(technician):
    appointment = AppointmentFactory(start=local(FUTURE_MONDAY, 9), end=local(FUTURE_MONDAY, 9, 20), technician=None)
    now = local(FUTURE_MONDAY, 8, 50)
    appointment = appointment_check_in(appointment=appointment, checked_in_by=technician, now=now)
    assert appointment.status == AppointmentStatus.CHECKED_IN
    assert appointment.checked_in_at == now
    assert appointment.technician == technician  # the one who checked in takes it if nobody was assigned
    appointment = appointment_complete(appointment=appointment, completed_by=technician)
    assert appointment.status == AppointmentStatus.COMPLETED


def test_check_in_on_another_day_is_refused(technician):
    appointment = AppointmentFactory(start=local(FUTURE_MONDAY, 9), end=local(FUTURE_MONDAY, 9, 20))
    with pytest.raises(ValidationError, match="only be checked in on the day"):
        appointment_check_in(
            appointment=appointment, checked_in_by=technician, now=local(FUTURE_MONDAY, 9) - dt.timedelta(days=1)
        )


def test_completed_appointment_cannot_be_cancelled(technician):
    appointment = AppointmentFactory(start=local(FUTURE_MONDAY, 9), end=local(FUTURE_MONDAY, 9, 20))
    appointment_check_in(appointment=appointment, checked_in_by=technician, now=local(FUTURE_MONDAY, 9))
    appointment_complete(appointment=appointment, completed_by=technician)
    with pytest.raises(ValidationError, match="completed appointment can't be marked cancelled"):
        appointment_cancel(appointment=appointment, cancelled_by=technician)


def test_scheduled_appointment_cannot_be_completed_without_check_in(technician):
    appointment = AppointmentFactory()
    with pytest.raises(ValidationError, match="scheduled appointment can't be marked completed"):
        appointment_complete(appointment=appointment, completed_by=technician)


def test_cancel_keeps_reason_and_time(technician):
    appointment = appointment_cancel(appointment=AppointmentFactory(), cancelled_by=technician, reason="Unwell")
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancellation_reason == "Unwell" and appointment.cancelled_at is not None


def test_no_show_marking_is_idempotent_and_leaves_others_alone(settings):
    settings.NO_SHOW_AFTER_MINUTES = 60
    now = timezone.now()
    late = AppointmentFactory(start=now - dt.timedelta(hours=3), end=now - dt.timedelta(hours=2, minutes=40))
    recent = AppointmentFactory(start=now - dt.timedelta(minutes=30), end=now - dt.timedelta(minutes=10))
    checked_in = AppointmentFactory(
        start=now - dt.timedelta(hours=4), end=now - dt.timedelta(hours=3), status=AppointmentStatus.CHECKED_IN
    )
    assert appointments_mark_no_show(now=now) == 1
    assert appointments_mark_no_show(now=now) == 0
    late.refresh_from_db()
    recent.refresh_from_db()
    checked_in.refresh_from_db()
    assert (late.status, recent.status, checked_in.status) == ("no_show", "scheduled", "checked_in")
