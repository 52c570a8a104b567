"""Patients are archived, never deleted; only roles with the archive permission may do it."""

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from patients.factories import PatientFactory
from patients.models import Patient

pytestmark = pytest.mark.django_db


def test_clinic_admin_archives_and_restores(clinic_admin_client, clinic_admin):
    patient = PatientFactory()
    clinic_admin_client.post(reverse("patients:archive", args=[patient.pk]))
    patient.refresh_from_db()
    assert patient.is_archived and patient.archived_at and patient.updated_by == clinic_admin
    assert patient not in Patient.objects.filter(is_archived=False)
    clinic_admin_client.post(reverse("patients:archive", args=[patient.pk]), {"restore": "1"})
    patient.refresh_from_db()
    assert not patient.is_archived and patient.archived_at is None


def test_technician_cannot_archive(technician_client):
    patient = PatientFactory()
    response = technician_client.post(reverse("patients:archive", args=[patient.pk]))
    assert response.status_code == 403
    patient.refresh_from_db()
    assert not patient.is_archived


def test_no_one_deletes_patients_in_the_admin(clinic_admin_client):
    patient = PatientFactory()
    response = clinic_admin_client.post(reverse("admin:patients_patient_delete", args=[patient.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Patient.objects.filter(pk=patient.pk).exists()


def test_reads_and_changes_are_attributed_in_the_audit_log(technician_client, technician):
    response = technician_client.post(
        reverse("patients:create"),
        {"mrn": "AU-0001", "first_name": "A", "last_name": "B", "date_of_birth": "1970-01-01", "sex": "U"},
    )
    patient = Patient.objects.get(mrn="AU-0001")
    technician_client.get(reverse("patients:detail", args=[patient.pk]))
    entries = LogEntry.objects.get_for_object(patient)
    actions = {(e.action, e.actor_id) for e in entries}
    assert (LogEntry.Action.CREATE, technician.pk) in actions
    assert (LogEntry.Action.ACCESS, technician.pk) in actions
    assert response.status_code == 302
