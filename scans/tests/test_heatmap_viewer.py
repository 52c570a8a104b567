"""The Grad-CAM heatmap over the scan: new readings store a transparent layer, the scan page and the review page
lay it over the image (on by default on the scan page, off on the review page), older composited overlays are
still shown, volumes show each frame's own map, and the legend is the ramp the layer is drawn with."""

from __future__ import annotations

import io
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from mlcore import gradcam
from scans import files
from scans.classification import scan_classify
from scans.factories import PredictionFactory, ScanFactory
from scans.heatmaps import LAYER_EXTENSION, heatmap_shown
from scans.models import AiStatus, Scan
from scans.services import scan_upload
from scans.tests.builders import TODAY, opt_volume_bytes, png_bytes
from scans.visit_report import _heatmap

pytestmark = pytest.mark.django_db


def layer_reading(scan: Scan, *, label: str = "CNV", frame: int = 0, **extra):
    """A reading whose heatmap is stored as new readings store it: an RGBA layer at the scan's size."""
    heatmap = np.zeros((8, 8), dtype=np.float32)
    heatmap[2:5, 3:6] = 1.0
    png = gradcam.heatmap_layer_png(size=(scan.width, scan.height), heatmap=heatmap)
    stored = files.file_store(prefix=files.HEATMAPS, extension=LAYER_EXTENSION, data=png)
    Scan.objects.filter(pk=scan.pk).update(ai_status=AiStatus.CLASSIFIED)
    return PredictionFactory(
        scan=scan, label=label, frame=frame, heatmap=stored.name, heatmap_sha256=stored.sha256, **extra
    )


