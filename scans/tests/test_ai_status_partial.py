"""The AI panel renders every state, polls only while a reading is pending, and serves the heatmap."""

import pytest
from django.urls import reverse

from scans.classification import scan_classify
from scans.models import AiStatus, Scan
from scans.tests.ai_helpers import uploaded_scan


@pytest.mark.parametrize(
    ("status", "polls", "text"),
    [
        (AiStatus.QUEUED, "every 2s", "queued for the classifier"),
        (AiStatus.AWAITING_MODEL, "every 30s", "No AI model is deployed"),
        (AiStatus.FAILED, None, "The stored image failed its integrity check."),
    ],
)
def test_pending_and_failed_states(technician_client, patient, status, polls, text):
    scan = uploaded_scan(patient)
    Scan.objects.filter(pk=scan.pk).update(ai_status=status, ai_error="The stored image failed its integrity check.")
    html = technician_client.get(reverse("scans:ai_status", kwargs={"uuid": scan.uuid})).content.decode()
    assert text in html
    assert (f'hx-trigger="{polls}"' in html) if polls else ("hx-trigger" not in html)
    assert ("Retry" in html) == (status == AiStatus.FAILED)


def test_classified_state_shows_the_reading_and_heatmap(deployed_model, doctor_client, patient):
    scan = uploaded_scan(patient)
    (prediction,) = scan_classify(scan_id=scan.pk)
    response = doctor_client.get(reverse("scans:ai_status", kwargs={"uuid": scan.uuid}))
    html = response.content.decode()
    assert response["Cache-Control"] == "private, no-store"
    assert "hx-trigger" not in html and "Retry" not in html  # polling stopped; doctors cannot re-queue
    for name in ("CNV", "DME", "DRUSEN", "NORMAL", prediction.label, prediction.urgency, "uncertainty"):
        assert name in html
    assert ("Needs careful review" in html) == prediction.needs_careful_review
    heatmap_url = reverse("scans:heatmap", kwargs={"uuid": scan.uuid, "prediction_pk": prediction.pk})
    image = doctor_client.get(heatmap_url)
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content).startswith(b"\x89PNG")
    page = doctor_client.get(reverse("scans:detail", kwargs={"uuid": scan.uuid})).content.decode()
    assert 'id="ai-status"' in page and "scans/heatmap.js" in page
    assert heatmap_url in page and "data-heatmap-opacity" in page  # over the scan, in the frame viewer


def test_heatmap_needs_scan_access(deployed_model, anonymous_client, patient):
    scan = uploaded_scan(patient)
    (prediction,) = scan_classify(scan_id=scan.pk)
    url = reverse("scans:heatmap", kwargs={"uuid": scan.uuid, "prediction_pk": prediction.pk})
    assert anonymous_client.get(url).status_code == 302
