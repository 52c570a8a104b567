"""Patient actions. Every change records who made it (PHI changes must be attributable)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import Patient

EDITABLE_FIELDS = (
    "mrn",
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "address",
    "notes",
    "care_team",
)


def mrn_normalize(value: str) -> str:
    """MRNs are compared case- and space-insensitively: ' ab-123 ' and 'AB-123' are one patient."""
    return (value or "").strip().upper()


def _validate(patient: Patient) -> None:
    errors: dict[str, list[str]] = {}
    if patient.date_of_birth and patient.date_of_birth > timezone.localdate():
        errors.setdefault("date_of_birth", []).append("The date of birth can't be in the future.")
    if patient.date_of_birth and patient.date_of_birth < dt.date(1900, 1, 1):
        errors.setdefault("date_of_birth", []).append("The date of birth must be after 1900.")
    duplicate = Patient.objects.filter(mrn=patient.mrn).exclude(pk=patient.pk).exists()
    if duplicate:
        errors.setdefault("mrn", []).append("Another patient already has this MRN.")
    if errors:
        raise ValidationError(errors)
    patient.full_clean(validate_unique=False)


@transaction.atomic
def patient_create(*, created_by, **fields: Any) -> Patient:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown patient fields: {sorted(unknown)}")
    patient = Patient(**fields, created_by=created_by, updated_by=created_by)
    patient.mrn = mrn_normalize(patient.mrn)
    _validate(patient)
    patient.save()
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, updated_by, **fields: Any) -> Patient:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown patient fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(patient, name, value)
    patient.mrn = mrn_normalize(patient.mrn)
    patient.updated_by = updated_by
    _validate(patient)
    patient.save()
    return patient


@transaction.atomic
def patient_archive(*, patient: Patient, archived_by) -> Patient:
    """Archive instead of delete: the record and its history stay, it just leaves the working lists.

    Future appointments of an archived patient are not touched here; staff see them flagged and cancel
    them deliberately, since archiving is sometimes a mistake that is undone the same day.
    """
    patient.is_archived = True
    patient.archived_at = timezone.now()
    patient.updated_by = archived_by
    patient.save(update_fields=["is_archived", "archived_at", "updated_by", "updated_at"])
    return patient


@transaction.atomic
def patient_restore(*, patient: Patient, restored_by) -> Patient:
    patient.is_archived = False
    patient.archived_at = None
    patient.updated_by = restored_by
    patient.save(update_fields=["is_archived", "archived_at", "updated_by", "updated_at"])
    return patient


@transaction.atomic
def patient_care_team_assign(*, patient: Patient, care_team, assigned_by) -> Patient:
    """Move a patient to a care team (or none): from now on that team's doctors see them, the old team's don't."""
    patient.care_team = care_team
    patient.updated_by = assigned_by
    patient.save(update_fields=["care_team", "updated_by", "updated_at"])
    return patient
