"""Deferred readings (AI unsure) wait right after the urgent ones whatever their label, with the urgent target;
images not recognised as OCT wait last, with the routine target; neither can be approved (there is no suggestion),
the doctor names the label instead, and the decision records what the AI's side was."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from scans.factories import PredictionFactory
from scans.models import Review, ReviewDecision
from scans.review import review_decide
from scans.review_selectors import review_queue, review_queue_counts, review_target_hours, reviewed_training_labels
from scans.tests.review_helpers import team_patient, waiting_reading

pytestmark = pytest.mark.django_db
REFUSED = {"label": "", "recognised": False, "refusal_reason": "no layered retina band found"}


def test_deferred_after_urgent_and_refused_last(doctor):
    patient = team_patient(doctor)
    normal = waiting_reading(patient, label="NORMAL", uncertainty=0.9, hours_ago=500)
    refused = waiting_reading(patient, uncertainty=1.0, hours_ago=900, **REFUSED)
    drusen = waiting_reading(patient, label="DRUSEN", uncertainty=0.9)
    deferred_normal = waiting_reading(patient, label="NORMAL", uncertainty=0.6, deferred=True)
    deferred_cnv = waiting_reading(patient, label="CNV", uncertainty=0.8, deferred=True)
    cnv = waiting_reading(patient, label="CNV", uncertainty=0.1)
    order = [item.scan.pk for item in review_queue(user=doctor)]
    assert order == [p.scan_id for p in (cnv, deferred_cnv, deferred_normal, drusen, normal, refused)]
    assert [item.urgency for item in review_queue(user=doctor)] == [
        "urgent",
        "deferred",
        "deferred",
        "routine",
        "observation",
        "unrecognised",
    ]


def test_a_volume_with_one_deferred_frame_waits_as_deferred(doctor):
    patient = team_patient(doctor)
    routine = waiting_reading(patient, label="DRUSEN")
    PredictionFactory(scan=routine.scan, frame=1, label="NORMAL", deferred=True)
    [item] = review_queue(user=doctor)
    assert item.urgency == "deferred" and item.prediction.deferred


def test_targets_deferred_as_urgent_refused_as_routine(doctor, settings):
    settings.REVIEW_TARGET_HOURS = {"urgent": 24, "routine": 168, "observation": 720}
    targets = review_target_hours()
    assert (targets["deferred"], targets["unrecognised"]) == (24, 168)
    patient = team_patient(doctor)
    late_deferred = waiting_reading(patient, label="NORMAL", deferred=True, hours_ago=30)
    waiting_reading(patient, hours_ago=30, **REFUSED)  # routine target: not late yet
    late_refused = waiting_reading(patient, hours_ago=200, **REFUSED)
    items = review_queue(user=doctor)
    assert [i.scan.pk for i in items if i.overdue] == [late_deferred.scan_id, late_refused.scan_id]
    counts = review_queue_counts(user=doctor, now=dt.datetime.now(dt.UTC))
    assert counts["by_urgency"]["deferred"] == 1 and counts["by_urgency"]["unrecognised"] == 2
    assert counts["overdue_count"] == 2


def test_the_queue_page_shows_no_label_for_deferred_or_refused(doctor_client, doctor):
    patient = team_patient(doctor)
    waiting_reading(patient, label="DME", deferred=True)
    waiting_reading(patient, **REFUSED)
    page = doctor_client.get(reverse("scans:review_queue")).content.decode()
    assert "AI unsure — read without AI suggestion" in page
    assert "Not recognised as a retinal OCT B-scan: no layered retina band found" in page
    assert "<td>DME</td>" not in page


def test_nothing_to_approve_the_doctor_names_the_label(doctor):
    reading = waiting_reading(team_patient(doctor), label="DME", deferred=True)
    with pytest.raises(ValidationError, match="no suggestion"):
        review_decide(scan=reading.scan, reviewer=doctor, decision=ReviewDecision.APPROVED)
    # The withheld label may be the doctor's too: it was never shown, so this is no "correction" to refuse.
    review = review_decide(scan=reading.scan, reviewer=doctor, decision=ReviewDecision.CORRECTED, label="DME")
    assert (review.ai_label, review.ai_deferred, review.ai_recognised, review.label) == ("DME", True, True, "DME")
    assert review.agrees_with_ai is None and review.decision_display == "Labelled"
    assert list(reviewed_training_labels()) == [review]  # the doctor's label is a training label all the same


def test_a_refused_image_can_be_labelled_or_marked_ungradable(doctor, other_doctor):
    patient = team_patient(doctor, other_doctor)
    refused = waiting_reading(patient, **REFUSED)
    with pytest.raises(ValidationError):
        review_decide(scan=refused.scan, reviewer=doctor, decision=ReviewDecision.APPROVED)
    review = review_decide(scan=refused.scan, reviewer=doctor, decision=ReviewDecision.UNGRADABLE)
    assert (review.ai_label, review.ai_urgency, review.ai_recognised) == ("", "unrecognised", False)
    assert Review.objects.get(pk=review.pk).ai_said == "Not recognised as a retinal OCT B-scan"
    other = waiting_reading(patient, **REFUSED)
    labelled = review_decide(scan=other.scan, reviewer=other_doctor, decision=ReviewDecision.CORRECTED, label="CNV")
    assert labelled.label == "CNV" and labelled.agrees_with_ai is None


def test_the_review_page_offers_no_approve_button_without_a_suggestion(doctor_client, doctor):
    reading = waiting_reading(team_patient(doctor), label="CNV", deferred=True)
    page = doctor_client.get(reverse("scans:review", args=[reading.scan.uuid])).content.decode()
    assert "data-review-approve" not in page and "data-review-no-suggestion" in page
    assert "AI unsure — read without AI suggestion" in page
    assert "data-ai-label" not in page and 'class="ai-probabilities"' not in page
