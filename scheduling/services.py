"""Booking rules and appointment state changes.

Every rule lives here so the staff pages, the admin, the API and the demo seeder all refuse the same
things with the same words. Times arrive as aware datetimes (stored in UTC); opening hours are wall
clock times in the clinic's zone, so they are compared after converting to local time, which keeps
them right across daylight-saving changes.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from patients.models import Patient

from .models import BLOCKING_STATUSES, Appointment, AppointmentReschedule, AppointmentStatus, Resource
from .selectors import appointment_check_in_open, technicians_active

# Allowed state changes; anything else is refused with a message.
TRANSITIONS: dict[str, set[str]] = {
    AppointmentStatus.SCHEDULED: {AppointmentStatus.CHECKED_IN, AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW},
    AppointmentStatus.CHECKED_IN: {AppointmentStatus.COMPLETED, AppointmentStatus.CANCELLED},
    AppointmentStatus.COMPLETED: set(),
    AppointmentStatus.CANCELLED: set(),
    AppointmentStatus.NO_SHOW: set(),
}


def _hm(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%H:%M")


def _require_aware(**values: dt.datetime) -> None:
    for name, value in values.items():
        if timezone.is_naive(value):
            raise ValueError(f"{name} must be timezone-aware")


def local_datetime_build(*, day: dt.date, time: dt.time) -> dt.datetime:
    """Combine a clinic-local date and wall-clock time into an aware datetime.

    Refuses wall-clock times that don't exist (skipped by a spring-forward change) or that happen
    twice (autumn fall-back), instead of silently picking one: a booking an hour off is worse than
    an error.
    """
    tz = timezone.get_current_timezone()
    naive = dt.datetime.combine(day, time)
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    roundtrip = first.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
    if roundtrip != naive:
        raise ValidationError(
            f"{time:%H:%M} on {day:%Y-%m-%d} doesn't exist in {tz.key} (the clocks go forward); choose another time."
        )
    if first.utcoffset() != second.utcoffset():
        raise ValidationError(
            f"{time:%H:%M} on {day:%Y-%m-%d} is ambiguous in {tz.key} (the clocks go back); choose another time."
        )
    return first


def _opening_hours_text(resource: Resource, weekday: int) -> str:
    intervals = [oh for oh in resource.opening_hours.all() if oh.weekday == weekday]
    if not intervals:
        return "closed that day"
    return ", ".join(f"{oh.opens:%H:%M}–{oh.closes:%H:%M}" for oh in intervals)


def slot_validate(
    *,
    resource: Resource,
    patient: Patient,
    start: dt.datetime,
    end: dt.datetime,
    exclude: Appointment | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Raise a ValidationError (keyed by form field) if this slot can't be booked."""
    _require_aware(start=start, end=end)
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if patient.is_archived:
        add("patient", "This patient is archived; restore the record before booking.")
    if not resource.is_active:
        add("resource", f"{resource.name} is out of service and can't be booked.")
    if end <= start:
        add("end", "The appointment must end after it starts.")
    else:
        if start < now.replace(second=0, microsecond=0):
            add("start", "This time is in the past.")
        local_start, local_end = timezone.localtime(start), timezone.localtime(end)
        if local_start.date() != local_end.date():
            add("end", "An appointment must start and end on the same day.")
        else:
            weekday = local_start.weekday()
            fits = any(
                oh.weekday == weekday and oh.opens <= local_start.time() and local_end.time() <= oh.closes
                for oh in resource.opening_hours.all()
            )
            if not fits:
                add(
                    "start",
                    f"Outside the opening hours of {resource.name} on {local_start:%A} "
                    f"({_opening_hours_text(resource, weekday)}).",
                )
        blocking = Appointment.objects.filter(status__in=BLOCKING_STATUSES, start__lt=end, end__gt=start)
        if exclude is not None and exclude.pk:
            blocking = blocking.exclude(pk=exclude.pk)
        device_clash = blocking.filter(resource=resource).order_by("start").first()
        if device_clash:
            add(
                "start",
                f"{resource.name} is already booked from {_hm(device_clash.start)} to {_hm(device_clash.end)}.",
            )
        patient_clash = blocking.filter(patient=patient).select_related("resource").order_by("start").first()
        if patient_clash:
            add(
                "start",
                f"This patient already has an appointment from {_hm(patient_clash.start)} to "
                f"{_hm(patient_clash.end)} on {patient_clash.resource.name}.",
            )
    if errors:
        raise ValidationError(errors)


def _lock(resource: Resource, patient: Patient) -> None:
    """Serialise bookings per device and per patient (always in this order, to avoid deadlocks).

    On PostgreSQL this takes row locks; SQLite's IMMEDIATE transactions already serialise writers.
    """
    Resource.objects.select_for_update().filter(pk=resource.pk).first()
    Patient.objects.select_for_update().filter(pk=patient.pk).first()


