"""Celery tasks of the scans app: thin wrappers, the work is in services / classification."""

from celery import shared_task
from django.db import OperationalError


@shared_task(acks_late=True)
def dataset_import_task(job_id: int) -> None:
    from .services import dataset_import_run

    dataset_import_run(job_id=job_id)


@shared_task(
    acks_late=True,
    ignore_result=True,
    # Only a database hiccup is worth retrying; model or file problems are recorded on the scan.
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def classify_scan(scan_id: int) -> None:
    from .classification import scan_classify
    from .shadow_readings import scan_shadow_enqueue

    if scan_classify(scan_id=scan_id):
        # Only after the deployed model's reading is stored: the shadow candidate reads in a task of its own.
        scan_shadow_enqueue(scan_id=scan_id)


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def shadow_read_scan(scan_id: int) -> None:
    """The shadow candidate reads the scan beside the deployed model (mlcore.shadow); nobody sees its answer."""
    from .shadow_readings import scan_shadow_read

    scan_shadow_read(scan_id=scan_id)


@shared_task(ignore_result=True)
def classify_pending() -> None:
    """Beat sweeper (every 5 minutes): lost tasks, and scans that waited for a model to be deployed."""
    from .classification import scans_classification_requeue

    scans_classification_requeue()


@shared_task(ignore_result=True)
def sweep_orphan_files() -> None:
    """Beat (nightly): remove stored files no row references, e.g. the heatmap a worker killed mid-reading wrote.

    Rows whose file is missing are only logged; ``manage.py sweep_scan_orphans`` repairs them, run by a person.
    """
    from .services import storage_orphans_sweep

    storage_orphans_sweep(repair_rows=False)


@shared_task(acks_late=True, ignore_result=True)
def pacs_retrieve(retrieval_id: int) -> None:
    """Pull one study from the PACS into the patient's record (scans.pacs_services)."""
    from .pacs_services import pacs_retrieval_run

    pacs_retrieval_run(retrieval_id=retrieval_id)
