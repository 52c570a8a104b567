"""A broken artifact raises ArtifactCorrupt, and never displaces the model that is serving."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import override_settings

from mlcore import runtime
from mlcore.exceptions import ArtifactCorrupt, ModelVersionUnavailable
from mlcore.models import ModelVersion
from mlcore.services import model_version_deploy
from mlcore.tests.conftest import broken_card, card_copy, registry_row


@pytest.mark.parametrize("choice", ["litert", "tensorflow"])
def test_garbage_artifact_raises_artifact_corrupt(tiny_card, choice):
    broken = broken_card(tiny_card, version=f"garbage-{choice}")
    with override_settings(MLCORE_RUNTIME=choice), pytest.raises(ArtifactCorrupt) as caught:
        runtime.model_load(version=broken.version)
    assert caught.value.version == broken.version
    assert isinstance(caught.value, ModelVersionUnavailable)
    assert broken.version in str(caught.value)


def test_truncated_artifact_fails_its_checksum(tiny_card):
    card = card_copy(tiny_card, version="truncated")
    name = "mlcore/models/truncated/model.tflite"
    with default_storage.open(tiny_card.exports["litert"]["path"], "rb") as handle:
        default_storage.save(name, ContentFile(handle.read(4096)))
    card.exports["litert"]["path"] = name
    from mlcore.artifacts import model_card_save

    model_card_save(card=card)
    with pytest.raises(ArtifactCorrupt, match="sha256 does not match"):
        runtime.model_load(version="truncated")


def test_failed_load_keeps_the_previous_model_serving(db, tiny_card):
    good = registry_row(tiny_card, status="deployed")
    assert runtime.classify_one(_scan()).model_version == "tiny-a"
    # Someone deploys a broken version behind the service's back (e.g. the file broke after deploying).
    broken = broken_card(tiny_card, version="broken-later")
    ModelVersion.objects.filter(pk=good.pk).update(status="retired")
    registry_row(broken, status="deployed")

    reading = runtime.classify_one(_scan())
    assert reading.model_version == "tiny-a"  # still the working one
    assert runtime.model_cached().version == "tiny-a"
    with pytest.raises(ArtifactCorrupt):
        runtime.model_activate(version="broken-later")
    assert runtime.model_cached().version == "tiny-a"


def test_without_a_working_model_the_error_reaches_the_caller(db, tiny_card):
    registry_row(broken_card(tiny_card, version="broken-only"), status="deployed")
    with pytest.raises(ArtifactCorrupt):
        runtime.classify_one(_scan())


def test_deploying_a_corrupt_artifact_fails_and_keeps_the_current_deployment(db, tiny_card):
    current = registry_row(tiny_card, status="deployed")
    candidate = registry_row(broken_card(tiny_card, version="broken-candidate"))
    with pytest.raises(ArtifactCorrupt, match="broken-candidate"):
        model_version_deploy(
            model_version=candidate, actor=None, reason="test", override_reason="checks not under test"
        )
    current.refresh_from_db()
    candidate.refresh_from_db()
    assert current.status == "deployed"
    assert candidate.status == "failed" and "Deploy refused" in candidate.notes
    assert list(ModelVersion.objects.filter(status="deployed")) == [current]


def _scan():
    import numpy as np

    return np.random.default_rng(9).integers(0, 255, (496, 512), dtype=np.uint8)
