"""Scans over the REST API: multipart upload through the web's intake (DICOM included), the
Idempotency-Key, list/read/download by role, readings with heatmaps, and out-of-reach 404s."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mlcore.models import ModelVersion
from octclinic.api_testing import PERSONAS, error_of, expected, persona_client, reach
from scans import files
from scans.models import Prediction, Scan
from scans.tests.ai_helpers import uploaded_scan
from scans.tests.builders import png_bytes, secondary_capture_bytes
from scans.tests.conftest import stored_files
from scheduling.factories import AppointmentFactory

UPLOADERS = {"technician", "clinic_admin"}
VIEWERS = {"technician", "doctor", "clinic_admin"}


def _png(name="b-scan.png", seed=1):
    return SimpleUploadedFile(name, png_bytes(seed=seed), content_type="image/png")


def _upload(client, for_patient, files_, headers=None, **fields):
    data = {"patient": for_patient.pk, "eye": "OD", "acquired_on": "2026-01-05", "files": files_, **fields}
    return client.post("/api/v1/scans/", data, format="multipart", headers=headers or {})


@pytest.mark.parametrize("persona", PERSONAS)
def test_upload_by_role(patient, persona):
    client = persona_client(persona)
    reach(client, patient)
    response = _upload(client, patient, [_png()])
    assert response.status_code == expected(persona, UPLOADERS, 201)
    assert Scan.objects.count() == (1 if response.status_code == 201 else 0)
    if response.status_code == 201:
        (result,) = response.json()["results"]
        assert result["status"] == "stored"
        assert result["scan"]["ai_status"] == "queued"
        assert set(result["scan"]["files"]) == {"original", "preview", "thumbnail"}


def test_several_files_each_get_their_outcome(patient, media_root):
    client = persona_client("technician")
    empty = SimpleUploadedFile("empty.png", b"", content_type="image/png")
    text = SimpleUploadedFile("notes.txt", b"not an image", content_type="text/plain")
    response = _upload(client, patient, [_png(), empty, text])
    assert response.status_code == 201
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["stored", "refused", "refused"]
    assert results[1]["message"].startswith("empty.png: ")
    assert results[2]["message"].startswith("notes.txt: ")
    assert Scan.objects.count() == 1


def test_nothing_stored_is_a_400_naming_each_file(patient, media_root):
    response = _upload(persona_client("technician"), patient, [SimpleUploadedFile("x.png", b"garbage")])
    assert response.status_code == 400
    error = error_of(response)
    assert error["fields"]["files"][0].startswith("x.png: ")
    assert not Scan.objects.exists()
    assert stored_files(media_root) == []


def test_duplicate_is_a_409(patient):
    client = persona_client("technician")
    assert _upload(client, patient, [_png()]).status_code == 201
    again = _upload(client, patient, [_png()])
    assert again.status_code == 409
    assert error_of(again)["code"] == "duplicate"
    assert Scan.objects.count() == 1


def test_metadata_is_validated_like_the_web_form(patient):
    client = persona_client("technician")
    other_appointment = AppointmentFactory()
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    cases = {
        "acquired_on": {"acquired_on": future},
        "eye": {"eye": "XX"},
        "appointment": {"appointment": other_appointment.pk},
        "patient": {"patient": 999999},
    }
    for field, override in cases.items():
        response = _upload(client, patient, [_png()], **override)
        assert response.status_code == 400, field
        assert field in error_of(response)["fields"], field
    no_files = client.post(
        "/api/v1/scans/", {"patient": patient.pk, "eye": "OD", "acquired_on": "2026-01-05"}, format="multipart"
    )
    assert no_files.status_code == 400
    assert "files" in error_of(no_files)["fields"]
    assert not Scan.objects.exists()


def test_dicom_upload_and_deidentified_download(patient):
    client = persona_client("technician")
    dicom = SimpleUploadedFile("study.dcm", secondary_capture_bytes(), content_type="application/dicom")
    response = _upload(client, patient, [dicom])
    assert response.status_code == 201
    scan = response.json()["results"][0]["scan"]
    assert scan["file_format"] == "dicom"
    download = client.get(scan["files"]["deidentified"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/dicom"
    body = b"".join(download.streaming_content)
    assert b"Mustermann" not in body  # the de-identified copy carries no name


def test_real_spectralis_dicom_from_shared(patient, spectralis_path):
    client = persona_client("technician")
    dicom = SimpleUploadedFile("spectralis.dcm", spectralis_path.read_bytes(), content_type="application/dicom")
    response = _upload(client, patient, [dicom], confirm_identity_mismatch="true")
    assert response.status_code == 201, response.json()
    assert response.json()["results"][0]["scan"]["file_format"] == "dicom"


def test_idempotency_key_never_makes_a_second_scan(patient):
    client = persona_client("technician")
    headers = {"Idempotency-Key": "upload-0001"}
    first = _upload(client, patient, [_png()], headers=headers)
    retry = _upload(client, patient, [_png()], headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Scan.objects.count() == 1

    reused = _upload(client, patient, [_png(seed=2)], headers=headers)
    assert reused.status_code == 422
    assert error_of(reused)["code"] == "key_reused"
    assert Scan.objects.count() == 1

    # Keys belong to their client: another user's identical key is a request of its own.
    other = persona_client("clinic_admin")
    assert _upload(other, patient, [_png(seed=3)], headers=headers).status_code == 201
    assert Scan.objects.count() == 2


def test_a_failed_request_releases_its_key(patient):
    client = persona_client("technician")
    headers = {"Idempotency-Key": "upload-0002"}
    refused = _upload(client, patient, [_png()], headers=headers, acquired_on="2999-01-01")
    assert refused.status_code == 400  # refused before any work: the key stays free
    assert _upload(client, patient, [_png()], headers=headers).status_code == 201


@pytest.mark.parametrize("persona", PERSONAS)
def test_read_and_download_by_role(patient, persona):
    scan = uploaded_scan(patient)
    client = persona_client(persona)
    reach(client, patient)
    ok = expected(persona, VIEWERS, 200)
    listed = client.get("/api/v1/scans/")
    assert listed.status_code == ok
    if ok == 200:
        assert [row["uuid"] for row in listed.json()["results"]] == [str(scan.uuid)]
    assert client.get(f"/api/v1/scans/{scan.uuid}/").status_code == ok
    download = client.get(f"/api/v1/scans/{scan.uuid}/files/original/")
    assert download.status_code == ok
    if ok == 200:
        assert b"".join(download.streaming_content) == files.file_read_verified(scan.original.name, scan.sha256)
        assert download["Cache-Control"] == "private, no-store"


def test_scan_out_of_reach_is_404_for_its_files_too(patient):
    scan = uploaded_scan(patient)
    client = persona_client("doctor")  # not in the patient's care team, no grant
    assert client.get("/api/v1/scans/").json()["results"] == []
    for url in (
        f"/api/v1/scans/{scan.uuid}/",
        f"/api/v1/scans/{scan.uuid}/files/original/",
        f"/api/v1/scans/{scan.uuid}/predictions/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert error_of(response)["code"] == "not_found"
    technician = persona_client("technician")
    assert technician.get(f"/api/v1/scans/{scan.uuid}/files/nonsense/").status_code == 404
    assert technician.get("/api/v1/scans/00000000-0000-0000-0000-000000000000/").status_code == 404


def _prediction(scan) -> Prediction:
    version = ModelVersion.objects.create(version="api-test-v1", artifact_path="none.keras")
    heatmap = files.file_store(prefix=files.DERIVED, extension=".png", data=png_bytes(seed=9))
    return Prediction.objects.create(
        scan=scan,
        model_version=version,
        probabilities={"CNV": 0.05, "DME": 0.05, "DRUSEN": 0.1, "NORMAL": 0.8},
        label="NORMAL",
        confidence=0.8,
        uncertainty=0.3,
        urgency="routine",
        heatmap=heatmap.name,
        heatmap_sha256=heatmap.sha256,
        model_ms=2.0,
        input_sha256=scan.sha256,
    )


def test_predictions_with_heatmap(patient):
    scan = uploaded_scan(patient)
    prediction = _prediction(scan)
    client = persona_client("doctor")
    reach(client, patient)
    (reading,) = client.get(f"/api/v1/scans/{scan.uuid}/predictions/").json()
    assert reading["label"] == "NORMAL"
    assert reading["model_version"] == "api-test-v1"
    assert reading["probabilities"]["NORMAL"] == 0.8
    heatmap = client.get(reading["heatmap_url"])
    assert heatmap.status_code == 200
    assert heatmap["Content-Type"] == "image/png"
    missing = client.get(f"/api/v1/scans/{scan.uuid}/predictions/{prediction.pk + 1}/heatmap/")
    assert missing.status_code == 404


def test_list_query_count_does_not_grow_with_rows(patient):
    client = persona_client("technician")
    uploaded_scan(patient, seed=1)
    client.get("/api/v1/scans/")  # first use writes the token's last_used_at
    with CaptureQueriesContext(connection) as few:
        assert client.get("/api/v1/scans/").status_code == 200
    for seed in range(2, 8):
        uploaded_scan(patient, seed=seed)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/api/v1/scans/").status_code == 200
    assert len(many) == len(few)


@pytest.mark.parametrize("persona", PERSONAS)
def test_visit_report_pdf_by_role(patient, persona):
    scan = uploaded_scan(patient)
    _prediction(scan)
    client = persona_client(persona)
    reach(client, patient)
    response = client.get(f"/api/v1/scans/{scan.uuid}/report/")
    assert response.status_code == expected(persona, VIEWERS, 200)
    if response.status_code == 200:
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        assert response["Cache-Control"] == "private, no-store"
        assert patient.last_name not in response["Content-Disposition"]


def test_visit_report_out_of_reach_is_404(patient):
    scan = uploaded_scan(patient)
    response = persona_client("doctor").get(f"/api/v1/scans/{scan.uuid}/report/")
    assert response.status_code == 404
