"""A failed reading can be re-queued by staff who may add scans, and only by them."""

from unittest import mock

from django.urls import reverse

from scans.models import AiStatus, Scan
from scans.tests.ai_helpers import uploaded_scan


def test_retry_requeues_a_failed_scan(technician_client, patient, django_capture_on_commit_callbacks):
    scan = uploaded_scan(patient)
    Scan.objects.filter(pk=scan.pk).update(ai_status=AiStatus.FAILED, ai_error="Internal error (ValueError).")
    url = reverse("scans:ai_retry", kwargs={"uuid": scan.uuid})
    with mock.patch("scans.tasks.classify_scan.delay") as delay, django_capture_on_commit_callbacks(execute=True):
        response = technician_client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    delay.assert_called_once_with(scan.pk)
    scan.refresh_from_db()
    assert scan.ai_status == AiStatus.QUEUED and scan.ai_error == "" and scan.ai_queued_at is not None
    assert 'hx-trigger="every 2s"' in response.content.decode()


def test_doctor_cannot_retry(doctor_client, patient):
    scan = uploaded_scan(patient)
    Scan.objects.filter(pk=scan.pk).update(ai_status=AiStatus.FAILED)
    with mock.patch("scans.tasks.classify_scan.delay") as delay:
        response = doctor_client.post(reverse("scans:ai_retry", kwargs={"uuid": scan.uuid}))
    assert response.status_code == 403
    delay.assert_not_called()
    scan.refresh_from_db()
    assert scan.ai_status == AiStatus.FAILED
