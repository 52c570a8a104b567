"""Narrowing rows to the user's patients: clinic-wide users get the rows unfiltered (no every-patient subquery on
a 100,000-scan list), care-team doctors get their patients' rows, users without the permission get none."""

import pytest

from patients.access import rows_of_visible_patients
from patients.factories import CareTeamFactory, PatientFactory
from scans.factories import ScanFactory
from scans.models import Scan

pytestmark = pytest.mark.django_db


def test_clinic_wide_users_get_the_rows_without_a_patient_subquery(technician):
    scans = rows_of_visible_patients(Scan.objects.all(), technician)
    assert "patients_patient" not in str(scans.query)


def test_doctors_get_their_care_teams_rows_only(doctor):
    mine = ScanFactory(patient=PatientFactory(care_team=CareTeamFactory(members=[doctor])))
    ScanFactory(patient=PatientFactory())
    assert list(rows_of_visible_patients(Scan.objects.all(), doctor)) == [mine]


def test_related_rows_follow_the_field_path(doctor):
    from scans.factories import PredictionFactory
    from scans.models import Prediction

    mine = PredictionFactory(scan__patient=PatientFactory(care_team=CareTeamFactory(members=[doctor])))
    PredictionFactory()
    assert list(rows_of_visible_patients(Prediction.objects.all(), doctor, field="scan__patient")) == [mine]


def test_users_without_patient_access_get_nothing(django_user_model):
    ScanFactory()
    nobody = django_user_model.objects.create_user("nobody", password="x" * 16)
    assert not rows_of_visible_patients(Scan.objects.all(), nobody).exists()
