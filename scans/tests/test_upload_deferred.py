"""End to end through the user's path with a deployed version whose card defers every unsure reading (deferral
threshold 0.99, far above what the tiny untrained model reaches): a B-scan uploaded on the upload page and read by
the classification task is shown as "AI unsure — read without AI suggestion" on the scan page and the review page,
without label, probabilities or heatmap; the API says ``deferred: true``; once the doctor has labelled it, the CSV
export says so too and the timeline says "Labelled", not "Corrected"."""

import csv
import html
import io

import pytest
from django.urls import reverse

from mlcore import runtime
from mlcore.labels import CLASSES
from mlcore.phantom import phantom_png
from mlcore.testing import tiny_model_version_deploy
from scans.models import DEFERRED_TEXT, Prediction
from scans.tests.ai_helpers import upload_through_page

pytestmark = pytest.mark.django_db
DEFERRAL = {"threshold": 0.99, "target_accuracy": 0.97, "validation_coverage": 0.0, "risk_coverage": []}


@pytest.fixture
def deferring_model(db, model_storage):
    runtime.model_cache_clear()
    yield tiny_model_version_deploy(version="tiny-deferring", card_updates={"deferral": DEFERRAL})
    runtime.model_cache_clear()


@pytest.fixture
def deferred(technician_client, patient, deferring_model, django_capture_on_commit_callbacks) -> Prediction:
    response, [scan] = upload_through_page(
        technician_client,
        patient,
        {"b-scan.png": phantom_png("CNV", seed=11)},
        capture=django_capture_on_commit_callbacks,
    )
    assert 'data-status="stored"' in response.content.decode()
    return Prediction.objects.get(scan=scan)


def _page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _without_suggestion(page: str) -> None:
    assert DEFERRED_TEXT in page and 'data-ai-outcome="deferred"' in page
    assert "data-ai-label" not in page and 'class="ai-probabilities"' not in page
    assert "data-heatmap-layer" not in page and "data-heatmap-toggle" not in page


def test_the_reading_is_stored_deferred_by_the_cards_threshold(deferred):
    assert (deferred.deferred, deferred.recognised, deferred.model_version.version) == (True, True, "tiny-deferring")
    assert deferred.confidence < 0.99 and deferred.label in CLASSES  # kept for the record and the API


def test_scan_and_review_pages_withhold_the_suggestion(technician_client, doctor_client, deferred):
    _without_suggestion(_page(technician_client, reverse("scans:detail", args=[deferred.scan.uuid])))
    review = _page(doctor_client, reverse("scans:review", args=[deferred.scan.uuid]))
    _without_suggestion(review)
    assert "data-review-approve" not in review and "data-review-no-suggestion" in review


def test_the_api_says_deferred(doctor_client, deferred):
    [body] = doctor_client.get(f"/api/v1/scans/{deferred.scan.uuid}/predictions/").json()
    assert (body["deferred"], body["recognised"], body["refusal_reason"]) == (True, True, "")
    assert body["model"]["version"] == "tiny-deferring"


def test_the_doctors_label_is_exported_as_a_decision_on_a_deferred_reading(doctor_client, deferred):
    other = next(name for name in CLASSES if name != deferred.label)
    response = doctor_client.post(
        reverse("scans:review_decide", args=[deferred.scan.uuid]), {"decision": "corrected", "label": other}
    )
    assert response.status_code == 302
    export = doctor_client.get(reverse("scans:reviews_export", args=["csv"])).content.decode()
    [row] = list(csv.DictReader(io.StringIO(export)))
    assert (row["deferred"], row["recognised"], row["label"], row["agrees_with_ai"]) == ("True", "True", other, "")
    timeline = _page(doctor_client, reverse("patients:detail", args=[deferred.scan.patient_id]))
    assert f"doctor: Labelled {other}" in timeline and "Corrected" not in timeline
