"""The promotion gate: a retrained candidate replaces the deployed model only if it is not worse.

Both are scored on the *same* frozen test split (the candidate's dataset snapshot; splits are stable per
patient, see ``mlcore.datasets``). "Not worse" means: accuracy and urgent-referral sensitivity no more than
``MLCORE_GATE_MARGIN`` below the deployed model's, and every urgent class (CNV, DME) keeping a recall of at
least ``MLCORE_GATE_URGENT_RECALL_FLOOR``. A miss leaves the candidate a candidate, with the reason stored.

Shadow mode counts too: once the candidate has read at least ``MLCORE_GATE_SHADOW_MIN_READINGS`` of this clinic's
new scans beside the deployed model, it must have agreed with it on at least ``MLCORE_GATE_SHADOW_MIN_AGREEMENT``
of them (a candidate that reads this clinic's scans very differently is not promoted on test-set figures alone).
With fewer shadow readings the reason says so and the test-set comparison decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from mlcore.labels import CLASSES, URGENCY_BY_LABEL, Urgency


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    reason: str

    def as_dict(self) -> dict:
        return {"passed": self.passed, "reason": self.reason}


def gate_settings() -> tuple[float, float]:
    return (
        float(getattr(settings, "MLCORE_GATE_MARGIN", 0.01)),
        float(getattr(settings, "MLCORE_GATE_URGENT_RECALL_FLOOR", 0.80)),
    )


def shadow_gate_settings() -> tuple[int, float]:
    return (
        int(getattr(settings, "MLCORE_GATE_SHADOW_MIN_READINGS", 30)),
        float(getattr(settings, "MLCORE_GATE_SHADOW_MIN_AGREEMENT", 0.85)),
    )


def _shadow_verdict(shadow: dict | None) -> tuple[str | None, str]:
    """(problem or None, note for the reason) from a ``selectors.shadow_agreement_report``."""
    if not shadow or not shadow.get("n"):
        return None, ""
    minimum, floor = shadow_gate_settings()
    n, rate = shadow["n"], shadow["agreement_rate"]
    if n < minimum:
        return None, f"; shadow agreement {rate:.3f} on {n} scans (fewer than {minimum}: not judged)"
    if rate < floor:
        return f"shadow agreement with the deployed model {rate:.3f} on {n} new scans is below {floor:.2f}", ""
    return None, f"; shadow agreement {rate:.3f} on {n} new scans"


def gate_decide(
    *,
    candidate: dict,
    deployed: dict | None,
    margin: float | None = None,
    recall_floor: float | None = None,
    shadow: dict | None = None,
) -> GateDecision:
    """Compare two evaluation reports (``mlcore.evaluation.metrics_compute``) on the same test items, and the
    candidate's shadow agreement report when it has one."""
    default_margin, default_floor = gate_settings()
    margin = default_margin if margin is None else margin
    recall_floor = default_floor if recall_floor is None else recall_floor
    if not candidate.get("n"):
        return GateDecision(False, "the test split is empty: nothing proves the candidate is not worse")
    problems = []
    for name in CLASSES:
        if URGENCY_BY_LABEL[name] != Urgency.URGENT:
            continue
        recall = candidate["per_class"][name]["recall"]
        if recall is None:
            problems.append(f"no {name} images in the test split to check its recall")
        elif recall < recall_floor:
            problems.append(f"{name} recall {recall:.3f} is below the floor {recall_floor:.2f}")
    if deployed is not None:
        for key, label in (("accuracy", "accuracy"), ("urgent_sensitivity", "urgent-referral sensitivity")):
            new, old = candidate.get(key), deployed.get(key)
            if new is not None and old is not None and new < old - margin:
                problems.append(f"{label} {new:.3f} is worse than the deployed model's {old:.3f} (margin {margin})")
    shadow_problem, shadow_note = _shadow_verdict(shadow)
    if shadow_problem:
        problems.append(shadow_problem)
    if problems:
        return GateDecision(False, "; ".join(problems))
    if deployed is None:
        return GateDecision(True, "no deployed model to compare with; urgent-class recall floor met" + shadow_note)
    return GateDecision(
        True,
        f"not worse than the deployed model: accuracy {candidate['accuracy']:.3f} vs {deployed['accuracy']:.3f}, "
        f"urgent sensitivity {candidate['urgent_sensitivity']:.3f} vs {deployed['urgent_sensitivity']:.3f}"
        + shadow_note,
    )
