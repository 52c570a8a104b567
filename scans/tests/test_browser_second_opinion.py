"""Doctor A asks doctor B for a second opinion in a real browser (Debian chromium): A sees it pending, B answers
with a correction and a note, A sees B's opinion beside the AI's and makes the decision of record (issue #17, 1)."""

from __future__ import annotations

import pytest

from octclinic.factories import DoctorFactory
from octclinic.testing import page_log_in, screenshot
from scans.models import Review, Scan, SecondOpinionRequest
from scans.tests.review_helpers import team_patient, waiting_reading

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_asks_b_b_answers_a_decides(page_factory):
    anna = DoctorFactory(username="anna", first_name="Anna", last_name="Albers")
    bea = DoctorFactory(username="bea", first_name="Bea", last_name="Berger")
    reading = waiting_reading(team_patient(anna), label="CNV", uncertainty=0.5)
    review_url = f"/scans/review/{reading.scan.uuid}/"

    a = page_factory()
    page_log_in(a, "anna")
    a.goto(review_url)
    a.click("text=Ask a colleague for a second opinion")
    a.select_option("[data-second-opinion-form] select[name=colleague]", label="Bea Berger")
    a.fill("[data-second-opinion-form] textarea[name=note]", "Is this fluid or drusen?")
    a.click("[data-second-opinion-ask]")
    pending = a.locator('[data-second-opinion="pending"]')
    pending.wait_for()
    assert "Second opinion pending from Bea Berger" in pending.inner_text()
    assert a.locator('[data-form-kind="decision"]').is_visible()  # A stays the responsible reader
    screenshot(a, "second-opinion-pending")
    a.goto("/scans/review/")
    queued = a.locator(f'[data-queue-item="{reading.scan.uuid}"]').inner_text()
    assert "second opinion pending from Bea Berger" in queued
    screenshot(a, "review-queue-second-opinion-pending")

    b = page_factory()
    page_log_in(b, "bea")
    b.goto("/scans/review/")
    row = b.locator(f'[data-queue-item="{reading.scan.uuid}"]')
    assert "asked of you by Anna Albers" in row.inner_text()
    row.locator("a").first.click()
    b.wait_for_url(f"**{review_url}")
    assert b.locator('[data-form-kind="second_opinion"]').inner_text() == "Your second opinion"
    assert "Is this fluid or drusen?" in b.locator("[data-asked-by]").inner_text()
    screenshot(b, "second-opinion-asked")
    b.fill("[data-review-form] textarea[name=note]", "Subretinal fluid: DME rather than CNV")
    b.select_option("[data-review-form] select[name=label]", "DME")
    b.click("[data-review-correct]")
    b.wait_for_url("**/scans/review/")
    b.locator("[data-queue-empty]").wait_for()

    opinion = Review.objects.get(scan=reading.scan)
    assert opinion.is_second_opinion and opinion.reviewer == bea and opinion.label == "DME"
    assert Scan.objects.get(pk=reading.scan_id).review_pending

    a.goto(review_url)
    answered = a.locator('[data-second-opinion="answered"]')
    text = answered.inner_text()
    assert "Second opinion from Bea Berger" in text and "Corrected DME" in text
    assert "Subretinal fluid: DME rather than CNV" in text
    readers = a.locator("[data-disagreements]").inner_text()
    assert "AI suggestion: CNV" in readers and "Bea Berger (second opinion): DME" in readers
    screenshot(a, "second-opinion-answered")
    a.fill("[data-review-form] textarea[name=note]", "Agree with Bea")
    a.select_option("[data-review-form] select[name=label]", "DME")
    a.click("[data-review-correct]")
    a.wait_for_url("**/scans/review/")

    record = Review.objects.get(scan=reading.scan, is_second_opinion=False)
    assert (record.reviewer, record.label, record.note) == (anna, "DME", "Agree with Bea")
    assert SecondOpinionRequest.objects.get(scan=reading.scan).review == opinion
    assert not Scan.objects.get(pk=reading.scan_id).review_pending
    a.goto(review_url)
    assert "Anna Albers" in a.locator("[data-decision-of-record]").inner_text()
    screenshot(a, "second-opinion-decided")
    a.screenshot(path="/tmp/second-opinion-decided.png", full_page=True)
    a.click("text=← Review queue")
    a.click("[data-disagreements-link]")
    row = a.locator(f'[data-disagreement-scan="{reading.scan.uuid}"]').inner_text()
    assert "AI suggestion: CNV" in row and "Anna Albers (decision of record): DME" in row
    assert "Bea Berger (second opinion): DME" in row
    screenshot(a, "second-opinion-disagreements")
