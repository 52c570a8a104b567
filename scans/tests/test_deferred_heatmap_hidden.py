"""A deferred reading's heatmap is shown nowhere, as on the scan and review pages (``scans.heatmaps.heatmap_shown``):
not in the printed visit report, and a deferred frame of a volume gets no "Show frame N with its heatmap" link
on the scan page's AI panel, while a frame with a suggestion keeps its link."""

import pytest
from django.urls import reverse

from scans.factories import ScanFactory
from scans.models import Scan
from scans.services import scan_upload
from scans.tests.builders import TODAY, opt_volume_bytes, png_bytes
from scans.tests.test_heatmap_viewer import layer_reading
from scans.visit_report import _heatmap

pytestmark = pytest.mark.django_db


def _report(client, scan) -> bytes:
    url = reverse("scans:visit_report", args=[scan.patient_id, scan.eye]) + f"?day={scan.acquired_on.isoformat()}"
    response = client.get(url)
    assert response.status_code == 200
    return response.content


def test_the_visit_report_prints_no_heatmap_for_a_deferred_reading(doctor_client, patient):
    scan = ScanFactory(patient=patient, data=png_bytes(seed=5, size=(160, 120)))
    preview = png_bytes(seed=5, size=(80, 60))
    deferred = layer_reading(scan, deferred=True)
    assert deferred.heatmap.name and _heatmap(deferred, preview) is None
    assert _report(doctor_client, scan).count(b"/Subtype /Image") == 1  # the scan alone

    other = ScanFactory(patient=patient, data=png_bytes(seed=6, size=(160, 120)), eye="OS")
    suggestion = layer_reading(other)
    assert _heatmap(suggestion, preview) is not None
    assert _report(doctor_client, other).count(b"/Subtype /Image") == 2  # the scan and its heatmap


def test_a_deferred_frame_of_a_volume_gets_no_heatmap_link(doctor_client, patient, kermany_jpegs):
    volume = scan_upload(
        patient=patient,
        eye="OD",
        acquired_on=TODAY,
        file_name="vol.dcm",
        data=opt_volume_bytes(kermany_jpegs[:5]),
        uploaded_by=None,
    )
    Scan.objects.filter(pk=volume.pk).update(ai_frames=[1, 3])
    volume.refresh_from_db()
    layer_reading(volume, frame=1, label="CNV")
    layer_reading(volume, frame=3, label="DRUSEN", deferred=True)
    page = doctor_client.get(reverse("scans:detail", args=[volume.uuid])).content.decode()
    assert 'data-heatmap-frame="2"' in page and "Show frame 2 with its heatmap" in page
    assert 'data-heatmap-frame="4"' not in page and "Show frame 4 with its heatmap" not in page
    assert "Frame 4: <strong>AI unsure — read without AI suggestion</strong>" in page
