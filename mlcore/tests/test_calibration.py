"""Temperature scaling: fitted on over-confident logits, it lowers NLL without changing any prediction."""

import numpy as np
import pytest

from mlcore.calibration import negative_log_likelihood, softmax, temperature_fit


def _overconfident(n=2000, seed=0):
    """Logits of a 75 %-accurate classifier scaled so that its confidence is ~99 %."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    predicted = np.where(rng.random(n) < 0.75, labels, rng.integers(0, 4, n))
    logits = rng.normal(0, 1, (n, 4))
    logits[np.arange(n), predicted] += 2.0
    return logits * 4.0, labels


def test_temperature_scaling_lowers_nll_on_overconfident_logits():
    logits, labels = _overconfident()
    temperature = temperature_fit(logits, labels)
    assert temperature > 2.0  # over-confidence is corrected by softening
    before = negative_log_likelihood(logits, labels)
    after = negative_log_likelihood(logits, labels, temperature=temperature)
    assert after < before * 0.7
    for t in (temperature * 0.8, temperature * 1.25):  # and it is the minimum
        assert negative_log_likelihood(logits, labels, temperature=t) > after
    assert np.array_equal(softmax(logits).argmax(1), softmax(logits, temperature=temperature).argmax(1))


def test_well_calibrated_logits_keep_a_temperature_near_one():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, (5000, 4))
    labels = np.array([rng.choice(4, p=p) for p in softmax(logits)])
    assert temperature_fit(logits, labels) == pytest.approx(1.0, abs=0.1)


def test_softmax_is_stable_for_large_logits():
    p = softmax(np.array([[1000.0, 0.0, -1000.0, 999.0]]), temperature=0.5)
    assert np.isfinite(p).all() and p.sum() == pytest.approx(1.0)


def test_fit_refuses_mismatched_input():
    with pytest.raises(ValueError):
        temperature_fit(np.zeros((3, 4)), np.zeros(2))
