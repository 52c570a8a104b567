"""Care teams decide which patients a doctor sees; technicians and clinic admins see everyone; clinic admins
manage the teams in the admin, doctors cannot."""

import pytest
from django.urls import reverse

from patients.access import patient_visible_to, patients_visible_to
from patients.factories import CareTeamFactory, PatientFactory
from patients.models import CareTeam
from patients.services import patient_care_team_assign

pytestmark = pytest.mark.django_db


def test_visibility_per_role(doctor, other_doctor, technician, clinic_admin, django_user_model):
    mine = PatientFactory(care_team=CareTeamFactory(members=[doctor]))
    theirs = PatientFactory(care_team=CareTeamFactory(members=[other_doctor]))
    unassigned = PatientFactory()
    assert set(patients_visible_to(doctor)) == {mine}
    assert set(patients_visible_to(other_doctor)) == {theirs}
    assert set(patients_visible_to(technician)) == set(patients_visible_to(clinic_admin)) == {mine, theirs, unassigned}
    no_role = django_user_model.objects.create_user("norole", password="x-very-long-password")
    assert not patients_visible_to(no_role).exists()


def test_moving_a_patient_moves_who_sees_them(doctor, other_doctor, clinic_admin):
    patient = PatientFactory(care_team=CareTeamFactory(members=[doctor]))
    patient_care_team_assign(
        patient=patient, care_team=CareTeamFactory(members=[other_doctor]), assigned_by=clinic_admin
    )
    assert not patient_visible_to(user=doctor, patient=patient)
    assert patient_visible_to(user=other_doctor, patient=patient)


def test_a_doctor_in_two_teams_sees_each_patient_once(doctor):
    PatientFactory(care_team=CareTeamFactory(members=[doctor]))
    PatientFactory(care_team=CareTeamFactory(members=[doctor]))
    assert patients_visible_to(doctor).count() == 2


def test_clinic_admin_creates_a_team_in_the_admin_doctor_cannot(clinic_admin_client, doctor_client, doctor):
    url = reverse("admin:patients_careteam_add")
    assert doctor_client.get(url).status_code == 403
    response = clinic_admin_client.post(url, {"name": "Retina", "members": [doctor.pk]})
    assert response.status_code == 302
    assert list(CareTeam.objects.get(name="Retina").members.all()) == [doctor]


def test_patient_list_page_shows_only_the_team(doctor_client, doctor):
    mine = PatientFactory(care_team=CareTeamFactory(members=[doctor]), last_name="Mine")
    other = PatientFactory(last_name="Elsewhere")
    page = doctor_client.get(reverse("patients:list")).content.decode()
    assert f"/patients/{mine.pk}/" in page and f"/patients/{other.pk}/" not in page
