"""Issue #18 part 4: no endpoint answers 500 to the classes of input that used to crash some of them.

Every named URL pattern of the project (walked from the URL resolver, so a new page or API route is covered the
day it is added) gets each class: 1,100 query parameters, 2,000 urlencoded fields, 201 multipart files, JSON
nested 50,000 deep, and empty bodies. As a superuser (the widest reach: every check passes and the deepest code
runs), with a session for pages and a token for the API. Anything under 500 is an answer; a 500 is a bug.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.test.client import encode_multipart
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from mlcore.models import ModelVersion
from octclinic.services import api_token_create
from patients.factories import PatientFactory
from scans import files
from scans.models import Prediction
from scans.services import scan_upload
from scans.tests.builders import png_bytes
from scheduling.factories import AppointmentFactory, ResourceFactory

# Pages that end the session or run an interactive protocol: their refusals are tested elsewhere.
SKIPPED_NAMES = {"logout"}
BOUNDARY = "fuzzboundary"
BACKEND = "octclinic.auth_backends.ModelBackend"
ADMIN_CLASSES = ("GET, 1,100", "POST, 2,000", "POST, 201", "POST, empty urlencoded")


def _named_patterns(patterns=None, namespace: str = ""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named_patterns(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield namespace + pattern.name, list(pattern.pattern.regex.groupindex)


@pytest.fixture
def world(db):
    user = get_user_model().objects.create_superuser("fuzz-root", "root@clinic.test", "a-long-test-password-1")
    patient = PatientFactory()
    appointment = AppointmentFactory(patient=patient, resource=ResourceFactory())
    scan = scan_upload(
        patient=patient,
        eye="OD",
        acquired_on=dt.date(2026, 1, 5),
        file_name="b.png",
        data=png_bytes(seed=5),
        uploaded_by=user,
    )
    version = ModelVersion.objects.create(version="fuzz-v1", artifact_path="none.keras")
    heatmap = files.file_store(prefix=files.DERIVED, extension=".png", data=png_bytes(seed=6))
    prediction = Prediction.objects.create(
        scan=scan,
        model_version=version,
        probabilities={"CNV": 0.1, "DME": 0.1, "DRUSEN": 0.1, "NORMAL": 0.7},
        label="NORMAL",
        confidence=0.7,
        uncertainty=0.4,
        urgency="routine",
        heatmap=heatmap.name,
        heatmap_sha256=heatmap.sha256,
        model_ms=1.0,
        input_sha256=scan.sha256,
    )
    samples = {
        "uuid": str(scan.uuid),
        "kind": "preview",
        "eye": "OD",
        "fmt": "csv",
        "format": "json",
        "version": version.version,
        "number": "1",
        "prediction_pk": str(prediction.pk),
        "prediction_id": str(prediction.pk),
        "patient_pk": str(patient.pk),
        "app_label": "patients",
        "object_id": str(patient.pk),
        "content_type_id": "1",
        "uidb64": "MQ",
        "token": "set-password",
    }
    ids = {"pk": str(patient.pk), "id": str(patient.pk)}
    return {"user": user, "samples": samples, "ids": ids, "appointment": appointment}


def _urls(world) -> list[str]:
    urls, unreversed = [], []
    for name, groups in _named_patterns():
        if name.rsplit(":", 1)[-1] in SKIPPED_NAMES:
            continue
        kwargs = {group: world["samples"].get(group, world["ids"].get(group, "1")) for group in groups}
        try:
            urls.append(reverse(name, kwargs=kwargs))
        except NoReverseMatch:
            unreversed.append(name)
    assert len(urls) > 100 and len(unreversed) < len(urls) / 10, unreversed
    return sorted(set(urls)) + ["/api/not-an-endpoint/"]


def _client(world) -> Client:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=world['user'], name='fuzz').raw}")
    client.force_login(world["user"], backend=BACKEND)
    return client


def _nested_json(depth: int = 50_000) -> str:
    return '{"a": ' + "[" * depth + "]" * depth + "}"


def _requests():
    many_files = encode_multipart(
        BOUNDARY, {"files": [_named_file(i) for i in range(201)], "patient": "1", "eye": "OD"}
    )
    return [
        ("GET, 1,100 query parameters", "get", {"QUERY_STRING": "&".join(f"p{i}=1" for i in range(1100))}, None, None),
        ("POST, 2,000 urlencoded fields", "post", {}, "&".join(f"f{i}=x" for i in range(2000)), "form"),
        ("POST, 201 files", "post", {}, many_files, f"multipart/form-data; boundary={BOUNDARY}"),
        ("POST, JSON nested 50,000 deep", "post", {}, _nested_json(), "application/json"),
        ("POST, empty urlencoded body", "post", {}, "", "form"),
        ("POST, empty JSON body", "post", {}, "", "application/json"),
        ("POST, empty multipart body", "post", {}, "", f"multipart/form-data; boundary={BOUNDARY}"),
        ("PATCH, JSON nested 50,000 deep", "patch", {}, _nested_json(), "application/json"),
    ]


def _named_file(i: int):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(f"f{i}.png", b"x", content_type="image/png")


def test_no_endpoint_answers_500_to_oversized_nested_or_empty_input(world, settings):
    settings.API_THROTTLE_RATE = ""
    client = _client(world)
    client.raise_request_exception = False  # a crash must show up as its 500, to be listed below
    failures = []
    requests = _requests()
    for url in _urls(world):
        for label, method, extra, body, content_type in requests:
            if url.startswith("/admin/") and not label.startswith(ADMIN_CLASSES):
                continue  # the admin's pages are generic and never read JSON: the parsing classes suffice there
            if method == "patch" and not url.startswith("/api/"):
                continue
            content_type = "application/x-www-form-urlencoded" if content_type == "form" else content_type
            kwargs = dict(extra)
            if body is not None:
                kwargs.update(data=body, content_type=content_type)
            response = getattr(client, method)(url, **kwargs)
            if response.status_code >= 500:
                failures.append(f"{label} {url} -> {response.status_code}")
            if "/accounts/login/" in response.get("Location", ""):
                client.force_login(world["user"], backend=BACKEND)  # a page that ended the session
    assert not failures, "\n".join(failures)
