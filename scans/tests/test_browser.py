"""A technician uploads several files, one of them bad, in a real browser (Debian chromium)."""

from __future__ import annotations

import pytest

from octclinic.testing import page_log_in, screenshot
from scans.models import Scan

from .builders import png_bytes, raster_bytes

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_upload_several_files_with_one_bad(page_factory, tmp_path, patient, technician, kermany_sample_or_png):
    good_jpeg = tmp_path / kermany_sample_or_png.name
    good_jpeg.write_bytes(kermany_sample_or_png.read_bytes())
    good_png = tmp_path / "second.png"
    good_png.write_bytes(png_bytes(77, size=(320, 240)))
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(raster_bytes("JPEG", seed=5, size=(200, 200))[:700])

    page = page_factory()
    page_log_in(page, technician.username)
    page.goto(f"/scans/upload/?patient={patient.pk}")
    page.check("input[name=eye][value=OD]")
    page.set_input_files("input[name=files]", [str(good_jpeg), str(bad), str(good_png)])
    page.click("#upload-submit")
    page.wait_for_selector("#scan-upload-form[data-done='1']", timeout=30_000)
    results = page.locator("#upload-results li")
    assert results.count() == 3
    statuses = [results.nth(i).get_attribute("data-status") for i in range(3)]
    assert statuses == ["stored", "refused", "stored"], [results.nth(i).inner_text() for i in range(3)]
    bad_text = results.nth(1).inner_text()
    assert "broken.jpg" in bad_text and "JPEG data is truncated or corrupt" in bad_text
    assert page.locator("#upload-progress").evaluate("el => el.value") == 100
    screenshot(page, "scans-upload-results")
    assert Scan.objects.filter(patient=patient).count() == 2


@pytest.fixture
def kermany_sample_or_png(tmp_path):
    from .conftest import SHARED_OCT

    candidates = sorted((SHARED_OCT / "kermany" / "NORMAL").glob("*.jpeg"))[:1]
    if candidates:
        return candidates[0]
    fallback = tmp_path / "fallback.jpg"
    fallback.write_bytes(raster_bytes("JPEG", seed=3, size=(512, 496)))
    return fallback
