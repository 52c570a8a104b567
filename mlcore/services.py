"""Registry changes: register a trained model, deploy it, roll back. Keyword-only, one job each."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from mlcore.artifacts import ModelCard, artifact_save
from mlcore.exceptions import ModelVersionUnavailable
from mlcore.models import ModelVersion
from mlcore.selectors import model_version_deployed, model_version_previous
from mlcore.triage import thresholds_current

logger = logging.getLogger(__name__)


def model_version_register(
    *,
    model,
    version: str,
    base_weights: str | None = None,
    training_data: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    temperature: float = 1.0,
    notes: str = "",
    export_litert: bool = True,
) -> ModelVersion:
    """Store a trained Keras model with its card and record it as a candidate (not yet serving).

    The thresholds in force are written into the card so the card says under which review rules the
    metrics were judged.
    """
    if ModelVersion.objects.filter(version=version).exists():
        raise ValueError(f"Model version {version!r} already exists")
    card = ModelCard(
        version=version,
        base_weights=base_weights if base_weights in (None, "imagenet") else "file",
        training_data=training_data or {},
        metrics=metrics or {},
        temperature=float(temperature),
        thresholds=thresholds_current().as_dict(),
    )
    card = artifact_save(model=model, card=card, export_litert=export_litert)
    return ModelVersion.objects.create(
        version=version,
        status=ModelVersion.Status.CANDIDATE,
        artifact_path=card.artifact["path"],
        card=card.as_dict(),
        notes=notes,
    )


def _verify_loadable(model_version: ModelVersion) -> None:
    """Load and warm the artifact exactly as a worker will, so a broken one is refused before it serves."""
    from mlcore.runtime import model_load

    model_load(version=model_version.version)


def model_version_deploy(*, model_version: ModelVersion) -> ModelVersion:
    """Make ``model_version`` the only deployed version; the one it replaces becomes retired.

    A version whose artifact cannot load is marked failed and ``ArtifactCorrupt`` is raised; the current
    deployment is left untouched.
    """
    if model_version.status == ModelVersion.Status.DEPLOYED:
        return model_version
    try:
        _verify_loadable(model_version)
    except ModelVersionUnavailable as exc:
        ModelVersion.objects.filter(pk=model_version.pk).update(
            status=ModelVersion.Status.FAILED, notes=(model_version.notes + f"\nDeploy refused: {exc}").strip()
        )
        model_version.refresh_from_db()
        logger.error("mlcore: deploy of %s refused: %s", model_version.version, exc)
        raise
    with transaction.atomic():
        ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.DEPLOYED).update(
            status=ModelVersion.Status.RETIRED
        )
        model_version.status = ModelVersion.Status.DEPLOYED
        model_version.deployed_at = timezone.now()
        model_version.save(update_fields=["status", "deployed_at"])
    logger.info("mlcore: deployed model %s", model_version.version)
    return model_version


def model_version_rollback() -> ModelVersion:
    """Redeploy the most recently deployed other version (a second rollback undoes the first)."""
    previous = model_version_previous()
    if previous is None:
        raise ModelVersionUnavailable("No previously deployed model version to roll back to")
    current = model_version_deployed()
    deployed = model_version_deploy(model_version=previous)
    logger.info("mlcore: rolled back from %s to %s", current.version if current else None, deployed.version)
    return deployed


def model_version_retire(*, model_version: ModelVersion) -> ModelVersion:
    """Take a version out of service (a deployed one leaves nothing deployed: classification then stops)."""
    model_version.status = ModelVersion.Status.RETIRED
    model_version.save(update_fields=["status"])
    return model_version
