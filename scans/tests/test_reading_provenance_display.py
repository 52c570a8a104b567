"""Everywhere a reading appears it says which model made it: a synthetic or non-clinical model with a visible
"not for clinical use" badge (scan page, review page, queue, patient timeline, PDF visit report), an evaluated one
with its headline on hover and a link to its model card for those who may read cards. Technicians see on the scan
page why an image was not recognised as OCT."""

import html

import pytest
from django.urls import reverse

from scans.factories import ModelVersionRowFactory
from scans.tests.review_helpers import team_patient, waiting_reading
from scans.tests.test_review_export import pdf_text

pytestmark = pytest.mark.django_db
NOTICE = "synthetic demo model — not for clinical use"
EVALUATED = {"metrics": {"test": {"n": 135, "accuracy": 0.78, "urgent_sensitivity": 0.92, "urgent_specificity": 0.85}}}


@pytest.fixture
def demo_reading(doctor):
    model = ModelVersionRowFactory(version="demo-1", card={"training_data": {"synthetic": True}})
    return waiting_reading(team_patient(doctor), label="CNV", model_version=model)


def _page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_the_badge_on_every_page(doctor_client, demo_reading):
    scan = demo_reading.scan
    pages = {
        "scan": reverse("scans:detail", args=[scan.uuid]),
        "review": reverse("scans:review", args=[scan.uuid]),
        "queue": reverse("scans:review_queue"),
        "timeline": reverse("patients:detail", args=[scan.patient_id]),
    }
    for name, url in pages.items():
        page = _page(doctor_client, url)
        assert f"data-not-clinical>{NOTICE}</mark>" in page, name
        assert 'data-model-provenance="demo-1"' in page, name


def test_the_badge_in_the_pdf_report(doctor_client, demo_reading):
    scan = demo_reading.scan
    url = reverse("scans:visit_report", args=[scan.patient_id, scan.eye]) + f"?day={scan.acquired_on.isoformat()}"
    text = pdf_text(doctor_client.get(url).content)
    assert "Model version: demo-1" in text
    assert "Model: synthetic demo model - not for clinical use" in text  # the PDF's Latin-1 font prints "-"
    assert "Model evaluation: not evaluated" in text


def test_an_evaluated_model_has_its_headline_on_hover_and_a_card_link(doctor_client, doctor):
    model = ModelVersionRowFactory(version="clinic-3", card=EVALUATED)
    reading = waiting_reading(team_patient(doctor), label="DME", model_version=model)
    page = _page(doctor_client, reverse("scans:detail", args=[reading.scan.uuid]))
    card = reverse("mlcore:card", args=["clinic-3"])
    headline = "accuracy 0.78 · urgent-referral sensitivity 0.92 · n = 135 (held-out test split)"
    assert f'<a href="{card}" title="{headline}" data-model-card>clinic-3</a>' in page
    assert "data-not-clinical" not in page


def test_the_headline_falls_back_to_the_lifecycle_report(doctor_client, doctor):
    from mlcore.models import ModelVersionLifecycle

    model = ModelVersionRowFactory(version="old-1")
    ModelVersionLifecycle.objects.create(
        model_version=model, evaluation={"n": 40, "accuracy": 0.7, "urgent_sensitivity": 0.8}
    )
    reading = waiting_reading(team_patient(doctor), model_version=model)
    page = _page(doctor_client, reverse("scans:review_queue"))
    assert 'title="accuracy 0.70 · urgent-referral sensitivity 0.80 · n = 40 (held-out test split)"' in page
    assert str(reading.scan.uuid) in page


def test_technicians_see_why_an_image_was_refused_without_a_card_link(technician_client, doctor):
    model = ModelVersionRowFactory(version="clinic-3", card=EVALUATED)
    reading = waiting_reading(
        team_patient(doctor),
        label="",
        recognised=False,
        refusal_reason="no layered retina band found",
        model_version=model,
    )
    page = _page(technician_client, reverse("scans:detail", args=[reading.scan.uuid]))
    assert "Not recognised as a retinal OCT B-scan: no layered retina band found" in page
    assert 'data-ai-outcome="unrecognised"' in page and "data-ai-label" not in page
    assert "data-model-card" not in page and 'title="accuracy 0.78' in page


def test_a_deferred_reading_shows_no_suggestion_on_the_scan_page_or_timeline(doctor_client, doctor):
    reading = waiting_reading(team_patient(doctor), label="DME", deferred=True)
    page = _page(doctor_client, reverse("scans:detail", args=[reading.scan.uuid]))
    assert "AI unsure — read without AI suggestion" in page
    assert "data-ai-label" not in page and 'class="ai-probabilities"' not in page
    timeline = _page(doctor_client, reverse("patients:detail", args=[reading.scan.patient_id]))
    assert "AI: AI unsure — read without AI suggestion" in timeline and "AI: DME" not in timeline
