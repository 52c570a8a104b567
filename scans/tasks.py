"""Celery tasks of the scans app (the AI classification task arrives with the mlcore integration)."""

from celery import shared_task


@shared_task(acks_late=True)
def dataset_import_task(job_id: int) -> None:
    from .services import dataset_import_run

    dataset_import_run(job_id=job_id)
