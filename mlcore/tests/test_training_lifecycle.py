"""A real (tiny) training run: queued → running → succeeded, its version training → candidate → deployed → retired."""

import pytest
from django.core.files.storage import default_storage

from mlcore.models import ModelVersion, TrainingDataset, TrainingRun
from mlcore.selectors import model_version_deployed
from mlcore.services import (
    model_version_deploy,
    model_version_retire,
    model_version_rollback,
    training_run_execute,
    training_run_request,
)
from mlcore.tests.conftest import TINY_TRAINING, card_copy, registry_row

pytestmark = pytest.mark.slow


def test_training_run_registers_an_evaluated_candidate_then_deploys_and_retires(db, phantom_dir, tiny_card, settings):
    settings.MLCORE_EXPORT_LITERT = True  # as in production: the trained version gets the export it serves through
    run = training_run_request(params=TINY_TRAINING | {"data": str(phantom_dir)}, trigger="command", enqueue=False)
    assert run.status == TrainingRun.Status.QUEUED and run.epochs_total == 1
    epochs_seen = []

    run = training_run_execute(run_id=run.pk, on_epoch=epochs_seen.append)

    assert run.status == TrainingRun.Status.SUCCEEDED, run.log
    assert [p.epoch for p in epochs_seen] == [1] and run.epoch == 1 and run.loss is not None
    assert "val_loss" in run.val_metrics and run.eta_seconds == 0
    assert "epoch 1/1" in run.log and "registered candidate" in run.log
    version = run.model_version
    assert version.status == ModelVersion.Status.CANDIDATE
    assert default_storage.exists(version.artifact_path)
    assert default_storage.exists(version.card["exports"]["litert"]["path"])
    dataset = TrainingDataset.objects.get(pk=version.card["training_data"]["dataset_id"])
    assert dataset == run.dataset and len(dataset.items) == 40 and len(dataset.content_hash) == 64
    evaluation = version.lifecycle.evaluation
    assert evaluation["n"] == sum(dataset.class_counts["test"].values()) > 0
    assert set(evaluation["per_class"]) == {"CNV", "DME", "DRUSEN", "NORMAL"}
    assert version.card["metrics"]["test"]["accuracy"] == evaluation["accuracy"]

    # A second run on the same data is allowed once the first finished (the slot is free again).
    assert training_run_execute(run_id=run.pk).status == TrainingRun.Status.SUCCEEDED  # idempotent: no rerun
    assert ModelVersion.objects.count() == 1

    previous = registry_row(card_copy(tiny_card, version="before"))
    model_version_deploy(model_version=previous, actor=None, reason="test", override_reason="checks not under test")
    model_version_deploy(model_version=version, actor=None, reason="test", override_reason="checks not under test")
    assert model_version_deployed() == version
    previous.refresh_from_db()
    assert previous.status == ModelVersion.Status.RETIRED
    assert model_version_rollback(actor=None, reason="test") == previous
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.RETIRED
    model_version_retire(model_version=previous, actor=None, reason="test")
    assert model_version_deployed() is None
