"""Schedule reads. Day and week bounds are computed in the clinic's zone, so a day is a local day
(23 or 25 hours long across daylight-saving changes), and every list runs a fixed number of queries."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from octclinic.roles import TECHNICIAN, has_role
from patients.models import Patient

from .models import Appointment, AppointmentReschedule, OpeningHours, Resource


def local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min).replace(tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min).replace(tzinfo=tz)
    return start, end


def resources_active() -> QuerySet[Resource]:
    return Resource.objects.filter(is_active=True).prefetch_related(
        Prefetch("opening_hours", queryset=OpeningHours.objects.order_by("weekday", "opens"))
    )


def resources_all() -> QuerySet[Resource]:
    """Every device and room, in service or not (filters over past scans name retired devices too)."""
    return Resource.objects.order_by("name")


def appointments_between(
    *, start: dt.datetime, end: dt.datetime, resource: Resource | None = None
) -> QuerySet[Appointment]:
    qs = Appointment.objects.filter(start__lt=end, end__gt=start).select_related("patient", "resource", "technician")
    if resource is not None:
        qs = qs.filter(resource=resource)
    return qs.order_by("start", "resource__name")


def schedule_day(*, day: dt.date) -> list[tuple[Resource, list[Appointment]]]:
    """Each active resource with its appointments that day (two queries in all)."""
    start, end = local_day_bounds(day)
    resources = list(resources_active())
    by_resource: dict[int, list[Appointment]] = {r.pk: [] for r in resources}
    for appointment in appointments_between(start=start, end=end):
        by_resource.setdefault(appointment.resource_id, []).append(appointment)
    return [(r, by_resource[r.pk]) for r in resources]


def schedule_week(*, week_start: dt.date, resource: Resource) -> list[tuple[dt.date, list[Appointment]]]:
    days = [week_start + dt.timedelta(days=i) for i in range(7)]
    start, _ = local_day_bounds(days[0])
    _, end = local_day_bounds(days[-1])
    by_day: dict[dt.date, list[Appointment]] = {d: [] for d in days}
    for appointment in appointments_between(start=start, end=end, resource=resource):
        by_day.setdefault(timezone.localdate(appointment.start), []).append(appointment)
    return [(d, by_day[d]) for d in days]


def appointment_get(*, pk: int) -> Appointment:
    return (
        Appointment.objects.select_related("patient", "resource", "technician", "created_by")
        .prefetch_related(
            Prefetch(
                "reschedules",
                queryset=AppointmentReschedule.objects.select_related("old_resource", "new_resource", "changed_by"),
            )
        )
        .get(pk=pk)
    )


def appointments_for_patient(*, patient: Patient) -> QuerySet[Appointment]:
    return Appointment.objects.filter(patient=patient).select_related("resource", "technician").order_by("-start")


def reschedules_for_patient(*, patient: Patient) -> QuerySet[AppointmentReschedule]:
    return AppointmentReschedule.objects.filter(appointment__patient=patient).select_related(
        "old_resource", "new_resource", "changed_by"
    )


def technicians_active() -> QuerySet:
    """The staff an appointment can be assigned to: active members of the Technician group, by name."""
    return get_user_model().objects.filter(groups__name=TECHNICIAN, is_active=True).order_by("last_name", "username")


def appointment_check_in_open(*, appointment: Appointment, now: dt.datetime | None = None) -> bool:
    """Whether the appointment can be checked in now: still scheduled, and today is its (clinic-local) day. The
    service refuses otherwise, and the pages show the button only then: one rule for both."""
    from .models import AppointmentStatus

    now = now or timezone.now()
    return (
        appointment.status == AppointmentStatus.SCHEDULED
        and timezone.localtime(appointment.start).date() == timezone.localtime(now).date()
    )


def booking_technician_default(*, user) -> int | None:
    """The technician a new booking starts with: the booking user when they are a technician (they
    usually book for their own shift), nobody otherwise."""
    return user.pk if has_role(user, [TECHNICIAN]) else None


def appointments_for_worklist(
    *, start: dt.datetime, end: dt.datetime, station_ae_title: str = "", patient_id: str = ""
) -> QuerySet[Appointment]:
    """Open appointments on OCT devices starting in [start, end): what a device's modality worklist shows.

    Only scheduled and checked-in appointments (a cancelled one must not appear on the device), on devices
    (not rooms), of patients who are not archived; optionally one device (its AE title) or one patient (MRN).
    """
    from .models import AppointmentStatus

    qs = Appointment.objects.filter(
        start__gte=start,
        start__lt=end,
        status__in=(AppointmentStatus.SCHEDULED, AppointmentStatus.CHECKED_IN),
        resource__kind=Resource.Kind.DEVICE,
        patient__is_archived=False,
    ).select_related("patient", "resource")
    if station_ae_title:
        qs = qs.filter(resource__dicom_ae_title=station_ae_title)
    if patient_id:
        qs = qs.filter(patient__mrn=patient_id)
    return qs.order_by("start", "resource__name", "pk")


def appointment_for_received_image(
    *, patient: Patient, day: dt.date, accession_number: str = "", station_ae_title: str = ""
) -> Appointment | None:
    """The appointment an image taken on ``day`` belongs to: the worklist's accession number when the device
    sent it back, else the patient's appointment that local day (on the sending device first)."""
    from .models import BLOCKING_STATUSES

    if accession_number:
        by_accession = Appointment.objects.filter(patient=patient, accession_number=accession_number).first()
        if by_accession is not None:
            return by_accession
    start, end = local_day_bounds(day)
    candidates = list(
        Appointment.objects.filter(patient=patient, start__gte=start, start__lt=end, status__in=BLOCKING_STATUSES)
        .select_related("resource")
        .order_by("start", "pk")
    )
    if station_ae_title:
        on_device = [a for a in candidates if a.resource.dicom_ae_title == station_ae_title]
        if on_device:
            return on_device[0]
    return candidates[0] if candidates else None
