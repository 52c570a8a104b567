"""The identity-mismatch confirmation on the upload page can be ticked by clicking the box itself.

Issue #19: Pico pulls a help text up over the input it directly follows; under a checkbox it covered the box, so
only a click on the label ticked it.
"""

from __future__ import annotations

import pytest

from octclinic.testing import page_log_in, screenshot

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_clicking_the_checkbox_itself_ticks_it(page_factory, patient, technician):
    page = page_factory()
    page_log_in(page, technician.username)
    page.goto(f"/scans/upload/?patient={patient.pk}")
    box = page.locator("#id_confirm_identity_mismatch")
    centre = box.evaluate(
        """el => { const r = el.getBoundingClientRect();
                   const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
                   return hit === el; }"""
    )
    assert centre, "something is drawn over the checkbox"
    box.click(timeout=3_000)  # Playwright refuses to click an element another one covers
    assert box.is_checked()
    help_text = page.locator("[data-field=confirm_identity_mismatch] .field-help")
    assert "DICOM header differs" in help_text.inner_text()
    box_rect, help_rect = box.bounding_box(), help_text.bounding_box()
    assert help_rect["y"] >= box_rect["y"] + box_rect["height"]  # below the box, not over it
    screenshot(page, "scans-upload-confirm-checkbox")
    box.click(timeout=3_000)
    assert not box.is_checked()
