"""Each role's start page: the technician's day, the doctor's queue, the clinic admin's figures with a drift
warning; a fixed number of queries whatever the amount of data."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from scans.factories import ModelVersionRowFactory, ReviewFactory
from scans.models import Review
from scans.tests.review_helpers import team_patient, waiting_reading

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


def seed_reviews(doctor, *, version, approved: int, corrected: int, weeks_ago: int = 0):
    patient = team_patient(doctor)
    model = ModelVersionRowFactory(version=version, status="retired")
    when = timezone.now() - dt.timedelta(weeks=weeks_ago)
    for i in range(approved + corrected):
        prediction = waiting_reading(patient, label="CNV", model_version=model)
        decision = "approved" if i < approved else "corrected"
        review = ReviewFactory(
            prediction=prediction, reviewer=doctor, decision=decision, label="CNV" if i < approved else "DME"
        )
        Review.objects.filter(pk=review.pk).update(created_at=when)


def test_doctor_dashboard_counts_by_urgency_and_overdue(doctor_client, doctor):
    patient = team_patient(doctor)
    waiting_reading(patient, label="CNV", hours_ago=48)
    waiting_reading(patient, label="DRUSEN")
    page = doctor_client.get(reverse("home")).content.decode()
    assert "data-queue-total>2<" in page and "data-queue-urgent>1<" in page and "data-queue-routine>1<" in page
    assert "data-queue-overdue>1<" in page and "<svg" in page


def test_clinic_admin_dashboard_warns_on_drift(clinic_admin_client, doctor, settings):
    settings.REVIEW_DRIFT_MIN_AGREEMENT = 0.8
    settings.REVIEW_DRIFT_MIN_REVIEWS = 5
    seed_reviews(doctor, version="v-good", approved=6, corrected=0)
    seed_reviews(doctor, version="v-bad", approved=2, corrected=4)
    page = clinic_admin_client.get(reverse("home")).content.decode()
    assert page.count("data-drift-warning") == 1 and "version v-bad" in page
    assert "Scans per week" in page and "<svg" in page and "v-good" in page
    assert "data-turnaround" in page and "data-model-versions" in page


def test_technician_dashboard_shows_uploads_and_failed_readings(technician_client, doctor):
    patient = team_patient(doctor)
    failed = waiting_reading(patient)
    failed.scan.ai_status = "failed"
    failed.scan.ai_error = "The image could not be read."
    failed.scan.save(update_fields=["ai_status", "ai_error"])
    page = technician_client.get(reverse("home")).content.decode()
    assert 'data-dashboard="technician"' in page
    assert "Uploads today: 1" in page and f"Scan #{failed.scan_id}" in page


@pytest.mark.parametrize("persona", ["technician", "doctor", "clinic_admin"])
def test_dashboard_query_count_does_not_grow(request, client, doctor, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    seed_reviews(doctor, version="v1", approved=1, corrected=1)
    client.get(reverse("home"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("home"))
    seed_reviews(doctor, version="v2", approved=4, corrected=3, weeks_ago=2)
    waiting_reading(team_patient(doctor))
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("home")).status_code == 200
    assert len(many) == len(few)


def test_scans_per_week_counts_this_weeks_uploads(doctor):
    from scans.review_stats import scans_per_week

    patient = team_patient(doctor)
    waiting_reading(patient)
    waiting_reading(patient)
    weeks = scans_per_week(user=doctor, weeks=4)
    assert len(weeks) == 4 and weeks[-1][1] == 2 and sum(n for _, n in weeks) == 2
