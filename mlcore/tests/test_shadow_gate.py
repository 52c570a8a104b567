"""Shadow agreement as it accumulates, per label, and the gate's use of it (issue #17 part 3)."""

from __future__ import annotations

from mlcore.gating import gate_decide
from mlcore.models import ShadowReading
from mlcore.selectors import shadow_agreement_report
from mlcore.tests.conftest import card_copy, registry_row


def _report(accuracy=0.9, sensitivity=0.9):
    per_class = {"CNV": {"recall": 0.9}, "DME": {"recall": 0.9}, "DRUSEN": {"recall": 0.9}, "NORMAL": {"recall": 0.9}}
    return {"n": 100, "accuracy": accuracy, "urgent_sensitivity": sensitivity, "per_class": per_class}


def _shadow(n: int, agreements: int) -> dict:
    return {"n": n, "agreements": agreements, "agreement_rate": agreements / n, "per_label": []}


def test_agreement_overall_and_per_label(db, tiny_card):
    candidate = registry_row(card_copy(tiny_card, version="shadowed"))
    pairs = [("CNV", "CNV"), ("CNV", "DME"), ("CNV", "CNV"), ("NORMAL", "NORMAL"), ("DME", ""), ("", "")]
    for i, (deployed, said) in enumerate(pairs):
        ShadowReading.objects.create(
            candidate=candidate, input_sha256=f"{i:064d}", deployed_version="live",
            deployed_label=deployed, candidate_label=said, agrees=deployed == said,
        )  # fmt: skip
    report = shadow_agreement_report(candidate=candidate)
    assert (report["n"], report["agreements"]) == (6, 4)
    per_label = {row["label"]: (row["n"], row["agreements"]) for row in report["per_label"]}
    assert per_label == {"CNV": (3, 2), "DME": (1, 0), "NORMAL": (1, 1), "not recognised": (1, 1)}
    assert {"deployed": "DME", "candidate": "not recognised", "n": 1} in report["pairs"]


def test_gate_refuses_a_candidate_that_disagrees_too_often_in_shadow(settings):
    settings.MLCORE_GATE_SHADOW_MIN_READINGS = 30
    settings.MLCORE_GATE_SHADOW_MIN_AGREEMENT = 0.85
    refused = gate_decide(candidate=_report(), deployed=_report(), shadow=_shadow(40, 30), margin=0.01)
    assert not refused.passed and "shadow agreement with the deployed model 0.750 on 40 new scans" in refused.reason
    passed = gate_decide(candidate=_report(), deployed=_report(), shadow=_shadow(40, 38), margin=0.01)
    assert passed.passed and "shadow agreement 0.950 on 40 new scans" in passed.reason
    few = gate_decide(candidate=_report(), deployed=_report(), shadow=_shadow(10, 2), margin=0.01)
    assert few.passed and "fewer than 30: not judged" in few.reason
    assert gate_decide(candidate=_report(), deployed=_report(), shadow=None, margin=0.01).passed
