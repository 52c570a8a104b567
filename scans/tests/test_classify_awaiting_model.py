"""Without a deployed model a scan waits; the beat sweeper reads it once a model is deployed."""

from unittest import mock

from django_celery_beat.models import PeriodicTask

from mlcore.testing import tiny_model_version_deploy
from scans.classification import scan_classify
from scans.models import AiStatus, Prediction
from scans.tasks import classify_pending
from scans.tests.ai_helpers import uploaded_scan


def test_no_model_then_sweeper_classifies_after_deploy(patient, model_storage, django_capture_on_commit_callbacks):
    scan = uploaded_scan(patient)
    assert scan_classify(scan_id=scan.pk) == []
    scan.refresh_from_db()
    assert scan.ai_status == AiStatus.AWAITING_MODEL

    with mock.patch("scans.tasks.classify_scan.delay") as delay, django_capture_on_commit_callbacks(execute=True):
        classify_pending()
    delay.assert_not_called()  # still no model: nothing to re-queue

    tiny_model_version_deploy()
    with mock.patch("scans.tasks.classify_scan.delay") as delay, django_capture_on_commit_callbacks(execute=True):
        classify_pending()
    delay.assert_called_once_with(scan.pk)
    scan.refresh_from_db()
    assert scan.ai_status == AiStatus.QUEUED
    scan_classify(scan_id=scan.pk)  # what the worker does with the re-queued task
    scan.refresh_from_db()
    assert scan.ai_status == AiStatus.CLASSIFIED
    assert Prediction.objects.filter(scan=scan).count() == 1


def test_sweeper_is_scheduled_every_five_minutes(db):
    task = PeriodicTask.objects.get(task="scans.tasks.classify_pending")
    assert task.enabled and (task.interval.every, task.interval.period) == (5, "minutes")
