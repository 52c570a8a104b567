"""A reading the AI deferred, or an image it did not recognise as OCT, never counts as the AI's diagnosis:
agreement per model version leaves their decisions out, turnaround groups them by the queue class they waited
in, and the Prometheus predictions counter gives them no label."""

import datetime as dt

import pytest
from django.utils import timezone

from octclinic.clinic_metrics import predictions_by_label
from scans.factories import ModelVersionRowFactory, ReviewFactory
from scans.review_stats import agreement_by_model_version, diagnosis_distribution, review_turnaround
from scans.tests.review_helpers import team_patient, waiting_reading

pytestmark = pytest.mark.django_db
REFUSED = {"label": "", "recognised": False, "refusal_reason": "blank frame"}


@pytest.fixture
def decided(doctor):
    """v1: one approved suggestion, one corrected suggestion, one deferred and one refused reading labelled."""
    patient = team_patient(doctor)
    model = ModelVersionRowFactory(version="v1", status="retired")

    def review(decision, doctors_label, **reading):
        prediction = waiting_reading(patient, model_version=model, hours_ago=10, **reading)
        return ReviewFactory(prediction=prediction, reviewer=doctor, decision=decision, label=doctors_label)

    return [
        review("approved", "CNV", label="CNV"),
        review("corrected", "DME", label="CNV"),
        review("corrected", "NORMAL", label="NORMAL", deferred=True),
        review("corrected", "DRUSEN", **REFUSED),
    ]


def test_agreement_counts_only_decisions_on_suggestions(decided):
    [v1] = agreement_by_model_version(weeks=2)
    assert (v1.version, v1.agreed, v1.total) == ("v1", 1, 2)
    assert [r.agrees_with_ai for r in decided] == [True, False, None, None]


def test_turnaround_groups_deferred_and_refused_by_their_queue_class(doctor, decided):
    # The grouping is the same annotation on both paths; PostgreSQL only summarises it in SQL.
    figures = review_turnaround(user=doctor, now=timezone.now() + dt.timedelta(hours=1))
    assert {k: v["count"] for k, v in figures.items()} == {"deferred": 1, "unrecognised": 1, "urgent": 2}


def test_diagnoses_are_the_doctors_labels_whatever_the_ai_said(doctor, decided):
    assert dict(diagnosis_distribution(user=doctor)) == {"CNV": 1, "DME": 1, "NORMAL": 1, "DRUSEN": 1}


def test_predictions_metric_gives_deferred_and_refused_no_label(doctor):
    patient = team_patient(doctor)
    model = ModelVersionRowFactory(version="m1")
    waiting_reading(patient, label="CNV", model_version=model)
    waiting_reading(patient, label="CNV", model_version=model, deferred=True)
    waiting_reading(patient, model_version=model, **REFUSED)
    [family] = list(predictions_by_label())
    samples = {tuple(sorted(s.labels.items())): s.value for s in family.samples}
    assert samples == {
        (("label", "CNV"), ("model_version", "m1"), ("outcome", "suggestion")): 1,
        (("label", ""), ("model_version", "m1"), ("outcome", "deferred")): 1,
        (("label", ""), ("model_version", "m1"), ("outcome", "unrecognised")): 1,
    }
