"""Cross-validation reports of training recipes, so a model's card can say how its recipe measures.

A single trained version has one held-out split of ~15 % of the patients: too few scans for a trustworthy
figure. ``bench/bench_model_quality.py --record`` runs patient-grouped 5-fold cross-validation of a recipe on the
real B-scans of ``../shared/oct`` and stores the result here, in ``mlcore/quality/``, keyed by the recipe's
signature (``TrainingParams.recipe_signature``: every parameter but the data, seed and promotion). When a version
is trained with a recipe that has a report, its card carries the report's headline as ``cross_validation``,
named as a property of the recipe on that data, never of the version itself.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)
QUALITY_DIR = Path(__file__).resolve().parent / "quality"


def cv_report_path(signature: dict[str, Any]) -> Path:
    import hashlib

    key = hashlib.sha256(json.dumps(signature, sort_keys=True).encode()).hexdigest()[:16]
    return QUALITY_DIR / f"cv-{key}.json"


def cv_report_save(*, signature: dict[str, Any], report: dict[str, Any]) -> Path:
    path = cv_report_path(signature)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"recipe": signature, **report}, indent=1, sort_keys=True, default=str) + "\n")
    return path


def cv_report_for(signature: dict[str, Any]) -> dict[str, Any] | None:
    """The card's ``cross_validation`` entry for a recipe, or None when it was never cross-validated."""
    path = cv_report_path(signature)
    if not path.is_file():
        return None
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError):
        # A damaged report must not fail a finished training run at registration: the card just lacks it.
        logger.warning("mlcore: cross-validation report %s is unreadable; the card goes without it", path.name)
        return None
    # A hash collision or a hand-edited file: trust nothing.
    if not isinstance(report, dict) or report.get("recipe") != signature:
        return None
    return {
        "headline": report.get("headline"),
        "verdicts": report.get("verdicts"),
        "folds": report.get("folds"),
        "seeds": report.get("seeds"),
        "measured_on": report.get("measured_on"),
        "protocol": report.get("protocol"),
        "data": report.get("data"),
        "report": path.name,
    }
