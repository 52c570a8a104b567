"""Schemathesis against /api/schema/: no server error and no response outside the schema, on every
operation, as a clinic admin with a real token (CI runs this with the rest of the suite)."""

from __future__ import annotations

import datetime as dt

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from mlcore.models import ModelVersion
from octclinic.factories import ClinicAdminFactory
from octclinic.services import api_token_create
from octclinic.wsgi import application
from patients.factories import PatientFactory
from scans import files
from scans.models import Prediction
from scans.services import scan_upload
from scans.tests.builders import png_bytes
from scheduling.factories import AppointmentFactory, ResourceFactory

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@pytest.fixture
def in_process_requests():
    """Let WSGI requests share the test's transaction, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(db, in_process_requests, settings):
    settings.API_THROTTLE_RATE = ""
    admin = ClinicAdminFactory()
    patients = PatientFactory.create_batch(3)
    resource = ResourceFactory()
    for patient in patients:
        AppointmentFactory(patient=patient, resource=resource)
    scan = scan_upload(
        patient=patients[0],
        eye="OD",
        acquired_on=dt.date(2026, 1, 5),
        file_name="b-scan.png",
        data=png_bytes(seed=7),
        uploaded_by=admin,
    )
    version = ModelVersion.objects.create(version="schemathesis-v1", artifact_path="none.keras")
    heatmap = files.file_store(prefix=files.DERIVED, extension=".png", data=png_bytes(seed=8))
    Prediction.objects.create(
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
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    schema.token = api_token_create(user=admin, name="schemathesis").raw
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=20,
    derandomize=True,  # the same examples every run: CI is reproducible, a failure can be replayed
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_schema(case, api_schema):
    case.call_and_validate(headers={"Authorization": f"Bearer {api_schema.token}"}, checks=CHECKS)
