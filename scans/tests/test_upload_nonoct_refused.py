"""End to end through the technician's path: a document photographed by mistake and a B-scan are uploaded
together on the upload page, and the classification task each upload queues reads them with the deployed model.
The document is refused by the OCT check in the same pass: its scan page says why and shows no diagnosis, the API
says ``recognised: false`` with the reason, and it never counts as a diagnosis on the doctor's dashboard or in
the predictions metric. The B-scan beside it gets a label as usual."""

import html

import pytest
from django.urls import reverse

from bench.nonoct_corpus import nonoct_corpus
from mlcore.labels import CLASSES
from mlcore.phantom import phantom_png
from octclinic.clinic_metrics import predictions_by_label
from scans.models import UNRECOGNISED_TEXT, AiStatus, Prediction
from scans.tests.ai_helpers import upload_through_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def document_png() -> bytes:
    return next(png for kind, png in nonoct_corpus(per_kind=1, packages=0) if kind == "document")


@pytest.fixture
def uploaded(technician_client, patient, deployed_model, document_png, django_capture_on_commit_callbacks):
    response, scans = upload_through_page(
        technician_client,
        patient,
        {"letter.png": document_png, "b-scan.png": phantom_png("DME", seed=4)},
        capture=django_capture_on_commit_callbacks,
    )
    assert response.status_code == 200 and response.content.decode().count('data-status="stored"') == 2
    document, bscan = scans
    assert (document.original_name, bscan.original_name) == ("letter.png", "b-scan.png")
    return document, bscan


def _ai_panel(client, scan) -> str:
    page = html.unescape(client.get(reverse("scans:detail", args=[scan.uuid])).content.decode())
    start = page.index('id="ai-status"')
    return page[start : page.index("</section>", start)]


def test_the_document_is_refused_and_the_bscan_labelled(technician_client, uploaded):
    document, bscan = uploaded
    refused = Prediction.objects.get(scan=document)
    assert (refused.recognised, refused.label, refused.refusal_reason != "") == (False, "", True)
    panel = _ai_panel(technician_client, document)
    assert f"{UNRECOGNISED_TEXT}: {refused.refusal_reason}" in panel
    assert 'data-ai-outcome="unrecognised"' in panel and "data-ai-label" not in panel
    assert not any(name in panel for name in CLASSES)

    labelled = Prediction.objects.get(scan=bscan)
    assert labelled.recognised and labelled.label in CLASSES
    assert f"<strong data-ai-label>{labelled.label}</strong>" in _ai_panel(technician_client, bscan)
    for scan in (document, bscan):
        scan.refresh_from_db()
        assert scan.ai_status == AiStatus.CLASSIFIED


def test_the_api_says_not_recognised_and_why(doctor_client, uploaded):
    document, bscan = uploaded
    scan_body = doctor_client.get(f"/api/v1/scans/{document.uuid}/").json()
    assert scan_body["ai_status"] == "classified"
    [reading] = doctor_client.get(f"/api/v1/scans/{document.uuid}/predictions/").json()
    assert (reading["recognised"], reading["label"], reading["urgency"]) == (False, "", "unrecognised")
    assert reading["refusal_reason"] == Prediction.objects.get(scan=document).refusal_reason != ""
    assert reading["heatmap_url"] is None and reading["model"]["version"] == "tiny-test"
    [other] = doctor_client.get(f"/api/v1/scans/{bscan.uuid}/predictions/").json()
    assert (other["recognised"], other["refusal_reason"]) == (True, "") and other["label"] in CLASSES


def test_the_refused_scan_is_no_diagnosis_on_the_doctors_dashboard(doctor_client, uploaded):
    document, bscan = uploaded
    urgency = Prediction.objects.get(scan=bscan).urgency
    page = doctor_client.get(reverse("home")).content.decode()
    counts = {
        name: int(page.split(f"data-queue-{name}>")[1].split("<")[0])
        for name in ("total", "urgent", "routine", "observation", "deferred", "unrecognised")
    }
    assert counts == {
        "total": 2,
        "urgent": int(urgency == "urgent"),
        "routine": int(urgency == "routine"),
        "observation": int(urgency == "observation"),
        "deferred": 0,
        "unrecognised": 1,
    }
    [family] = list(predictions_by_label())
    outcomes = {(s.labels["label"], s.labels["outcome"]): s.value for s in family.samples}
    assert outcomes == {("", "unrecognised"): 1, (Prediction.objects.get(scan=bscan).label, "suggestion"): 1}
