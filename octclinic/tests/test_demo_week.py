"""Issue #19 part 3: the demo clinic's patients have the sex their first names suggest, and the demo has a week
of scans with AI readings (once the demo model is deployed), most reviewed, one second opinion, one overdue;
seeding again adds nothing."""

import pytest
from django.core.management import call_command

from mlcore.testing import tiny_model_version_deploy
from octclinic.demo import FIRST_NAMES, demo_clinic_seed
from patients.models import Patient, Sex
from scans.models import AiStatus, Prediction, Review, Scan, SecondOpinionRequest

pytestmark = pytest.mark.django_db

FEMALE_NAMES = {"Anna", "Carla", "Elif", "Greta", "Ines", "Kira", "Mona", "Olga", "Rosa", "Tara"}


@pytest.fixture
def demo(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    demo_clinic_seed(password="demo-password-2026")


def test_demo_patients_sex_matches_their_first_names(demo):
    patients = list(Patient.objects.filter(mrn__startswith="DEMO-"))
    assert len(patients) == 20
    for patient in patients:
        expected = Sex.FEMALE if patient.first_name in FEMALE_NAMES else Sex.MALE
        assert patient.sex == expected, (patient.first_name, patient.sex)
    assert {sex for _name, sex in FIRST_NAMES} == {Sex.FEMALE, Sex.MALE}


def test_a_demo_seeded_before_the_fix_is_put_right(demo):
    Patient.objects.filter(mrn="DEMO-1002").update(sex=Sex.FEMALE)  # Ben, as the old seed made him
    Patient.objects.filter(mrn="DEMO-1017").update(first_name="Quinn", sex=Sex.FEMALE)
    demo_clinic_seed(password=None)
    assert Patient.objects.get(mrn="DEMO-1002").sex == Sex.MALE
    assert Patient.objects.values_list("first_name", "sex").get(mrn="DEMO-1017") == ("Quentin", Sex.MALE)


def test_demo_week_of_scans_readings_and_reviews(demo, capsys):
    from scans.review_selectors import review_queue

    scans = Scan.objects.filter(patient__mrn__startswith="DEMO-")
    assert scans.count() == 12  # uploaded before any model exists: waiting for their readings
    assert not Prediction.objects.exists()
    assert len({scan.acquired_on for scan in scans}) >= 7

    tiny_model_version_deploy()
    call_command("seed_demo_model")  # a model is deployed: nothing to do there
    call_command("seed_demo_readings")  # make run's next step: the readings, reviews, second opinion, overdue
    out = capsys.readouterr().out
    assert "AI readings of 12 demo scans stored." in out
    assert set(scans.values_list("ai_status", flat=True)) == {AiStatus.CLASSIFIED}
    primary = Review.objects.filter(is_second_opinion=False)
    assert primary.count() >= 5 and primary.filter(decision="corrected").exists()
    request = SecondOpinionRequest.objects.get()
    assert request.requested_by != request.colleague and request.review is None
    from django.contrib.auth import get_user_model

    doctors = get_user_model().objects.filter(username__in=["doctor", "doctor2"])
    entries = {entry.scan.pk: entry for doctor in doctors for entry in review_queue(user=doctor)}
    assert sum(entry.overdue for entry in entries.values()) == 1
    assert len(entries) == 12 - primary.count()  # the second opinion's scan is in both doctors' queues

    counts = (Scan.objects.count(), Prediction.objects.count(), Review.objects.count())
    demo_clinic_seed(password=None)
    call_command("seed_demo_model")
    call_command("seed_demo_readings")
    assert (Scan.objects.count(), Prediction.objects.count(), Review.objects.count()) == counts
    assert SecondOpinionRequest.objects.count() == 1
