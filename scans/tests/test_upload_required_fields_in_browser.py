"""The upload page checks its required fields before sending anything, shows the error beside the field and keeps
the chosen files; a refusal by the server (which still checks) lands beside the field too.

Issue #19: without an eye the page said "Done: 1 file(s) processed" with a full bar, then "Eye: This field is
required", and the chosen file was gone.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from octclinic.testing import page_log_in, screenshot
from scans.models import Scan

from .builders import png_bytes


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_missing_eye_is_shown_beside_it_and_the_file_is_kept(page_factory, tmp_path, patient, technician):
    chosen = tmp_path / "scan.png"
    chosen.write_bytes(png_bytes(11, size=(160, 120)))
    requests: list[str] = []
    page = page_factory()
    page_log_in(page, technician.username)
    page.goto(f"/scans/upload/?patient={patient.pk}")
    page.on("request", lambda r: requests.append(r.url) if r.method == "POST" else None)
    page.set_input_files("input[name=files]", [str(chosen)])
    page.click("#upload-submit")

    error = page.locator("[data-field=eye] [data-field-error=eye]")
    error.wait_for(state="visible", timeout=5_000)
    assert "Choose the eye" in error.inner_text()
    label = page.locator("#upload-progress-label").inner_text()
    assert "Done" not in label and "Nothing was uploaded" in label
    assert page.locator("#upload-progress").is_hidden()
    assert page.locator("input[name=files]").evaluate("el => el.files.length") == 1
    assert page.locator("#upload-results li").count() == 0
    assert requests == [] and Scan.objects.count() == 0
    screenshot(page, "scans-upload-eye-required")

    page.check("input[name=eye][value=OD]")
    assert error.is_hidden()  # the error goes once the field is filled
    page.click("#upload-submit")
    page.wait_for_selector("#scan-upload-form[data-done='1']", timeout=30_000)
    assert page.locator("#upload-results li").get_attribute("data-status") == "stored"
    assert Scan.objects.filter(patient=patient, eye="OD").count() == 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_field_the_server_refuses_is_shown_beside_it_and_the_file_is_kept(
    page_factory, tmp_path, patient, technician
):
    chosen = tmp_path / "scan.png"
    chosen.write_bytes(png_bytes(12, size=(160, 120)))
    page = page_factory()
    page_log_in(page, technician.username)
    page.goto(f"/scans/upload/?patient={patient.pk}")
    page.check("input[name=eye][value=OS]")
    page.fill("input[name=acquired_on]", "2099-01-01")  # only the server knows the date rule
    page.set_input_files("input[name=files]", [str(chosen)])
    page.click("#upload-submit")
    error = page.locator("[data-field-error=acquired_on]")
    error.wait_for(state="visible", timeout=15_000)
    assert "in the future" in error.inner_text()
    assert "Done" not in page.locator("#upload-progress-label").inner_text()
    assert page.locator("input[name=files]").evaluate("el => el.files.length") == 1
    assert Scan.objects.count() == 0
    screenshot(page, "scans-upload-date-refused")


@pytest.mark.django_db
def test_without_javascript_the_server_still_refuses_and_marks_the_field(technician_client, patient):
    response = technician_client.post(
        reverse("scans:upload") + f"?patient={patient.pk}",
        {"acquired_on": "2025-01-02", "files": [SimpleUploadedFile("a.png", png_bytes(1))]},
    )
    assert response.status_code == 400 and Scan.objects.count() == 0
    html = response.content.decode()
    assert 'data-field-error="eye"' in html and "This field is required." in html
