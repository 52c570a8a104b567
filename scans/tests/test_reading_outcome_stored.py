"""What the runtime says about a reading beyond its label is stored: a deferred reading keeps its (withheld)
label and urgency with ``deferred``; an image not recognised as a retinal OCT B-scan is stored with no label,
urgency "unrecognised", its reason and no heatmap; and the queue keys rank them by that."""

import numpy as np
import pytest

from mlcore import runtime
from mlcore.labels import Urgency
from scans.classification import scan_classify
from scans.factories import ModelVersionRowFactory
from scans.models import DEFERRED_TEXT, UNRECOGNISED, AiStatus, Prediction
from scans.tests.ai_helpers import SCAN_SIZE, uploaded_scan

pytestmark = pytest.mark.django_db


def _reading(**overrides) -> runtime.Reading:
    values = {
        "label": "DRUSEN",
        "probabilities": {"CNV": 0.2, "DME": 0.2, "DRUSEN": 0.35, "NORMAL": 0.25},
        "confidence": 0.35,
        "uncertainty": 0.95,
        "needs_careful_review": True,
        "review_reasons": ("low confidence",),
        "urgency": Urgency.ROUTINE,
        "model_version": "fake-v1",
        "runtime": "litert",
        "model_ms": 3.0,
        "input_sha256": "0" * 64,
        "image_size": SCAN_SIZE,
        "heatmap": np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8),
    }
    return runtime.Reading(**(values | overrides))


@pytest.fixture
def classify_as(monkeypatch):
    ModelVersionRowFactory(version="fake-v1")

    def use(reading):
        monkeypatch.setattr(runtime, "classify", lambda images, **_options: [reading for _ in images])

    return use


def test_a_deferred_reading_is_stored_with_its_withheld_label(classify_as, patient):
    classify_as(_reading(deferred=True))
    scan = uploaded_scan(patient)
    (prediction,) = scan_classify(scan_id=scan.pk)
    prediction.refresh_from_db()
    assert (prediction.deferred, prediction.recognised, prediction.refusal_reason) == (True, True, "")
    assert (prediction.label, prediction.urgency) == ("DRUSEN", "routine")  # the API still carries them
    assert prediction.outcome == "deferred" and prediction.outcome_text == DEFERRED_TEXT
    assert not prediction.suggests and prediction.heatmap.name
    scan.refresh_from_db()
    assert (scan.ai_status, scan.review_pending, scan.queue_urgency) == (AiStatus.CLASSIFIED, True, "deferred")


def test_an_unrecognised_image_is_stored_as_no_diagnosis(classify_as, patient):
    classify_as(
        _reading(label="", urgency=None, recognised=False, refusal_reason="no layered retina band found", heatmap=None)
    )
    scan = uploaded_scan(patient, seed=2)
    (prediction,) = scan_classify(scan_id=scan.pk)
    prediction.refresh_from_db()
    assert (prediction.label, prediction.urgency, prediction.recognised) == ("", UNRECOGNISED, False)
    assert prediction.refusal_reason == "no layered retina band found"
    assert prediction.outcome_text == "Not recognised as a retinal OCT B-scan: no layered retina band found"
    assert prediction.heatmap.name == "" and prediction.heatmap_sha256 == ""
    scan.refresh_from_db()
    assert (scan.review_pending, scan.queue_urgency, scan.queue_urgency_rank) == (True, UNRECOGNISED, 4)


def test_an_ordinary_reading_is_a_suggestion(classify_as, patient):
    classify_as(_reading(label="CNV", urgency=Urgency.URGENT, confidence=0.9, uncertainty=0.2))
    scan = uploaded_scan(patient, seed=3)
    (prediction,) = scan_classify(scan_id=scan.pk)
    prediction.refresh_from_db()
    assert (prediction.deferred, prediction.recognised, prediction.outcome) == (False, True, "suggestion")
    assert prediction.suggests and prediction.outcome_text == ""
    assert Prediction.objects.get(pk=prediction.pk).scan.queue_urgency == "urgent"
