"""Dashboard figures over their windows: review turnaround (median, nearest-rank 90th percentile) the same
whether PostgreSQL or Python computes it; the diagnosis distribution counts the last 12 weeks only."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from scans.factories import ReviewFactory
from scans.models import Review
from scans.review_stats import diagnosis_distribution, review_turnaround
from scans.tests.review_helpers import team_patient, waiting_reading

pytestmark = pytest.mark.django_db


def _decided(doctor, patient, *, label: str, waited_hours: float, days_ago: float = 1, decision="approved"):
    prediction = waiting_reading(patient, label=label)
    review = ReviewFactory(prediction=prediction, reviewer=doctor, decision=decision)
    decided_at = timezone.now() - dt.timedelta(days=days_ago)
    Review.objects.filter(pk=review.pk).update(
        created_at=decided_at, queued_at=decided_at - dt.timedelta(hours=waited_hours)
    )


def test_turnaround_median_and_p90_per_urgency(doctor):
    patient = team_patient(doctor)
    for hours in (1, 2, 3, 4, 5, 6, 7):
        _decided(doctor, patient, label="CNV", waited_hours=hours)
    for hours in (10, 30):
        _decided(doctor, patient, label="DRUSEN", waited_hours=hours)
    _decided(doctor, patient, label="CNV", waited_hours=500, days_ago=40)  # outside the 30 days

    figures = review_turnaround(user=doctor, in_database=False)
    assert figures["urgent"] == {"count": 7, "median_hours": pytest.approx(4), "p90_hours": pytest.approx(7)}
    assert figures["routine"] == {"count": 2, "median_hours": pytest.approx(20), "p90_hours": pytest.approx(30)}
    if connection.vendor == "postgresql":
        assert review_turnaround(user=doctor) == figures
        assert review_turnaround(user=doctor, in_database=True) == figures


def test_distribution_counts_the_last_twelve_weeks(doctor):
    patient = team_patient(doctor)
    _decided(doctor, patient, label="CNV", waited_hours=2, days_ago=3)
    _decided(doctor, patient, label="CNV", waited_hours=2, days_ago=10)
    _decided(doctor, patient, label="NORMAL", waited_hours=2, days_ago=200)
    assert diagnosis_distribution(user=doctor) == [("CNV", 2)]
    assert dict(diagnosis_distribution(user=doctor, weeks=60)) == {"CNV": 2, "NORMAL": 1}
