"""Model cards round-trip through Django storage and refuse what this code would misread."""

import json

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from mlcore.artifacts import ModelCard, model_card_load, model_card_save
from mlcore.exceptions import ArtifactCorrupt
from mlcore.labels import CLASSES


def test_card_round_trip_through_storage():
    card = ModelCard(
        version="card-rt",
        input_size=299,
        training_data={"images": 1851, "split": "by patient"},
        metrics={"validation_accuracy": 0.93},
        temperature=1.7,
        thresholds={"confidence": 0.7, "uncertainty": 0.5},
    )
    path = model_card_save(card=card)
    assert path == "mlcore/models/card-rt/card.json" and default_storage.exists(path)
    loaded = model_card_load(version="card-rt")
    assert loaded == card
    assert loaded.classes == list(CLASSES)
    assert loaded.urgency == {"CNV": "urgent", "DME": "urgent", "DRUSEN": "routine", "NORMAL": "observation"}


def test_saved_card_records_artifact_checksums_and_export(tiny_card):
    loaded = model_card_load(version=tiny_card.version)
    assert loaded.artifact["path"].endswith("tiny-a/model.keras") and len(loaded.artifact["sha256"]) == 64
    assert loaded.exports["litert"]["path"].endswith("tiny-a/model.tflite")
    assert loaded.input_size == 75 and loaded.framework["keras"]


def test_card_with_another_class_order_is_refused():
    card = ModelCard(version="card-bad")
    model_card_save(card=card)
    with default_storage.open("mlcore/models/card-bad/card.json", "rb") as handle:
        data = json.loads(handle.read())
    data["classes"] = ["NORMAL", "CNV", "DME", "DRUSEN"]
    default_storage.delete("mlcore/models/card-bad/card.json")
    default_storage.save("mlcore/models/card-bad/card.json", ContentFile(json.dumps(data).encode()))
    with pytest.raises(ArtifactCorrupt, match="classes"):
        model_card_load(version="card-bad")


def test_missing_card_is_a_clear_error():
    with pytest.raises(ArtifactCorrupt, match="card unreadable"):
        model_card_load(version="never-saved")
