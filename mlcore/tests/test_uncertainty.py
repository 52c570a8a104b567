"""Uncertainty is normalised predictive entropy; low confidence or high uncertainty flags careful review."""

import numpy as np
import pytest

from mlcore.triage import Thresholds, thresholds_current, triage_assess, uncertainty_score

STRICT = Thresholds(confidence=0.7, uncertainty=0.5)


def test_uncertainty_is_zero_when_certain_and_one_when_uniform():
    assert uncertainty_score(np.array([1.0, 0, 0, 0])) == pytest.approx(0.0, abs=1e-9)
    assert uncertainty_score(np.full(4, 0.25)) == pytest.approx(1.0)
    assert 0 < uncertainty_score(np.array([0.6, 0.2, 0.1, 0.1])) < 1


def test_confident_reading_needs_no_review():
    triage = triage_assess(np.array([0.94, 0.03, 0.02, 0.01]), thresholds=STRICT)
    assert not triage.needs_careful_review and triage.review_reasons == ()


def test_low_confidence_flags_review():
    triage = triage_assess(np.array([0.68, 0.32, 0.0, 0.0]), thresholds=STRICT)
    assert triage.uncertainty < 0.5  # only the confidence rule fires
    assert triage.needs_careful_review and triage.review_reasons == ("confidence 0.68 below 0.70",)


def test_high_uncertainty_flags_review_even_when_confident_enough():
    p = np.array([0.72, 0.1, 0.09, 0.09])
    triage = triage_assess(p, thresholds=Thresholds(confidence=0.7, uncertainty=0.4))
    assert triage.confidence >= 0.7 and triage.uncertainty > 0.4
    assert triage.needs_careful_review and triage.review_reasons[0].startswith("uncertainty")


def test_thresholds_come_from_settings_with_defaults(settings):
    assert thresholds_current() == Thresholds(confidence=0.70, uncertainty=0.50)
    settings.MLCORE_CONFIDENCE_THRESHOLD = 0.9
    settings.MLCORE_UNCERTAINTY_THRESHOLD = 0.3
    assert thresholds_current() == Thresholds(confidence=0.9, uncertainty=0.3)
    assert triage_assess(np.array([0.85, 0.05, 0.05, 0.05])).needs_careful_review
