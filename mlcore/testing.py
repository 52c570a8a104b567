"""Test support for any app: a tiny deployed model version, built once per process.

Other apps' tests (scans' classification task, for instance) need *a* deployed model, not a good one:
InceptionV3 with random weights at its smallest input (75 px). Building and exporting it takes several seconds,
so the stored artifact is reused while it is still in storage; each call only re-creates the registry row,
which the test database rolls back between tests.
"""

from __future__ import annotations

from django.core.files.storage import default_storage

from mlcore.artifacts import ModelCard, artifact_save, model_card_load
from mlcore.models import ModelVersion

TINY_INPUT_SIZE = 75
_built: dict[str, ModelCard] = {}


def tiny_model_build(*, input_size: int = TINY_INPUT_SIZE, seed: int = 7):
    import keras

    from mlcore.architecture import classifier_build

    keras.utils.set_random_seed(seed)
    return classifier_build(input_size=input_size, base_weights=None)


def tiny_model_version_deploy(*, version: str = "tiny-test", export_litert: bool = True, temperature: float = 1.0):
    """Return a deployed ``ModelVersion`` backed by a real (tiny, untrained) artifact in default storage."""
    card = _built.get(version)
    if card is not None and default_storage.exists(card.artifact["path"]):
        card = model_card_load(version=version)
    else:
        card = ModelCard(version=version, temperature=temperature, training_data={"note": "untrained, for tests"})
        card = artifact_save(model=tiny_model_build(), card=card, export_litert=export_litert)
        _built[version] = card
    ModelVersion.objects.filter(status=ModelVersion.Status.DEPLOYED).exclude(version=version).update(
        status=ModelVersion.Status.RETIRED
    )
    model_version, _ = ModelVersion.objects.update_or_create(
        version=version,
        defaults={
            "status": ModelVersion.Status.DEPLOYED,
            "artifact_path": card.artifact["path"],
            "card": card.as_dict(),
        },
    )
    from django.utils import timezone

    ModelVersion.objects.filter(pk=model_version.pk).update(deployed_at=timezone.now())
    model_version.refresh_from_db()
    return model_version