@transaction.atomic
def appointment_book(
    *,
    patient: Patient,
    resource: Resource,
    start: dt.datetime,
    end: dt.datetime,
    booked_by,
    technician=None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Appointment:
    _lock(resource, patient)
    slot_validate(resource=resource, patient=patient, start=start, end=end, now=now)
    technician_validate(technician)
    return Appointment.objects.create(
        patient=patient,
        resource=resource,
        start=start,
        end=end,
        technician=technician,
        reason=reason.strip(),
        created_by=booked_by,
    )


@transaction.atomic
def appointment_reschedule(
    *,
    appointment: Appointment,
    start: dt.datetime,
    end: dt.datetime,
    reason: str,
    changed_by,
    resource: Resource | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Move an appointment and keep the old slot on record (who, when, why)."""
    appointment = Appointment.objects.select_related("patient", "resource").get(pk=appointment.pk)
    new_resource = resource or appointment.resource
    if appointment.status != AppointmentStatus.SCHEDULED:
        raise ValidationError(f"A {appointment.get_status_display().lower()} appointment can't be rescheduled.")
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why the appointment is moved."]})
    if start == appointment.start and end == appointment.end and new_resource.pk == appointment.resource_id:
        raise ValidationError({"start": ["That is the current time; nothing to change."]})
    _lock(new_resource, appointment.patient)
    slot_validate(
        resource=new_resource, patient=appointment.patient, start=start, end=end, exclude=appointment, now=now
    )
    AppointmentReschedule.objects.create(
        appointment=appointment,
        old_start=appointment.start,
        old_end=appointment.end,
        old_resource=appointment.resource,
        new_start=start,
        new_end=end,
        new_resource=new_resource,
        reason=reason.strip(),
        changed_by=changed_by,
    )
    appointment.start, appointment.end, appointment.resource = start, end, new_resource
    appointment.save(update_fields=["start", "end", "resource", "updated_at"])
    return appointment


def technician_validate(technician) -> None:
    """Only an active technician can be assigned to an appointment (``selectors.technicians_active``)."""
    if technician is not None and not technicians_active().filter(pk=technician.pk).exists():
        raise ValidationError({"technician": ["Choose an active technician."]})


@transaction.atomic
def appointment_details_change(
    *, appointment: Appointment, changed_by, technician=None, reason: str = ""
) -> Appointment:
    """Change who runs the appointment and its reason (the order); every place that edits them (the admin) calls
    this. Saved through the model, never ``.update()``, so the audit log records who changed which field from what
    to what."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    reason = (reason or "").strip()
    technician_id = technician.pk if technician is not None else None
    if (technician_id, reason) == (appointment.technician_id, appointment.reason):
        return appointment
    if technician_id != appointment.technician_id:
        technician_validate(technician)
    appointment.technician, appointment.reason = technician, reason
    appointment.save(update_fields=["technician", "reason", "updated_at"])
    return appointment


def _transition(appointment: Appointment, target: str) -> None:
    if target not in TRANSITIONS[appointment.status]:
        raise ValidationError(
            f"A {appointment.get_status_display().lower()} appointment can't be marked "
            f"{AppointmentStatus(target).label.lower()}."
        )
    appointment.status = target


@transaction.atomic
def appointment_check_in(*, appointment: Appointment, checked_in_by, now: dt.datetime | None = None) -> Appointment:
    now = now or timezone.now()
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status == AppointmentStatus.SCHEDULED and not appointment_check_in_open(
        appointment=appointment, now=now
    ):
        raise ValidationError("Patients can only be checked in on the day of their appointment.")
    _transition(appointment, AppointmentStatus.CHECKED_IN)
    appointment.checked_in_at = now
    if appointment.technician_id is None:
        appointment.technician = checked_in_by
    appointment.save(update_fields=["status", "checked_in_at", "technician", "updated_at"])
    return appointment


@transaction.atomic
def appointment_complete(*, appointment: Appointment, completed_by, now: dt.datetime | None = None) -> Appointment:
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    _transition(appointment, AppointmentStatus.COMPLETED)
    appointment.completed_at = now or timezone.now()
    appointment.save(update_fields=["status", "completed_at", "updated_at"])
    return appointment


@transaction.atomic
def appointment_cancel(
    *, appointment: Appointment, cancelled_by, reason: str = "", now: dt.datetime | None = None
) -> Appointment:
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    _transition(appointment, AppointmentStatus.CANCELLED)
    appointment.cancelled_at = now or timezone.now()
    appointment.cancellation_reason = (reason or "").strip()
    appointment.save(update_fields=["status", "cancelled_at", "cancellation_reason", "updated_at"])
    return appointment


@transaction.atomic
def appointments_mark_no_show(*, now: dt.datetime | None = None) -> int:
    """Scheduled appointments never checked in long after their start become no-shows.

    Idempotent: run it as often as you like (beat runs it every 15 minutes).
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.NO_SHOW_AFTER_MINUTES)
    return Appointment.objects.filter(status=AppointmentStatus.SCHEDULED, start__lt=cutoff).update(
        status=AppointmentStatus.NO_SHOW, updated_at=now
    )
