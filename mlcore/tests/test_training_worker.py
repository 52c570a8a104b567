"""The training task through a real Celery worker: queued in the web process, trained and registered there."""

import pytest

from mlcore.models import TrainingRun
from mlcore.tests.conftest import TINY_TRAINING
from octclinic.testing import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def test_worker_trains_a_queued_run(celery_worker_process, phantom_dir):
    from mlcore.services import training_run_request
    from mlcore.tasks import training_run_task

    run = training_run_request(params=TINY_TRAINING | {"data": str(phantom_dir)}, enqueue=False)
    training_run_task.apply_async(args=[run.pk], queue=celery_worker_process)

    run = wait_until(
        lambda: TrainingRun.objects.filter(pk=run.pk, status__in=["succeeded", "failed"]).first(), timeout=240
    )
    assert run.status == "succeeded", run.log
    assert run.model_version.status == "candidate" and run.epoch == 1
