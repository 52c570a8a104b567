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
