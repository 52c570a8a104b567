"""The audit page says what changed, field by field (old → new), and hides patient data from a viewer who may not
see that patient (issue #17, part 5)."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from octclinic.factories import DoctorFactory
from patients.factories import CareTeamFactory, PatientFactory

pytestmark = pytest.mark.django_db


def rename(patient, last_name):
    patient.last_name = last_name
    patient.save()


def test_changes_column_shows_field_old_and_new(clinic_admin_client):
    patient = PatientFactory(last_name="Mustermann")
    rename(patient, "Musterfrau")
    page = clinic_admin_client.get(reverse("audit_log"), {"object_type": ""}).content.decode()
    assert "<code>last_name</code>: Mustermann → Musterfrau" in page
    rows = list(
        csv.DictReader(io.StringIO(clinic_admin_client.get(reverse("audit_log"), {"export": "csv"}).content.decode()))
    )
    assert any("last_name: Mustermann → Musterfrau" in row["changes"] for row in rows)


def test_patient_values_are_hidden_from_a_viewer_who_may_not_see_the_patient(client):
    auditor = DoctorFactory()
    auditor.user_permissions.add(Permission.objects.get(content_type__app_label="auditlog", codename="view_logentry"))
    own = PatientFactory(last_name="Teamfall", care_team=CareTeamFactory(members=[auditor]))
    other = PatientFactory(last_name="Fremdfall")
    rename(own, "Teamfall-Neu")
    rename(other, "Fremdfall-Neu")
    client.force_login(auditor)
    page = client.get(reverse("audit_log")).content.decode()
    assert "Teamfall → Teamfall-Neu" in page
    assert "Fremdfall" not in page and "(hidden)" in page
    exported = client.get(reverse("audit_log"), {"export": "csv"}).content.decode()
    assert "Teamfall-Neu" in exported and "Fremdfall" not in exported
