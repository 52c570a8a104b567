"""The scan page's header badge follows the AI panel: the polled panel sends the badge out of band (htmx).

Issue #19: the header kept saying "Queued for AI reading" while the panel below it already showed the reading.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from scans.classification import scan_classify
from scans.models import AiStatus, Scan
from scans.tests.ai_helpers import uploaded_scan

BADGE = re.compile(r'<span id="scan-ai-badge"[^>]*>[^<]*</span>')


def _badges(html: str) -> list[str]:
    return BADGE.findall(html)


def test_the_scan_page_polls_for_the_badge_too(technician_client, patient):
    scan = uploaded_scan(patient)
    Scan.objects.filter(pk=scan.pk).update(ai_status=AiStatus.QUEUED)
    html = technician_client.get(reverse("scans:detail", kwargs={"uuid": scan.uuid})).content.decode()
    (badge,) = _badges(html)  # in the header, once, and not marked out of band on the page itself
    assert "Queued for AI reading" in badge and "hx-swap-oob" not in badge
    assert f'hx-get="{reverse("scans:ai_status", kwargs={"uuid": scan.uuid})}?badge=1"' in html


def test_the_polled_panel_sends_the_new_badge_out_of_band(deployed_model, technician_client, patient):
    scan = uploaded_scan(patient)
    scan_classify(scan_id=scan.pk)
    url = reverse("scans:ai_status", kwargs={"uuid": scan.uuid})
    html = technician_client.get(url + "?badge=1", HTTP_HX_REQUEST="true").content.decode()
    (badge,) = _badges(html)
    assert 'hx-swap-oob="true"' in badge and 'data-ai-badge="classified"' in badge and ">Classified<" in badge
    assert html.index('id="ai-status"') < html.index('id="scan-ai-badge"')  # after the panel, not inside it
    # The review page's panel has no header badge to update: an out-of-band element without a target would only
    # make htmx log an error, so its polls (without ?badge=1) get none.
    plain = technician_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="ai-status"' in plain and _badges(plain) == []


def test_a_retry_sends_the_badge_too(technician_client, patient):
    scan = uploaded_scan(patient)
    Scan.objects.filter(pk=scan.pk).update(ai_status=AiStatus.FAILED, ai_error="broken")
    url = reverse("scans:ai_retry", kwargs={"uuid": scan.uuid}) + "?badge=1"
    html = technician_client.post(url, HTTP_HX_REQUEST="true").content.decode()
    (badge,) = _badges(html)
    assert 'hx-swap-oob="true"' in badge and "AI reading failed" not in badge


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_header_badge_changes_with_the_panel_in_a_browser(page_factory, deployed_model, patient, technician):
    from octclinic.testing import page_log_in, screenshot

    scan = uploaded_scan(patient)
    Scan.objects.filter(pk=scan.pk).update(ai_status=AiStatus.QUEUED)
    Scan.objects.get(pk=scan.pk).predictions.all().delete()
    page = page_factory()
    page_log_in(page, technician.username)
    page.goto(reverse("scans:detail", kwargs={"uuid": scan.uuid}))
    badge = page.locator("hgroup #scan-ai-badge")
    assert badge.inner_text() == "Queued for AI reading"
    scan_classify(scan_id=scan.pk)
    page.wait_for_selector("#ai-status[data-ai-status='classified']", timeout=15_000)
    page.wait_for_selector("hgroup #scan-ai-badge[data-ai-badge='classified']", timeout=5_000)
    assert badge.inner_text() == "Classified"
    assert page.locator("#scan-ai-badge").count() == 1
    screenshot(page, "scans-status-badge-updated")
