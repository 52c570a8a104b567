"""Referral urgency follows Kermany et al. 2018."""

import numpy as np
import pytest

from mlcore.labels import CLASSES, Urgency
from mlcore.triage import Thresholds, triage_assess, urgency_for


@pytest.mark.parametrize(
    ("label", "urgency"),
    [("CNV", Urgency.URGENT), ("DME", Urgency.URGENT), ("DRUSEN", Urgency.ROUTINE), ("NORMAL", Urgency.OBSERVATION)],
)
def test_urgency_mapping(label, urgency):
    assert urgency_for(label) == urgency
    probabilities = np.full(4, 0.01)
    probabilities[CLASSES.index(label)] = 0.97
    triage = triage_assess(probabilities, thresholds=Thresholds(confidence=0.7, uncertainty=0.5))
    assert triage.label == label and triage.urgency == urgency and str(triage.urgency) == urgency.value


def test_every_class_has_an_urgency():
    assert {urgency_for(label) for label in CLASSES} == set(Urgency)
