import datetime as dt

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from patients.factories import PatientFactory

from .models import Appointment, OpeningHours, Resource


class ResourceFactory(DjangoModelFactory):
    """A device open 08:00-18:00 Monday to Friday and 09:00-13:00 on Saturday (clinic local time)."""

    class Meta:
        model = Resource
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"OCT-{n}")
    model_name = "Spectralis"

    @factory.post_generation
    def hours(self, create, extracted, **kwargs):
        if not create:
            return
        for weekday, opens, closes in extracted or [(d, dt.time(8), dt.time(18)) for d in range(5)] + [
            (5, dt.time(9), dt.time(13))
        ]:
            OpeningHours.objects.create(resource=self, weekday=weekday, opens=opens, closes=closes)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """An aware datetime at a wall-clock time in the clinic's zone."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=timezone.get_current_timezone())


# A Monday safely in the future, so "not in the past" never depends on when the tests run.
FUTURE_MONDAY = dt.date(2030, 1, 7)


class AppointmentFactory(DjangoModelFactory):
    class Meta:
        model = Appointment

    patient = factory.SubFactory(PatientFactory)
    resource = factory.SubFactory(ResourceFactory)
    # 30 twenty-minute slots fill a Monday's 08:00-18:00; then the next Monday, so a default
    # appointment is always inside opening hours however many a test session creates.
    start = factory.Sequence(
        lambda n: local(FUTURE_MONDAY + dt.timedelta(weeks=n // 30), 8) + dt.timedelta(minutes=20 * (n % 30))
    )
    end = factory.LazyAttribute(lambda a: a.start + dt.timedelta(minutes=20))
    reason = "Routine OCT"
