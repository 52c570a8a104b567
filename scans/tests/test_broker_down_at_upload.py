"""The broker is down when a scan is uploaded: the upload is kept (queued), and once the broker is back
the sweeper re-sends it and a real worker classifies it — no work lost."""

import datetime as dt

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from octclinic.testing import wait_until
from scans.classification import scans_classification_requeue
from scans.models import AiStatus, Prediction, Scan
from scans.tasks import classify_scan
from scans.tests.ai_helpers import uploaded_scan

pytestmark = pytest.mark.worker


def test_upload_survives_a_broker_outage_and_is_classified_later(
    deployed_model, patient, celery_worker_process, monkeypatch
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(classify_scan, "delay", broker_down)
    scan = uploaded_scan(patient)  # the task can't be sent: the upload must still be stored
    scan.refresh_from_db()
    assert scan.ai_status == AiStatus.QUEUED
    assert scan.original and Scan.objects.filter(pk=scan.pk).exists()

    # The broker is back; time passes and the beat sweeper finds the scan stuck in "queued".
    monkeypatch.setattr(
        classify_scan, "delay", lambda *args: classify_scan.apply_async(args=args, queue=celery_worker_process)
    )
    Scan.objects.filter(pk=scan.pk).update(ai_queued_at=timezone.now() - dt.timedelta(minutes=30))
    assert scans_classification_requeue() == [scan.pk]

    wait_until(lambda: Scan.objects.get(pk=scan.pk).ai_status == AiStatus.CLASSIFIED, timeout=120)
    assert Prediction.objects.filter(scan=scan).count() == 1
