"""Times are stored in UTC and opening hours are local wall-clock times: both stay right when the
clocks change (Europe/Berlin: 2030-03-31 spring forward at 02:00, 2030-10-27 fall back at 03:00)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from patients.factories import PatientFactory
from scheduling.factories import ResourceFactory
from scheduling.selectors import local_day_bounds, schedule_day
from scheduling.services import appointment_book, appointment_reschedule, local_datetime_build

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def berlin(settings):
    settings.TIME_ZONE = "Europe/Berlin"


SPRING = dt.date(2030, 3, 31)  # a Sunday
AUTUMN = dt.date(2030, 10, 27)  # a Sunday
ALL_DAY = [(d, dt.time(0, 0), dt.time(23, 59)) for d in range(7)]


def test_opening_hours_follow_local_time_on_both_sides_of_the_change():
    device = ResourceFactory(hours=[(0, dt.time(8), dt.time(18))])
    before, after = dt.date(2030, 3, 25), dt.date(2030, 4, 1)  # Mondays around the change
    a = appointment_book(
        patient=PatientFactory(),
        resource=device,
        start=local_datetime_build(day=before, time=dt.time(8)),
        end=local_datetime_build(day=before, time=dt.time(8, 20)),
        booked_by=None,
    )
    b = appointment_book(
        patient=PatientFactory(),
        resource=device,
        start=local_datetime_build(day=after, time=dt.time(8)),
        end=local_datetime_build(day=after, time=dt.time(8, 20)),
        booked_by=None,
    )
    a.refresh_from_db()
    b.refresh_from_db()
    # Stored in UTC: 08:00 CET is 07:00 UTC, 08:00 CEST is 06:00 UTC.
    assert a.start.astimezone(dt.UTC).hour == 7
    assert b.start.astimezone(dt.UTC).hour == 6
    assert timezone.localtime(a.start).hour == timezone.localtime(b.start).hour == 8
    # 07:30 CEST (05:30 UTC) is before opening even though 05:30 UTC + 2h would look "open" in winter.
    with pytest.raises(ValidationError):
        appointment_book(
            patient=PatientFactory(),
            resource=device,
            start=local_datetime_build(day=after, time=dt.time(7, 30)),
            end=local_datetime_build(day=after, time=dt.time(7, 50)),
            booked_by=None,
        )


def test_wall_clock_time_skipped_by_spring_forward_is_refused():
    with pytest.raises(ValidationError, match="doesn't exist"):
        local_datetime_build(day=SPRING, time=dt.time(2, 30))


def test_wall_clock_time_repeated_by_fall_back_is_refused():
    with pytest.raises(ValidationError, match="ambiguous"):
        local_datetime_build(day=AUTUMN, time=dt.time(2, 30))


def test_appointment_across_spring_forward_lasts_real_time():
    device = ResourceFactory(hours=ALL_DAY)
    start = local_datetime_build(day=SPRING, time=dt.time(1, 40))
    end = local_datetime_build(day=SPRING, time=dt.time(3, 0))
    appointment = appointment_book(patient=PatientFactory(), resource=device, start=start, end=end, booked_by=None)
    appointment.refresh_from_db()
    # (Python subtracts same-zone datetimes by wall clock; compare in UTC, as the database stores them.)
    assert appointment.end.astimezone(dt.UTC) - appointment.start.astimezone(dt.UTC) == dt.timedelta(minutes=20)
    # A second appointment at 03:00 local is back to back, not overlapping.
    appointment_book(
        patient=PatientFactory(),
        resource=device,
        start=end,
        end=end + dt.timedelta(minutes=20),
        booked_by=None,
    )


def test_local_days_are_23_and_25_hours_long():
    start, end = local_day_bounds(SPRING)
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=23)
    start, end = local_day_bounds(AUTUMN)
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=25)


def test_day_view_selector_uses_local_day_bounds():
    device = ResourceFactory(hours=ALL_DAY)
    tz = ZoneInfo("Europe/Berlin")
    late = dt.datetime(2030, 10, 27, 23, 30, tzinfo=tz)  # 22:30 UTC: still the local 27th
    appointment_book(
        patient=PatientFactory(), resource=device, start=late, end=late + dt.timedelta(minutes=20), booked_by=None
    )
    ((_, appointments),) = schedule_day(day=AUTUMN)
    assert len(appointments) == 1
    ((_, next_day),) = schedule_day(day=AUTUMN + dt.timedelta(days=1))
    assert next_day == []


def test_reschedule_across_the_change_keeps_local_time():
    device = ResourceFactory(hours=[(d, dt.time(8), dt.time(18)) for d in range(5)])
    appointment = appointment_book(
        patient=PatientFactory(),
        resource=device,
        start=local_datetime_build(day=dt.date(2030, 3, 29), time=dt.time(9)),
        end=local_datetime_build(day=dt.date(2030, 3, 29), time=dt.time(9, 20)),
        booked_by=None,
    )
    moved = appointment_reschedule(
        appointment=appointment,
        start=local_datetime_build(day=dt.date(2030, 4, 1), time=dt.time(9)),
        end=local_datetime_build(day=dt.date(2030, 4, 1), time=dt.time(9, 20)),
        reason="Patient asked",
        changed_by=None,
    )
    assert timezone.localtime(moved.start).time() == dt.time(9)
    assert moved.reschedules.get().old_start.astimezone(dt.UTC).hour == 8
    assert moved.start.astimezone(dt.UTC).hour == 7
