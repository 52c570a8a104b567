"""Booking forms. Staff type local dates and wall-clock times; the forms turn them into aware
datetimes (refusing times that don't exist or are ambiguous on daylight-saving days) and the services
decide whether the slot can be booked."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from octclinic.form_errors import form_service_errors_add
from patients.models import Patient
from patients.selectors import patient_by_mrn

from .models import Appointment, Resource
from .selectors import technicians_active
from .services import local_datetime_build


class TechnicianChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.username


class SlotFields(forms.Form):
    resource = forms.ModelChoiceField(queryset=Resource.objects.filter(is_active=True), label="OCT device / room")
    day = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    start_time = forms.TimeField(label="Start", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end_time = forms.TimeField(label="End", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))

    def clean(self):
        cleaned = super().clean()
        day, start_time, end_time = cleaned.get("day"), cleaned.get("start_time"), cleaned.get("end_time")
        if day and start_time and end_time:
            try:
                cleaned["start"] = local_datetime_build(day=day, time=start_time)
            except ValidationError as exc:
                self.add_error("start_time", exc)
            try:
                cleaned["end"] = local_datetime_build(day=day, time=end_time)
            except ValidationError as exc:
                self.add_error("end_time", exc)
        return cleaned

    # The service's argument names where this form's fields are named differently.
    service_fields = {"start": "start_time", "end": "end_time"}

    def add_service_errors(self, exc: ValidationError) -> None:
        form_service_errors_add(self, exc, fields=self.service_fields)


class AppointmentBookForm(SlotFields):
    patient_mrn = forms.CharField(
        label="Patient MRN", max_length=20, help_text="Type the MRN from the patient's card or record."
    )
    technician = TechnicianChoiceField(queryset=Resource.objects.none(), required=False)
    reason = forms.CharField(max_length=200, required=False, label="Reason / order")

    field_order = ["patient_mrn", "resource", "day", "start_time", "end_time", "technician", "reason"]

    def __init__(self, *args, patient: Patient | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["technician"].queryset = technicians_active()
        self.patient = patient
        if patient is not None:
            self.fields["patient_mrn"].initial = patient.mrn
            self.fields["patient_mrn"].widget = forms.HiddenInput()

    def clean_patient_mrn(self) -> Patient:
        patient = patient_by_mrn(self.cleaned_data["patient_mrn"])
        if patient is None:
            raise ValidationError("No patient has this MRN. Register the patient first.")
        return patient

    service_fields = {**SlotFields.service_fields, "patient": "patient_mrn"}


class AppointmentRescheduleForm(SlotFields):
    reason = forms.CharField(max_length=200, label="Why is it moved?", help_text="Kept on the appointment's record.")

    def __init__(self, *args, appointment: Appointment, **kwargs):
        local_start = timezone.localtime(appointment.start)
        kwargs.setdefault(
            "initial",
            {
                "resource": appointment.resource_id,
                "day": local_start.date(),
                "start_time": local_start.time(),
                "end_time": timezone.localtime(appointment.end).time(),
            },
        )
        super().__init__(*args, **kwargs)


class AppointmentCancelForm(forms.Form):
    reason = forms.CharField(max_length=200, required=False, label="Reason for cancelling")


def default_slot(*, day: dt.date, start_time: dt.time | None = None) -> dict:
    start_time = start_time or dt.time(9, 0)
    end = dt.datetime.combine(day, start_time) + dt.timedelta(minutes=settings.DEFAULT_APPOINTMENT_MINUTES)
    return {"day": day, "start_time": start_time, "end_time": end.time()}
