"""An upload cut off by a database outage must not leave its Idempotency-Key "in progress" for ever.

The soak test found it (docs/operations.md, Soak): the claim is committed before the work, and when the database
goes away during the work, releasing the claim fails too, so every retry with the key was a 409 and the client never
learned its outcome. A claim with no answer after ``IDEMPOTENCY_CLAIM_SECONDS`` is taken over by the next retry.
"""

from __future__ import annotations

import datetime as dt
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError

from octclinic.api_testing import error_of, persona_client, reach
from octclinic.models import IdempotencyRecord
from scans import api as scans_api
from scans.models import Scan
from scans.tests.builders import png_bytes

HEADERS = {"Idempotency-Key": "cut-off-0001"}


def _upload(client, patient):
    data = {
        "patient": patient.pk,
        "eye": "OD",
        "acquired_on": "2026-01-05",
        "files": [SimpleUploadedFile("b.png", png_bytes(seed=4), content_type="image/png")],
    }
    return client.post("/api/v1/scans/", data, format="multipart", headers=HEADERS)


def test_a_retry_takes_over_the_claim_of_an_upload_cut_off_by_an_outage(patient, settings):
    settings.IDEMPOTENCY_CLAIM_SECONDS = 120
    client = persona_client("technician")
    reach(client, patient)
    gone = OperationalError("server closed the connection unexpectedly")
    with (
        mock.patch.object(scans_api, "scans_upload_batch", side_effect=gone),
        mock.patch.object(IdempotencyRecord, "delete", side_effect=gone),  # the release fails as well
    ):
        client.raise_request_exception = False
        cut_off = _upload(client, patient)
    assert cut_off.status_code == 503
    claim = IdempotencyRecord.objects.get(key=HEADERS["Idempotency-Key"])
    assert claim.response_status is None and not Scan.objects.exists()

    # While the first attempt might still be running, a retry is told to wait: the work is never done twice.
    soon = _upload(client, patient)
    assert soon.status_code == 409 and error_of(soon)["code"] == "in_progress"

    # Once no request can still be running it, the next retry redoes the work and gets the answer.
    IdempotencyRecord.objects.filter(pk=claim.pk).update(created_at=claim.created_at - dt.timedelta(seconds=121))
    later = _upload(client, patient)
    assert later.status_code == 201, later.json()
    assert later.json()["results"][0]["status"] == "stored"
    assert Scan.objects.count() == 1
    replay = _upload(client, patient)
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert Scan.objects.count() == 1
