"""The evaluation report's figures on hand-checked cases, and its pictures."""

import io

import numpy as np
import pytest
from PIL import Image

from mlcore.evaluation import confusion_matrix_png, metrics_compute, reliability_png


def _one_hot(indices, confidence=0.9):
    p = np.full((len(indices), 4), (1 - confidence) / 3)
    p[np.arange(len(indices)), indices] = confidence
    return p


def test_metrics_on_a_known_confusion():
    truth = [0, 0, 1, 1, 2, 3, 3, 3]
    guess = [0, 1, 1, 1, 3, 3, 3, 0]
    m = metrics_compute(_one_hot(guess), truth)
    assert m["n"] == 8 and m["accuracy"] == pytest.approx(5 / 8)
    assert m["confusion_matrix"][0] == [1, 1, 0, 0] and m["confusion_matrix"][3] == [1, 0, 0, 2]
    assert m["per_class"]["DME"]["precision"] == pytest.approx(2 / 3) and m["per_class"]["DME"]["recall"] == 1.0
    assert m["per_class"]["DRUSEN"]["recall"] == 0.0
    # Urgent = CNV or DME: truth urgent 4, predicted urgent among them 4 (0->0, 0->1, 1->1, 1->1).
    assert m["urgent_sensitivity"] == 1.0
    assert m["urgent_specificity"] == pytest.approx(3 / 4)  # NORMAL->CNV is the one false alarm of four
    # Every prediction carries confidence 0.9 while 5/8 are right: ECE = |0.625 - 0.9|.
    assert m["ece"] == pytest.approx(0.275)


def test_auc_is_one_for_perfect_ranking_and_half_for_constant_scores():
    truth = [0, 0, 1, 2, 3]
    perfect = metrics_compute(_one_hot(truth), truth)
    assert all(row["auc"] == 1.0 for row in perfect["per_class"].values())
    flat = metrics_compute(np.full((5, 4), 0.25), truth)
    assert flat["per_class"]["CNV"]["auc"] == 0.5


def test_pictures_are_pngs():
    m = metrics_compute(_one_hot([0, 1, 2, 3]), [0, 1, 2, 2])
    for data in (confusion_matrix_png(m["confusion_matrix"]), reliability_png(m["reliability"], ece=m["ece"])):
        image = Image.open(io.BytesIO(data))
        assert image.format == "PNG" and image.width > 200
