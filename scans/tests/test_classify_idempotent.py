"""Celery may deliver a task twice (acks_late): classifying again never makes a second Prediction."""

import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from scans.classification import scan_classify
from scans.models import AiStatus, Prediction
from scans.tests.ai_helpers import SCAN_SIZE, uploaded_scan


def test_classify_twice_stores_one_prediction(deployed_model, patient):
    scan = uploaded_scan(patient)
    first = scan_classify(scan_id=scan.pk)
    second = scan_classify(scan_id=scan.pk)
    assert Prediction.objects.filter(scan=scan).count() == 1
    assert [p.pk for p in first] == [p.pk for p in second]
    scan.refresh_from_db()
    assert scan.ai_status == AiStatus.CLASSIFIED and scan.ai_error == ""


def test_prediction_is_complete_and_probabilities_sum_to_one(deployed_model, patient):
    scan = uploaded_scan(patient, seed=2)
    (prediction,) = scan_classify(scan_id=scan.pk)
    assert prediction.model_version == deployed_model
    assert set(prediction.probabilities) == {"CNV", "DME", "DRUSEN", "NORMAL"}
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert prediction.label == max(prediction.probabilities, key=prediction.probabilities.get)
    assert prediction.confidence == pytest.approx(prediction.probabilities[prediction.label])
    assert 0.0 <= prediction.uncertainty <= 1.0
    assert prediction.urgency and prediction.input_sha256 and prediction.model_ms > 0


def test_heatmap_overlay_has_the_scans_size(deployed_model, patient):
    scan = uploaded_scan(patient, seed=3)
    (prediction,) = scan_classify(scan_id=scan.pk)
    assert prediction.heatmap.name.startswith("scans/heatmaps/")
    with default_storage.open(prediction.heatmap.name, "rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        assert image.size == SCAN_SIZE == (scan.width, scan.height)
        assert image.format == "PNG"
