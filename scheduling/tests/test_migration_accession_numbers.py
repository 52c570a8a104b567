"""The worklist migration gives every existing appointment its own accession number (a callable default on
AddField would have given them all the same one, and the unique constraint would have failed)."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("scheduling", "0002_no_show_schedule")]
AFTER = [("scheduling", "0003_dicom_worklist")]


@pytest.mark.django_db(transaction=True)
def test_existing_appointments_get_distinct_accession_numbers():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state(BEFORE).apps
    Patient = old_apps.get_model("patients", "Patient")
    Resource = old_apps.get_model("scheduling", "Resource")
    Appointment = old_apps.get_model("scheduling", "Appointment")
    patient = Patient.objects.create(mrn="MIG-1", first_name="A", last_name="B", date_of_birth=dt.date(1970, 1, 1))
    resource = Resource.objects.create(name="Migration device")
    start = timezone.now() + dt.timedelta(days=1)
    for hour in range(3):
        Appointment.objects.create(
            patient=patient,
            resource=resource,
            start=start + dt.timedelta(hours=hour),
            end=start + dt.timedelta(hours=hour, minutes=20),
        )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new_apps = executor.loader.project_state(AFTER).apps
    numbers = list(new_apps.get_model("scheduling", "Appointment").objects.values_list("accession_number", flat=True))
    assert len(numbers) == 3 and len(set(numbers)) == 3
    assert all(n.startswith("OCT") and len(n) <= 16 for n in numbers)
