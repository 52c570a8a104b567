"""The demo clinic: staff of each role, about 20 patients, a week on two devices; re-runs keep data."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from octclinic.demo import demo_clinic_seed
from octclinic.roles import ROLES
from patients.access import patients_visible_to
from patients.models import Patient
from scheduling.models import Appointment, Resource

pytestmark = pytest.mark.django_db


def test_seed_then_reseed_keeps_everything(settings, tmp_path, capsys):
    settings.DATA_DIR = tmp_path
    call_command("seed_demo", password="demo-password-2026")
    out = capsys.readouterr().out
    User = get_user_model()
    for role in ROLES:
        assert User.objects.filter(groups__name=role).exists()
    assert "clinicadmin  demo-password-2026" in out
    assert User.objects.get(username="tech").check_password("demo-password-2026")
    assert Patient.objects.count() == 20
    assert Resource.objects.count() == 2
    assert sorted(Resource.objects.values_list("dicom_ae_title", flat=True)) == ["OCT1", "OCT2"]  # their worklists
    assert Appointment.objects.values("resource").distinct().count() == 2
    counts = (User.objects.count(), Patient.objects.count(), Appointment.objects.count())

    call_command("seed_demo", password=None)
    out = capsys.readouterr().out
    assert (User.objects.count(), Patient.objects.count(), Appointment.objects.count()) == counts
    assert "demo-password-2026" in out  # remembered from the first run, not regenerated
    assert User.objects.get(username="doctor").check_password("demo-password-2026")


def test_generated_passwords_are_printed_and_work(settings, tmp_path, capsys):
    settings.DATA_DIR = tmp_path
    call_command("seed_demo", password=None)
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.strip().startswith("tech "))
    password = line.split()[1]
    assert get_user_model().objects.get(username="tech").check_password(password)
    assert (tmp_path / "demo-logins.json").stat().st_mode & 0o077 == 0


def test_each_demo_doctor_sees_only_their_care_team(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    demo_clinic_seed(password="demo-password-123")
    users = get_user_model().objects
    doctor, doctor2, tech = (users.get(username=u) for u in ("doctor", "doctor2", "tech"))
    mine, theirs = set(patients_visible_to(doctor)), set(patients_visible_to(doctor2))
    assert mine and theirs and not (mine & theirs)
    assert len(mine | theirs) == patients_visible_to(tech).count() == 20
