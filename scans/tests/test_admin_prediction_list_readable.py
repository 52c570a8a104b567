"""The admin's prediction list shows rounded numbers and fits a 1366 px screen.

Issue #19: the list showed 0.00000000005992220208282434 (Django's number format writes every digit of a float) and
ran wider than a 1366 px laptop screen.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from scans.tests.review_helpers import team_patient, waiting_reading

TINY = 5.992220208282434e-11
PROBABILITIES = {"CNV": 0.9612345678901234, "DME": 0.0387654321098765, "DRUSEN": TINY, "NORMAL": 0.0}
LONG_FLOAT = re.compile(r"\d\.\d{5,}")


def _reading(doctor):
    return waiting_reading(
        team_patient(doctor), label="CNV", uncertainty=TINY, confidence=0.9612345678901234, probabilities=PROBABILITIES
    )


def test_probabilities_read_compactly():
    from scans.review_admin import probabilities_compact

    assert probabilities_compact(PROBABILITIES) == "CNV 0.96 · DME 0.04 · DRUSEN <0.01 · NORMAL 0.00"
    assert probabilities_compact({}) == "—"


@pytest.mark.django_db
def test_the_list_and_the_reading_page_show_no_long_float(doctor_client, doctor):
    reading = _reading(doctor)
    page = doctor_client.get(reverse("admin:scans_prediction_changelist")).content.decode()
    assert f"Scan #{reading.scan_id} " in page
    assert LONG_FLOAT.findall(page) == []
    assert ">0.96<" in page and ">0.00<" in page  # confidence and uncertainty, two decimals
    detail = doctor_client.get(reverse("admin:scans_prediction_change", args=[reading.pk])).content.decode()
    assert LONG_FLOAT.findall(detail) == []
    assert "CNV 0.96 · DME 0.04 · DRUSEN &lt;0.01 · NORMAL 0.00" in detail


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_list_fits_1366_pixels(page_factory, doctor):
    from octclinic.testing import page_log_in, screenshot

    for _ in range(3):
        _reading(doctor)
    page = page_factory()
    page.set_viewport_size({"width": 1366, "height": 900})
    page_log_in(page, doctor.username)
    page.goto(reverse("admin:scans_prediction_changelist"))
    assert page.locator("#result_list tbody tr").count() == 3
    screenshot(page, "scans-admin-prediction-list-1366")
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 1366, width
    # The admin scrolls a too-wide table inside its own box instead of the page: that must not happen either.
    table = page.evaluate(
        "(() => { const el = document.querySelector('#changelist .results'); "
        "return [el.scrollWidth, el.clientWidth]; })()"
    )
    assert table[0] <= table[1], table
    review = page.locator("#result_list tbody tr").first.get_by_role("link", name="approve / correct")
    assert review.bounding_box()["x"] + review.bounding_box()["width"] <= 1366
    assert LONG_FLOAT.findall(page.locator("#result_list").inner_text()) == []
