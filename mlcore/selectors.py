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
