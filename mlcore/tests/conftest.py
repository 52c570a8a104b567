"""Tiny models, built once per test session: InceptionV3 with random weights at its 75 px minimum input.

Building, saving and exporting one costs ~20 s on two cores, so every test shares the same stored artifact;
registry rows are created per test (the database is rolled back between tests), storage files persist.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from mlcore import runtime
from mlcore.artifacts import ModelCard, artifact_prefix, artifact_save, model_card_save
from mlcore.models import ModelVersion

SHARED_OCT = Path(settings.BASE_DIR).parent / "shared" / "oct"


@pytest.fixture(scope="session")
def tiny_model():
    from mlcore.testing import tiny_model_build

    return tiny_model_build()


@pytest.fixture(scope="session")
def tiny_card(tiny_model) -> ModelCard:
    """The tiny model stored with its LiteRT export, as version "tiny-a"."""
    return artifact_save(model=tiny_model, card=ModelCard(version="tiny-a", temperature=1.5))


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    runtime.model_cache_clear()
    yield
    runtime.model_cache_clear()


def card_copy(card: ModelCard, *, version: str) -> ModelCard:
    """Another version pointing at the same artifact files (they are addressed by path + checksum)."""
    data = json.loads(card.to_json())
    data["version"] = version
    copy = ModelCard.from_dict(data)
    model_card_save(card=copy)
    return copy


def broken_card(card: ModelCard, *, version: str, payload: bytes = b"this is not a model") -> ModelCard:
    """A version whose artifacts are garbage with *matching* checksums: only loading can find out."""
    data = json.loads(card.to_json())
    data["version"] = version
    prefix = artifact_prefix(version)
    digest = hashlib.sha256(payload).hexdigest()
    for key, name in (("artifact", "model.keras"), ("exports", "model.tflite")):
        path = default_storage.save(f"{prefix}/{name}", ContentFile(payload))
        target = data["artifact"] if key == "artifact" else data["exports"]["litert"]
        target.update(path=path, sha256=digest, bytes=len(payload))
    broken = ModelCard.from_dict(data)
    model_card_save(card=broken)
    return broken


def registry_row(card: ModelCard, *, status: str = ModelVersion.Status.CANDIDATE) -> ModelVersion:
    return ModelVersion.objects.create(
        version=card.version, status=status, artifact_path=card.artifact["path"], card=card.as_dict()
    )


@pytest.fixture(scope="session")
def phantom_dir(tmp_path_factory) -> Path:
    """A tiny Kermany-style folder of phantom B-scans: 4 classes x 10 images of 5 patients each."""
    from mlcore.phantom import phantom_folder_write

    return phantom_folder_write(tmp_path_factory.mktemp("phantoms"), per_class=10, patients_per_class=5)


TINY_TRAINING = {"epochs": 1, "input_size": 75, "batch_size": 8, "augment": True}
