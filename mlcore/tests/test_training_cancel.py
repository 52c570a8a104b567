"""Cancelling: a queued run stops at once; a running one stops at its next batch and registers nothing."""

import pytest

from mlcore.models import ModelVersion, TrainingRun
from mlcore.services import training_run_cancel, training_run_execute, training_run_request
from mlcore.tests.conftest import TINY_TRAINING


def test_cancel_a_queued_run(db, phantom_dir):
    run = training_run_request(params={"data": str(phantom_dir)}, enqueue=False)
    run = training_run_cancel(run=run)
    assert run.status == TrainingRun.Status.CANCELLED and run.finished_at is not None
    assert training_run_execute(run_id=run.pk).status == TrainingRun.Status.CANCELLED  # the task does nothing
    assert not ModelVersion.objects.exists()


@pytest.mark.slow
def test_cancel_a_running_run_stops_training(db, phantom_dir):
    run = training_run_request(params=TINY_TRAINING | {"epochs": 5, "data": str(phantom_dir)}, enqueue=False)
    # The request arrives while the run is running: the Keras callback sees it at the next batch check.
    TrainingRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    run = training_run_execute(run_id=run.pk)
    assert run.status == TrainingRun.Status.CANCELLED
    assert run.epoch < 5
    assert run.model_version.status == ModelVersion.Status.FAILED
    assert not ModelVersion.objects.filter(status="candidate").exists()


def test_cancel_marks_a_running_run(db, phantom_dir):
    run = training_run_request(params={"data": str(phantom_dir)}, enqueue=False)
    TrainingRun.objects.filter(pk=run.pk).update(status="running")
    run = training_run_cancel(run=run)
    assert run.cancel_requested and run.status == "running"
