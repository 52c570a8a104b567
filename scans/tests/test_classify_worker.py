"""End to end with a real Celery worker process: an uploaded scan is classified by the task."""

import pytest

from octclinic.testing import wait_until
from scans.models import AiStatus, Prediction, Scan
from scans.tasks import classify_scan
from scans.tests.ai_helpers import uploaded_scan


@pytest.mark.worker
def test_worker_classifies_an_uploaded_scan(deployed_model, patient, celery_worker_process):
    scan = uploaded_scan(patient)
    classify_scan.apply_async(args=[scan.pk], queue=celery_worker_process)
    wait_until(lambda: Scan.objects.get(pk=scan.pk).ai_status in (AiStatus.CLASSIFIED, AiStatus.FAILED), timeout=120)
    scan.refresh_from_db()
    assert scan.ai_status == AiStatus.CLASSIFIED, scan.ai_error
    prediction = Prediction.objects.get(scan=scan)
    assert prediction.model_version_id == deployed_model.pk
