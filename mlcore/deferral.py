"""Selective prediction: when the AI should not offer a label at all.

A reading whose calibrated top probability is below the version's *deferral threshold* is shown as "AI unsure —
read without AI suggestion": a doctor who sees a weak suggestion anchors on it, so an unsure model should say
nothing rather than something. The threshold is fitted on the version's validation split (never its test
split): the lowest confidence at which the readings the model keeps are at least ``target_accuracy`` correct, so
the model answers as often as it can at the promised accuracy. The risk-coverage curve (accuracy of the kept
readings against the share kept, over every threshold) is stored on the card so a clinic sees the trade-off.
"""

from __future__ import annotations

import numpy as np

DEFAULT_TARGET_ACCURACY = 0.97
CURVE_POINTS = 21


def risk_coverage(probabilities: np.ndarray, labels: np.ndarray, *, points: int = CURVE_POINTS) -> list[dict]:
    """``points`` rows {coverage, accuracy, threshold} from full coverage down to the most confident 5 %."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return []
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    rows = []
    for coverage in np.linspace(1.0, 0.05, points):
        kept = max(1, int(round(coverage * len(labels))))
        rows.append(
            {
                "coverage": round(kept / len(labels), 4),
                "accuracy": round(float(hits[kept - 1] / kept), 4),
                "threshold": round(float(confidence[order][kept - 1]), 4),
            }
        )
    return rows


def deferral_fit(
    probabilities: np.ndarray, labels: np.ndarray, *, target_accuracy: float = DEFAULT_TARGET_ACCURACY
) -> dict:
    """The lowest confidence threshold whose kept readings reach ``target_accuracy`` (see module docstring).

    Returns the card's ``deferral`` entry. When no threshold reaches the target the threshold is 1.0: every
    reading is deferred, which is what a model that cannot keep the promise should do.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    threshold, coverage, accuracy = 1.0, 0.0, None
    if n:
        confidence = probabilities.max(axis=1)
        correct = probabilities.argmax(axis=1) == labels
        order = np.argsort(-confidence, kind="stable")
        kept_accuracy = np.cumsum(correct[order]) / np.arange(1, n + 1)
        # Only cut between distinct confidences: readings with equal confidence are kept or deferred together.
        sorted_conf = confidence[order]
        boundary = np.append(sorted_conf[1:] < sorted_conf[:-1], True)
        good = np.flatnonzero(boundary & (kept_accuracy >= target_accuracy))
        if good.size:
            last = int(good[-1])
            threshold = float(sorted_conf[last])
            coverage = (last + 1) / n
            accuracy = float(kept_accuracy[last])
    return {
        "threshold": round(threshold, 6),
        "target_accuracy": target_accuracy,
        "validation_coverage": round(coverage, 4),
        "validation_accuracy_kept": None if accuracy is None else round(accuracy, 4),
        "validation_n": int(n),
        "risk_coverage": risk_coverage(probabilities, labels),
    }


def deferral_apply(probabilities: np.ndarray, *, threshold: float | None) -> np.ndarray:
    """Boolean per reading: deferred (top probability below the threshold). No threshold: nothing deferred."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if threshold is None:
        return np.zeros(len(probabilities), dtype=bool)
    return probabilities.max(axis=1) < threshold


def selective_scores(probabilities: np.ndarray, labels: np.ndarray, *, threshold: float | None) -> dict:
    """Coverage and accuracy of the kept readings on any labelled set (e.g. a test fold) at a given threshold."""
    labels = np.asarray(labels, dtype=np.int64)
    deferred = deferral_apply(probabilities, threshold=threshold)
    kept = ~deferred
    correct = np.asarray(probabilities).argmax(axis=1) == labels
    return {
        "coverage": float(kept.mean()) if len(labels) else None,
        "accuracy_kept": float(correct[kept].mean()) if kept.any() else None,
        "deferred": int(deferred.sum()),
    }
