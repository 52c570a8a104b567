"""A crash during training marks the run and its version failed, keeps the traceback, and registers no model."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from mlcore.exceptions import ModelVersionUnavailable
from mlcore.models import ModelVersion, TrainingRun
from mlcore.services import model_version_deploy, training_run_execute, training_run_request
from mlcore.tests.conftest import TINY_TRAINING


def test_crash_fails_the_run_with_its_log_and_leaves_no_model(db, phantom_dir, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("out of memory while training")

    monkeypatch.setattr("mlcore.training.model_train_items", explode)
    run = training_run_request(params=TINY_TRAINING | {"data": str(phantom_dir)}, enqueue=False)

    run = training_run_execute(run_id=run.pk)

    assert run.status == TrainingRun.Status.FAILED and run.finished_at is not None
    assert "RuntimeError: out of memory while training" in run.log and "Traceback" in run.log
    version = run.model_version
    assert version.status == ModelVersion.Status.FAILED and version.artifact_path == ""
    assert not ModelVersion.objects.filter(status__in=["candidate", "deployed"]).exists()
    with pytest.raises(ModelVersionUnavailable, match="no artifact"):
        model_version_deploy(model_version=version, actor=None, reason="test", override_reason="checks not under test")
    # The slot is free again: the next run may start.
    assert training_run_request(params={"data": str(phantom_dir)}, enqueue=False).status == "queued"


def test_crash_while_storing_artifacts_deletes_what_was_written(db, phantom_dir, monkeypatch):
    from mlcore import services

    def half_store(*, model_version, **kwargs):
        default_storage.save(f"mlcore/models/{model_version.version}/model.keras", ContentFile(b"half"))
        raise OSError("disk full")

    monkeypatch.setattr(services, "model_version_candidate_store", half_store)
    monkeypatch.setattr("mlcore.training.model_train_items", _fake_training)
    monkeypatch.setattr("mlcore.evaluation.model_evaluate", lambda **kwargs: {"n": 0, "accuracy": None})
    run = training_run_execute(run_id=training_run_request(params={"data": str(phantom_dir)}, enqueue=False).pk)
    assert run.status == TrainingRun.Status.FAILED and "disk full" in run.log
    assert not default_storage.exists(f"mlcore/models/{run.model_version.version}/model.keras")


def _fake_training(**kwargs):
    from mlcore.training import ItemsTrainingResult

    return ItemsTrainingResult(model=None, temperature=1.0, metrics={})


def test_unusable_parameters_are_refused_before_anything_is_queued(db):
    from mlcore.exceptions import TrainingParamsInvalid

    with pytest.raises(TrainingParamsInvalid, match="image size"):
        training_run_request(params={"input_size": 20}, enqueue=False)
    with pytest.raises(TrainingParamsInvalid, match="existing folder"):
        training_run_request(params={"data": "/no/such/folder"}, enqueue=False)
    assert not TrainingRun.objects.exists()
