"""From calibrated probabilities to what the clinic acts on: label, uncertainty, review flag and urgency.

Uncertainty is the normalised predictive entropy ``H(p) / ln(K)`` of the calibrated probabilities: 0 when all
mass is on one class, 1 when the model cannot tell the K classes apart. Unlike the top probability alone it also
rises when the runner-up classes share the remaining mass, which is what a reader should double check.

A reading "needs careful review" when its confidence (top calibrated probability) is below
``MLCORE_CONFIDENCE_THRESHOLD`` or its uncertainty is above ``MLCORE_UNCERTAINTY_THRESHOLD``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from mlcore.labels import CLASSES, URGENCY_BY_LABEL, Urgency

DEFAULT_CONFIDENCE_THRESHOLD = 0.70
DEFAULT_UNCERTAINTY_THRESHOLD = 0.50


@dataclass(frozen=True)
class Thresholds:
    confidence: float
    uncertainty: float

    def as_dict(self) -> dict[str, float]:
        return {"confidence": self.confidence, "uncertainty": self.uncertainty}


def thresholds_current() -> Thresholds:
    """Thresholds from Django settings, so a clinic can tighten review without retraining."""
    return Thresholds(
        confidence=float(getattr(settings, "MLCORE_CONFIDENCE_THRESHOLD", DEFAULT_CONFIDENCE_THRESHOLD)),
        uncertainty=float(getattr(settings, "MLCORE_UNCERTAINTY_THRESHOLD", DEFAULT_UNCERTAINTY_THRESHOLD)),
    )


def uncertainty_score(probabilities: np.ndarray) -> float:
    """Normalised predictive entropy in [0, 1] (see module docstring)."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)
    entropy = float(-(p * np.log(p)).sum())
    return min(1.0, max(0.0, entropy / math.log(len(p))))


def urgency_for(label: str) -> Urgency:
    return URGENCY_BY_LABEL[label]


@dataclass(frozen=True)
class Triage:
    label: str
    confidence: float
    uncertainty: float
    urgency: Urgency
    needs_careful_review: bool
    review_reasons: tuple[str, ...]


def triage_assess(probabilities: np.ndarray, *, thresholds: Thresholds | None = None) -> Triage:
    """Turn one probability vector (in ``CLASSES`` order) into the triage the clinic sees."""
    thresholds = thresholds or thresholds_current()
    p = np.asarray(probabilities, dtype=np.float64)
    index = int(np.argmax(p))
    label = CLASSES[index]
    confidence = float(p[index])
    uncertainty = uncertainty_score(p)
    reasons = []
    if confidence < thresholds.confidence:
        reasons.append(f"confidence {confidence:.2f} below {thresholds.confidence:.2f}")
    if uncertainty > thresholds.uncertainty:
        reasons.append(f"uncertainty {uncertainty:.2f} above {thresholds.uncertainty:.2f}")
    return Triage(
        label=label,
        confidence=confidence,
        uncertainty=uncertainty,
        urgency=urgency_for(label),
        needs_careful_review=bool(reasons),
        review_reasons=tuple(reasons),
    )
