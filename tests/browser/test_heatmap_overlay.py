"""A doctor looks at the Grad-CAM heatmap laid over a scan in a real browser: on at first on the scan page, off at
first on the review page, toggled with H, faded with the opacity slider (mouse or arrow keys), and drawn exactly
over the image. Screenshots at 1366x900 land in test-artifacts/heatmap-scan-page.png and heatmap-review-page.png."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.urls import reverse

from mlcore import gradcam
from octclinic.factories import DoctorFactory
from octclinic.testing import page_log_in, screenshot
from scans import files
from scans.factories import PredictionFactory, ScanFactory
from scans.heatmaps import LAYER_EXTENSION
from scans.models import AiStatus, Scan
from scans.tests.builders import raster_bytes
from scans.tests.review_helpers import team_patient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
KERMANY_CNV = Path(settings.BASE_DIR).parent / "shared" / "oct" / "kermany" / "CNV"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


def _scan_with_layer(patient):
    """A real B-scan (a synthetic one where ../shared is absent) and a reading whose map is a blob under the fovea."""
    samples = sorted(KERMANY_CNV.glob("*.jpeg"))[:1]
    data = samples[0].read_bytes() if samples else raster_bytes("JPEG", seed=3, size=(512, 496))
    scan = ScanFactory(patient=patient, data=data, file_name="b-scan.jpeg")
    y, x = np.mgrid[0:8, 0:8]
    heatmap = np.exp(-((x - 4.2) ** 2 + (y - 4.5) ** 2) / 3.0).astype(np.float32)
    png = gradcam.heatmap_layer_png(size=(scan.width, scan.height), heatmap=heatmap / heatmap.max())
    stored = files.file_store(prefix=files.HEATMAPS, extension=LAYER_EXTENSION, data=png)
    Scan.objects.filter(pk=scan.pk).update(ai_status=AiStatus.CLASSIFIED)
    return PredictionFactory(scan=scan, label="CNV", heatmap=stored.name, heatmap_sha256=stored.sha256)


def _layer_shown(page) -> bool:
    return page.locator("[data-heatmap-layer]").is_visible()


def test_doctor_toggles_and_fades_the_heatmap_over_the_scan(page_factory):
    doctor = DoctorFactory(username="hana")
    reading = _scan_with_layer(team_patient(doctor))
    page = page_factory()
    page.set_viewport_size({"width": 1366, "height": 900})
    errors, failed = [], []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 and "favicon" not in r.url else None)
    page_log_in(page, "hana")

    # The scan page: the map is on, drawn exactly over the image.
    page.goto(reverse("scans:detail", args=[reading.scan.uuid]))
    layer, image, toggle = (
        page.locator("[data-heatmap-layer]"),
        page.locator("[data-scan-image]"),
        page.locator("[data-heatmap-toggle]"),
    )
    layer.wait_for()
    page.wait_for_function("document.querySelector('[data-heatmap-layer]').complete")
    assert toggle.get_attribute("aria-pressed") == "true"
    assert layer.bounding_box() == image.bounding_box()
    assert page.locator("[data-heatmap-label]").inner_text() == "CNV"
    screenshot(page, "heatmap-scan-page")
    page.keyboard.press("h")
    assert not _layer_shown(page) and toggle.get_attribute("aria-pressed") == "false"
    page.keyboard.press("H")
    assert _layer_shown(page) and toggle.get_attribute("aria-pressed") == "true"

    slider = page.locator("[data-heatmap-opacity]")
    slider.fill("30")
    assert layer.evaluate("el => getComputedStyle(el).opacity") == "0.3"
    assert page.locator("[data-heatmap-opacity-value]").inner_text() == "30%"
    slider.focus()
    page.keyboard.press("ArrowRight")  # keyboard reachable: one step of 5 %
    assert slider.get_attribute("aria-valuetext") == "35%"
    assert layer.evaluate("el => getComputedStyle(el).opacity") == "0.35"
    page.keyboard.press("h")  # H still works with the slider focused
    assert not _layer_shown(page)
    slider.fill("50")  # moving the slider shows the map again
    assert _layer_shown(page)

    # Zooming moves image and map together.
    page.click("[data-zoom-in]")
    assert layer.bounding_box() == image.bounding_box()

    # The review page: the doctor reads the scan first, the map is off until asked for.
    page.goto(reverse("scans:review", args=[reading.scan.uuid]))
    page.locator("[data-review-image]").wait_for()
    assert not _layer_shown(page) and toggle.get_attribute("aria-pressed") == "false"
    page.keyboard.press("h")
    assert _layer_shown(page)
    page.wait_for_function("document.querySelector('[data-heatmap-layer]').complete")
    assert layer.bounding_box() == image.bounding_box()
    page.wait_for_timeout(400)  # let the button's colour transition finish before the picture
    screenshot(page, "heatmap-review-page")
    toggle.focus()
    page.keyboard.press("Enter")  # the button, by keyboard
    assert not _layer_shown(page)
    assert not failed, failed
    assert not [e for e in errors if not e.startswith("Failed to load resource")], errors  # no CSP refusals


def test_the_heatmap_appears_over_the_scan_when_the_reading_arrives(page_factory):
    """The AI panel polls while the scan is queued; once it turns "classified" the frame viewer fetches the map."""
    doctor = DoctorFactory(username="ida")
    patient = team_patient(doctor)
    scan = ScanFactory(patient=patient, data=raster_bytes("PNG", seed=4, size=(320, 240)))
    Scan.objects.filter(pk=scan.pk).update(ai_status=AiStatus.QUEUED)
    page = page_factory()
    page_log_in(page, "ida")
    page.goto(reverse("scans:detail", args=[scan.uuid]))
    page.locator("[data-ai-status=queued]").wait_for()
    assert page.locator("[data-heatmap-toggle]").count() == 0
    heatmap = np.ones((8, 8), dtype=np.float32)
    png = gradcam.heatmap_layer_png(size=(scan.width, scan.height), heatmap=heatmap)
    stored = files.file_store(prefix=files.HEATMAPS, extension=LAYER_EXTENSION, data=png)
    Scan.objects.filter(pk=scan.pk).update(ai_status=AiStatus.CLASSIFIED)
    PredictionFactory(scan=scan, label="DRUSEN", heatmap=stored.name, heatmap_sha256=stored.sha256)
    page.locator("[data-heatmap-layer]").wait_for(timeout=10_000)  # next poll (every 2 s), then the frame viewer
    assert page.locator("[data-heatmap-label]").inner_text() == "DRUSEN"
    assert page.locator("[data-heatmap-toggle]").get_attribute("aria-pressed") == "true"