def test_new_readings_store_an_rgba_layer_at_the_scans_size(deployed_model, doctor_client, patient, kermany_jpegs):
    scan = ScanFactory(patient=patient, data=kermany_jpegs[0].read_bytes())  # a real B-scan: recognised as OCT
    (prediction,) = scan_classify(scan_id=scan.pk)
    assert prediction.heatmap.name.startswith("scans/heatmaps/") and prediction.heatmap.name.endswith(LAYER_EXTENSION)
    with default_storage.open(prediction.heatmap.name, "rb") as handle:
        stored = handle.read()
    assert stored[25] == 6  # PNG colour type 6 = RGBA
    assert Image.open(io.BytesIO(stored)).size == (scan.width, scan.height)
    response = doctor_client.get(reverse("scans:heatmap", args=[scan.uuid, prediction.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png" and response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content) == stored


def test_scan_page_lays_the_heatmap_over_the_scan_shown_by_default(doctor_client, patient):
    reading = layer_reading(ScanFactory(patient=patient), label="DME")
    page = doctor_client.get(reverse("scans:detail", args=[reading.scan.uuid])).content.decode()
    stack = page[page.index('class="heatmap-stack"') :]
    stack = stack[: stack.index("</div>")]
    assert "data-zoom-image" in stack  # zoom and pan move image and layer together
    assert reverse("scans:file", args=[reading.scan.uuid, "preview"]) in stack
    layer = re.search(r'<img [^>]*class="heatmap-layer"[^>]*>', stack).group(0)
    assert reverse("scans:heatmap", args=[reading.scan.uuid, reading.pk]) in layer and " hidden" not in layer
    assert 'aria-pressed="true"' in page and 'aria-keyshortcuts="H"' in page and "data-heatmap-toggle" in page
    assert re.search(r'<label class="heatmap-opacity">Opacity <input type="range" min="0" max="100"', page)
    assert "weak → strong evidence for <strong data-heatmap-label>DME</strong>" in page
    assert "scans/heatmap.js" in page and "heatmap-legacy" not in page


def test_review_page_has_the_heatmap_off_by_default(doctor_client, patient):
    reading = layer_reading(ScanFactory(patient=patient), label="CNV")
    page = doctor_client.get(reverse("scans:review", args=[reading.scan.uuid])).content.decode()
    layer = re.search(r'<img [^>]*class="heatmap-layer"[^>]*>', page).group(0)
    assert layer.endswith(" hidden>") and 'aria-pressed="false"' in page
    assert "data-review-image" in page and "data-heatmap-opacity" in page
    assert "weak → strong evidence for <strong data-heatmap-label>CNV</strong>" in page
    assert "scans/heatmap.js" in page and "scans/review.js" in page


def test_an_older_composited_overlay_is_shown_beside_the_scan(doctor_client, patient):
    scan = ScanFactory(patient=patient, ai_status=AiStatus.CLASSIFIED)
    overlay = files.file_store(prefix=files.HEATMAPS, extension=".png", data=png_bytes(seed=3, mode="RGB"))
    reading = PredictionFactory(scan=scan, heatmap=overlay.name, heatmap_sha256=overlay.sha256)
    for url in (reverse("scans:detail", args=[scan.uuid]), reverse("scans:review", args=[scan.uuid])):
        page = doctor_client.get(url).content.decode()
        assert 'class="heatmap-layer"' not in page and "data-heatmap-toggle" in page
        legacy = page[page.index('<figure class="heatmap-legacy"') :]
        assert reverse("scans:heatmap", args=[scan.uuid, reading.pk]) in legacy[: legacy.index("</figure>")]


def test_a_reading_without_a_heatmap_shows_the_scan_alone(doctor_client, patient):
    reading = PredictionFactory(scan=ScanFactory(patient=patient, ai_status=AiStatus.CLASSIFIED))
    for name in ("scans:detail", "scans:review"):
        page = doctor_client.get(reverse(name, args=[reading.scan.uuid])).content.decode()
        assert "data-scan-image" in page and "data-heatmap-toggle" not in page


def test_a_deferred_reading_shows_no_heatmap_on_either_page(doctor_client, patient):
    reading = layer_reading(ScanFactory(patient=patient), deferred=True)
    for name in ("scans:detail", "scans:review"):
        page = doctor_client.get(reverse(name, args=[reading.scan.uuid])).content.decode()
        assert "data-scan-image" in page and "data-heatmap-toggle" not in page and "evidence for" not in page


def test_deferred_and_unrecognised_readings_show_no_heatmap():
    stored = SimpleNamespace(name="scans/heatmaps/2026/01/x.layer.png")
    assert heatmap_shown(SimpleNamespace(heatmap=stored))
    assert not heatmap_shown(SimpleNamespace(heatmap=stored, deferred=True))  # would name the withheld class
    assert not heatmap_shown(SimpleNamespace(heatmap=stored, recognised=False))
    assert not heatmap_shown(SimpleNamespace(heatmap=SimpleNamespace(name="")))
    assert not heatmap_shown(None)


def test_a_volume_shows_each_frames_own_heatmap(doctor_client, patient, kermany_jpegs):
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
    second, fourth = layer_reading(volume, frame=1, label="CNV"), layer_reading(volume, frame=3, label="DRUSEN")
    url = reverse("scans:detail", args=[volume.uuid])
    page = doctor_client.get(url + "?frame=4").content.decode()
    assert reverse("scans:heatmap", args=[volume.uuid, fourth.pk]) in page
    assert reverse("scans:heatmap", args=[volume.uuid, second.pk]) not in page
    assert 'data-heatmap-frame="2"' in page and 'data-heatmap-frame="4"' in page and 'hx-target="#frame-viewer"' in page
    swapped = doctor_client.get(url + "?frame=2", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="frame-viewer")
    html = swapped.content.decode()
    assert "<html" not in html and reverse("scans:heatmap", args=[volume.uuid, second.pk]) in html
    unread = doctor_client.get(url + "?frame=3", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="frame-viewer")
    assert "data-heatmap-toggle" not in unread.content.decode()
    review = doctor_client.get(reverse("scans:review", args=[volume.uuid])).content.decode()
    assert 'data-heatmap-frame="2"' in review and 'hx-target="#frame-viewer"' not in review  # no frame viewer there


def test_the_printed_report_lays_a_stored_layer_over_the_scan(patient):
    reading = layer_reading(ScanFactory(patient=patient, data=png_bytes(seed=5, size=(160, 120))))
    preview = png_bytes(seed=5, size=(80, 60))
    printed = Image.open(io.BytesIO(_heatmap(reading, preview)))
    assert printed.mode == "RGB" and printed.size == (80, 60)
    assert _heatmap(reading, None) is None  # a layer alone would print as colour on nothing


def test_the_legend_is_the_layers_colour_ramp():
    css = (Path(settings.BASE_DIR) / "static" / "scans" / "scans.css").read_text()
    rule = css[css.index(".heatmap-legend-bar {") :]
    rule = rule[: rule.index("}")]
    stops = re.findall(r"rgba\((\d+), (\d+), (\d+), ([\d.]+)\) (\d+)%", rule)
    anchors = gradcam.COLORMAP_ANCHORS
    assert [tuple(int(v) for v in stop[:3]) for stop in stops] == [tuple(a) for a in anchors]
    positions = [i / (len(anchors) - 1) for i in range(len(anchors))]
    assert [float(stop[3]) for stop in stops] == positions  # alpha = evidence, as in the layer
    assert [int(stop[4]) / 100 for stop in stops] == positions
