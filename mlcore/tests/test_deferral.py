"""Deferral: the threshold is the lowest confidence whose kept readings reach the target accuracy."""

import numpy as np
import pytest

from mlcore.deferral import deferral_apply, deferral_fit, risk_coverage, selective_scores


def _probs(confidences, predicted):
    rows = []
    for confidence, index in zip(confidences, predicted, strict=True):
        row = np.full(4, (1 - confidence) / 3)
        row[index] = confidence
        rows.append(row)
    return np.array(rows)


def test_threshold_keeps_the_confident_correct_readings_and_defers_the_rest():
    # 90 confident and right, 10 unsure and mostly wrong.
    confidences = [0.95] * 90 + [0.5] * 10
    predicted = [0] * 100
    labels = np.array([0] * 90 + [1] * 8 + [0] * 2)
    fitted = deferral_fit(_probs(confidences, predicted), labels, target_accuracy=0.97)
    assert fitted["threshold"] == pytest.approx(0.95)
    assert fitted["validation_coverage"] == pytest.approx(0.9)
    assert fitted["validation_accuracy_kept"] == 1.0
    deferred = deferral_apply(_probs(confidences, predicted), threshold=fitted["threshold"])
    assert deferred.sum() == 10 and not deferred[:90].any()


def test_no_threshold_reaches_the_target_then_everything_is_deferred():
    probs = _probs([0.9] * 10, [0] * 10)
    labels = np.array([1] * 10)
    fitted = deferral_fit(probs, labels, target_accuracy=0.97)
    assert fitted["threshold"] == 1.0 and fitted["validation_coverage"] == 0.0
    assert deferral_apply(probs, threshold=1.0).all()


def test_equal_confidences_are_kept_or_deferred_together():
    probs = _probs([0.8] * 4, [0, 0, 0, 0])
    labels = np.array([0, 0, 0, 1])  # 75 % at the only possible cut
    fitted = deferral_fit(probs, labels, target_accuracy=0.7)
    assert fitted["validation_coverage"] == 1.0
    assert deferral_fit(probs, labels, target_accuracy=0.8)["validation_coverage"] == 0.0


def test_risk_coverage_curve_runs_from_all_to_the_most_confident():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.3, 1.0, 200)
    labels = (rng.uniform(size=200) > confidence).astype(int)  # less confident, more often wrong
    curve = risk_coverage(_probs(confidence, [0] * 200), labels)
    coverages = [row["coverage"] for row in curve]
    assert coverages[0] == 1.0 and coverages == sorted(coverages, reverse=True)
    assert curve[-1]["accuracy"] > curve[0]["accuracy"]
    thresholds = [row["threshold"] for row in curve]
    assert thresholds == sorted(thresholds)


def test_selective_scores_on_another_set():
    probs = _probs([0.9, 0.9, 0.4], [0, 1, 2])
    scores = selective_scores(probs, np.array([0, 0, 0]), threshold=0.6)
    assert scores == {"coverage": pytest.approx(2 / 3), "accuracy_kept": 0.5, "deferred": 1}
    assert deferral_apply(probs, threshold=None).sum() == 0
