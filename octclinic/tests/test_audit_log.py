"""Clinic admins browse, filter and export who read or changed which record, and every login."""

import csv
import io

import pytest
from django.urls import reverse

from octclinic.factories import TEST_PASSWORD, TechnicianFactory
from patients.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_views_changes_and_logins_are_listed_and_filterable(client, clinic_admin_client):
    tina = TechnicianFactory(username="tina")
    client.post("/accounts/login/", {"username": "tina", "password": "wrong"})
    client.post("/accounts/login/", {"username": "tina", "password": TEST_PASSWORD})
    patient = PatientFactory()
    client.get(reverse("patients:detail", args=[patient.pk]))

    page = clinic_admin_client.get(reverse("audit_log"), {"actor": "tina"}).content.decode()
    assert f"patients.patient #{patient.pk}" in page and "access" in page
    assert "tina" in page and "failed" in page and ">login<" in page
    other = clinic_admin_client.get(reverse("audit_log"), {"actor": "nobody"}).content.decode()
    assert f"patients.patient #{patient.pk}" not in other
    assert tina.pk


def test_csv_export_follows_the_filters(client, clinic_admin_client):
    TechnicianFactory(username="tina")
    client.post("/accounts/login/", {"username": "tina", "password": TEST_PASSWORD})
    patient = PatientFactory()
    client.get(reverse("patients:detail", args=[patient.pk]))
    response = clinic_admin_client.get(reverse("audit_log"), {"actor": "tina", "export": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows and all(row["actor"] == "tina" for row in rows)
    assert {"timestamp_utc", "actor", "action", "record_type", "record_id", "remote_addr"} <= set(rows[0])
    assert any(row["record_type"] == "patients.patient" and row["action"] == "access" for row in rows)


@pytest.mark.parametrize("persona", ["technician_client", "doctor_client"])
def test_only_clinic_admins_see_the_audit_log(request, persona):
    assert request.getfixturevalue(persona).get(reverse("audit_log")).status_code == 403


def test_nobody_deletes_audit_entries_in_the_admin(clinic_admin_client):
    from auditlog.models import LogEntry

    PatientFactory()
    entry = LogEntry.objects.first()
    response = clinic_admin_client.post(reverse("admin:auditlog_logentry_delete", args=[entry.pk]), {"post": "yes"})
    assert response.status_code in (302, 403)
    assert LogEntry.objects.filter(pk=entry.pk).exists()
