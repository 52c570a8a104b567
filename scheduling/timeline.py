"""Appointments and their reschedules on the patient timeline (two queries per patient)."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from patients.models import Patient
from patients.timeline import TimelineEntry

from .selectors import appointments_for_patient, reschedules_for_patient


def _fmt(value) -> str:
    return timezone.localtime(value).strftime("%a %Y-%m-%d %H:%M")


def scheduling_timeline(patient: Patient) -> list[TimelineEntry]:
    entries = [
        TimelineEntry(
            when=a.start,
            kind="appointment",
            title=f"OCT appointment on {a.resource.name}",
            url=reverse("scheduling:appointment_detail", args=[a.pk]),
            detail=a.reason,
            status=a.status,
            extra={"status_label": a.get_status_display()},
        )
        for a in appointments_for_patient(patient=patient)
    ]
    for r in reschedules_for_patient(patient=patient):
        who = (r.changed_by.get_full_name() or r.changed_by.username) if r.changed_by else "unknown"
        entries.append(
            TimelineEntry(
                when=r.changed_at,
                kind="reschedule",
                title=f"Appointment moved from {_fmt(r.old_start)} ({r.old_resource.name}) "
                f"to {_fmt(r.new_start)} ({r.new_resource.name})",
                url=reverse("scheduling:appointment_detail", args=[r.appointment_id]),
                detail=f"By {who}: {r.reason}",
            )
        )
    return entries
