"""Celery tasks of mlcore: thin wrappers around the services; ids in, idempotent, transient errors retried.

Training and the jobs on versions (gate, evaluation) are routed to the training queue (``CELERY_TRAINING_QUEUE``,
``octclinic.celery.task_route``): its own worker process, so a training never holds up a scan's AI reading.
"""

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

# Training outlives the project-wide 15-minute task limit; a stuck run is failed by the beat job instead.
_TRAINING_LIMIT = int(getattr(settings, "MLCORE_TRAINING_TIME_LIMIT", 6 * 60 * 60))

# The tasks that run on the training queue (octclinic.celery.task_route reads this).
TRAINING_QUEUE_TASKS = ("mlcore.tasks.training_run_task", "mlcore.tasks.model_job_task")


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    time_limit=_TRAINING_LIMIT,
    soft_time_limit=_TRAINING_LIMIT - 60,
)
def training_run_task(self, run_id: int) -> None:
    from mlcore.services import training_run_execute

    training_run_execute(run_id=run_id, worker=self.request.hostname or "")


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    time_limit=_TRAINING_LIMIT,
    soft_time_limit=_TRAINING_LIMIT - 60,
)
def model_job_task(self, job_id: int) -> None:
    """A gate or an evaluation of a version, with progress on its ``ModelJob``."""
    from mlcore.services import model_job_execute

    model_job_execute(job_id=job_id, worker=self.request.hostname or "")


@shared_task(ignore_result=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def retrain_scheduled() -> None:
    """Beat (weekly by default, editable in the admin): retrain when enough new approved labels exist."""
    from mlcore.services import training_retrain_scheduled

    training_retrain_scheduled()
