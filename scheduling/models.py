import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from patients.models import Patient


class Resource(models.Model):
    """A bookable OCT device or room. Opening hours are in the clinic's local time zone."""

    class Kind(models.TextChoices):
        DEVICE = "device", "OCT device"
        ROOM = "room", "Room"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DEVICE)
    location = models.CharField(max_length=100, blank=True)
    model_name = models.CharField("device model", max_length=100, blank=True)
    dicom_ae_title = models.CharField(
        "DICOM AE title",
        max_length=16,
        blank=True,
        help_text="The device's own AE title: its worklist shows the appointments booked on it (docs/dicom.md).",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["dicom_ae_title"], condition=~Q(dicom_ae_title=""), name="resource_unique_dicom_ae_title"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OpeningHours(models.Model):
    """One opening interval of a resource on a weekday; a day may have several (a lunch break)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["resource", "weekday", "opens"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(condition=Q(closes__gt=F("opens")), name="opening_hours_closes_after_opens"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class AppointmentStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CHECKED_IN = "checked_in", "Checked in"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


# Statuses that hold the slot: a cancelled appointment or a no-show frees the device and the patient.
BLOCKING_STATUSES = (AppointmentStatus.SCHEDULED, AppointmentStatus.CHECKED_IN, AppointmentStatus.COMPLETED)


def accession_number_new() -> str:
    """A DICOM accession number (SH, at most 16 characters) that says nothing about the patient.

    Random rather than derived from the primary key, so numbers can't be enumerated or guessed.
    """
    return "OCT" + secrets.token_hex(6).upper()


class Appointment(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="appointments")
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appointments_as_technician",
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=AppointmentStatus.choices, default=AppointmentStatus.SCHEDULED)
    accession_number = models.CharField(
        max_length=16,
        unique=True,
        default=accession_number_new,
        editable=False,
        help_text="Sent to the device in the modality worklist; images that come back with it find this appointment.",
    )

    checked_in_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=200, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["start"]
        permissions = [
            ("check_in_appointment", "Can check patients in"),
            ("cancel_appointment", "Can cancel appointments"),
            ("reschedule_appointment", "Can reschedule appointments"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="appointment_end_after_start"),
        ]
        indexes = [
            models.Index(fields=["resource", "start"], name="appointment_resource_start_idx"),
            models.Index(fields=["patient", "start"], name="appointment_patient_start_idx"),
            models.Index(fields=["status", "start"], name="appointment_status_start_idx"),
        ]

    def __str__(self) -> str:
        return f"Appointment #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in (AppointmentStatus.SCHEDULED, AppointmentStatus.CHECKED_IN)


class AppointmentReschedule(models.Model):
    """An append-only record of each move: old and new time, who moved it and why."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reschedules")
    old_start = models.DateTimeField()
    old_end = models.DateTimeField()
    old_resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="+")
    new_start = models.DateTimeField()
    new_end = models.DateTimeField()
    new_resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=200)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["changed_at", "pk"]

    def __str__(self) -> str:
        return f"Reschedule #{self.pk} of appointment #{self.appointment_id}"
