"""Celery tasks of mlcore: thin wrappers around the services; ids in, idempotent, transient errors retried."""

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

# Training outlives the project-wide 15-minute task limit; a stuck run is failed by the beat job instead.
_TRAINING_LIMIT = int(getattr(settings, "MLCORE_TRAINING_TIME_LIMIT", 6 * 60 * 60))


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    time_limit=_TRAINING_LIMIT,
    soft_time_limit=_TRAINING_LIMIT - 60,
)
def training_run_task(run_id: int) -> None:
    from mlcore.services import training_run_execute

    training_run_execute(run_id=run_id)


@shared_task(ignore_result=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def retrain_scheduled() -> None:
    """Beat (weekly by default, editable in the admin): retrain when enough new approved labels exist."""
    from mlcore.services import training_retrain_scheduled

    training_retrain_scheduled()
