"""Read-only queries on the registry."""

from __future__ import annotations

from django.db.models import QuerySet

from mlcore.models import ModelVersion


def model_version_deployed() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.DEPLOYED).first()


def model_version_get(*, version: str) -> ModelVersion:
    return ModelVersion.objects.get(version=version)


def model_version_list() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.all()


def model_version_previous() -> ModelVersion | None:
    """The version a rollback would restore: the most recently deployed one that is not deployed now."""
    return (
        ModelVersion.objects.filter(status=ModelVersion.Status.RETIRED, deployed_at__isnull=False)
        .order_by("-deployed_at")
        .first()
    )


def shadow_agreement_report(*, candidate: ModelVersion) -> dict:
    """How often the shadow candidate agreed with the deployed model, overall and per deployed label."""
    from collections import Counter

    from mlcore.models import ShadowReading

    rows = list(ShadowReading.objects.filter(candidate=candidate).values_list("deployed_label", "candidate_label"))
    pairs = Counter(rows)
    agree = sum(n for (a, b), n in pairs.items() if a == b)
    return {
        "n": len(rows),
        "agreements": agree,
        "agreement_rate": agree / len(rows) if rows else None,
        "pairs": [{"deployed": a, "candidate": b, "n": n} for (a, b), n in sorted(pairs.items())],
    }


def model_version_list_with_lifecycle() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.select_related("lifecycle").order_by("-created_at")


def training_run_active():
    from mlcore.models import TrainingRun

    return TrainingRun.objects.filter(status__in=TrainingRun.ACTIVE).select_related("started_by").first()


def training_run_list(*, limit: int = 20):
    from mlcore.models import TrainingRun

    return TrainingRun.objects.select_related("started_by", "model_version")[:limit]


SYNTHETIC_NOTICE = "synthetic demo model — not for clinical use"


def _figure(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _headline(figures: dict | None, *, source: str) -> dict | None:
    """The figures a reading's reader needs to weigh it, or None when the report holds none."""
    if not isinstance(figures, dict) or not figures.get("n"):
        return None
    folds = figures.get("folds") if source == "cross_validation" else None
    return {
        "accuracy": _figure(figures.get("accuracy")),
        "urgent_sensitivity": _figure(figures.get("urgent_sensitivity")),
        "urgent_specificity": _figure(figures.get("urgent_specificity")),
        "n": int(figures["n"]),
        "folds": int(folds) if isinstance(folds, int) and not isinstance(folds, bool) else None,
        "source": source,
    }


def _headline_text(headline: dict | None) -> str:
    if headline is None:
        return "not evaluated"

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    where = (
        f"{headline['folds']}-fold cross-validation"
        if headline["folds"]
        else ("cross-validation" if headline["source"] == "cross_validation" else "held-out test split")
    )
    return (
        f"accuracy {fmt(headline['accuracy'])} · urgent-referral sensitivity {fmt(headline['urgent_sensitivity'])}"
        f" · n = {headline['n']} ({where})"
    )


def model_version_notice(*, model_version: ModelVersion) -> str:
    """What a reading of this model must say in plain sight ("" for a clinical model); from the card, no query:
    "synthetic demo model — not for clinical use", or "<intended use> model — not for clinical use" when the card
    names an ``intended_use`` other than "clinical"."""
    if model_version.is_synthetic:
        return SYNTHETIC_NOTICE
    card = model_version.card if isinstance(model_version.card, dict) else {}
    intended_use = str(card.get("intended_use") or "").strip()[:40]
    return "" if intended_use.lower() in ("", "clinical") else f"{intended_use} model — not for clinical use"


def _provenance(model_version: ModelVersion, evaluation: dict | None) -> dict:
    card = model_version.card if isinstance(model_version.card, dict) else {}
    notice = model_version_notice(model_version=model_version)
    headline = _card_headline(card) or _headline(evaluation, source="test_split")
    return {
        "version": model_version.version,
        "synthetic": model_version.is_synthetic,
        "clinical_use": not notice,
        "notice": notice,
        "headline": headline,
        "headline_text": _headline_text(headline),
    }


def _card_headline(card) -> dict | None:
    """The card's cross-validation headline, else the held-out test split figures it recorded at training."""
    if not isinstance(card, dict):
        return None
    cross_validation = card.get("cross_validation")
    metrics = card.get("metrics")
    return _headline(
        cross_validation.get("headline") if isinstance(cross_validation, dict) else None, source="cross_validation"
    ) or _headline(metrics.get("test") if isinstance(metrics, dict) else None, source="test_split")


def _has_lifecycle(model_version: ModelVersion) -> bool:
    from mlcore.models import ModelVersionLifecycle

    try:
        model_version.lifecycle  # noqa: B018 (a cached lookup: raises when the row does not exist)
    except ModelVersionLifecycle.DoesNotExist:
        return False
    return True


def model_version_provenance(*, model_version: ModelVersion) -> dict:
    """What every reading says about the model that produced it: the version, whether it may be used clinically
    (not synthetic, and the card's ``intended_use`` — when it has one — is "clinical"), the notice to show when
    not, and the evaluation headline (the card's cross-validation headline, else its held-out test split).

    Readers weigh a reading by who made it: a demo model's CNV must never look like a clinical finding, and an
    evaluated model's figures are one hover away. At most one query (only for cards without figures).
    """
    return model_versions_provenance(model_versions=[model_version])[model_version.pk]


def model_versions_provenance(*, model_versions) -> dict[int, dict]:
    """``model_version_provenance`` of many versions (a page of readings), keyed by pk; at most one query, none
    when every card holds figures or the lifecycle rows came with ``select_related``."""
    from mlcore.models import ModelVersionLifecycle

    versions = {mv.pk: mv for mv in model_versions if mv is not None}
    evaluations: dict[int, dict] = {}
    missing = []
    for pk, mv in versions.items():
        if _card_headline(mv.card) is not None:
            continue
        if ModelVersion.lifecycle.is_cached(mv):
            evaluations[pk] = mv.lifecycle.evaluation if _has_lifecycle(mv) else {}
        else:
            missing.append(pk)
    if missing:
        evaluations.update(
            ModelVersionLifecycle.objects.filter(model_version_id__in=missing).values_list(
                "model_version_id", "evaluation"
            )
        )
    return {pk: _provenance(mv, evaluations.get(pk)) for pk, mv in versions.items()}
