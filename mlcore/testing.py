"""Test support for any app: a tiny deployed model version, built once per process.

Other apps' tests (scans' classification task, for instance) need *a* deployed model, not a good one:
InceptionV3 with random weights at its smallest input (75 px). Building and exporting it takes several seconds,
so the stored artifact is reused while it is still in storage; each call only re-creates the registry row,
which the test database rolls back between tests.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage

from mlcore.artifacts import ModelCard, artifact_save, model_card_load, model_card_save
from mlcore.models import ModelVersion

TINY_INPUT_SIZE = 75
_built: dict[str, ModelCard] = {}


def tiny_model_build(*, input_size: int = TINY_INPUT_SIZE, seed: int = 7):
    import keras

    from mlcore.architecture import classifier_build

    keras.utils.set_random_seed(seed)
    return classifier_build(input_size=input_size, base_weights=None)


def _tiny_card(*, version: str, export_litert: bool, temperature: float) -> ModelCard:
    card = _built.get(version)
    if card is not None and default_storage.exists(card.artifact["path"]):
        return model_card_load(version=version)
    card = ModelCard(version=version, temperature=temperature, training_data={"note": "untrained, for tests"})
    card = artifact_save(model=tiny_model_build(), card=card, export_litert=export_litert)
    _built[version] = card
    return card


def tiny_model_version_deploy(
    *,
    version: str = "tiny-test",
    export_litert: bool = True,
    temperature: float = 1.0,
    card_updates: dict[str, Any] | None = None,
):
    """Return a deployed ``ModelVersion`` backed by a real (tiny, untrained) artifact in default storage.

    ``card_updates`` (e.g. ``{"deferral": {"threshold": 0.99}}``) gives ``version`` a card of its own over the
    artifact files of "tiny-test": serving reads the deferral threshold, intended use and so on from the stored
    card, and a test of them should not pay for building and exporting another network.
    """
    if card_updates:
        base = _tiny_card(version="tiny-test", export_litert=export_litert, temperature=temperature)
        card = ModelCard.from_dict(base.as_dict() | dict(card_updates) | {"version": version})
        model_card_save(card=card)
    else:
        card = _tiny_card(version=version, export_litert=export_litert, temperature=temperature)
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
