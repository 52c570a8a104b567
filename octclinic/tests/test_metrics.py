"""/metrics: Prometheus text with request metrics and clinic figures; a bearer token when configured."""

import pytest
from django.utils import timezone

from scheduling.factories import AppointmentFactory

pytestmark = pytest.mark.django_db


def test_metrics_expose_requests_and_clinic_figures(client, technician_client):
    technician_client.get("/patients/")
    AppointmentFactory(start=timezone.now(), end=timezone.now() + timezone.timedelta(minutes=20))
    response = client.get("/metrics")
    body = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert "django_http_requests_total_by_method_total" in body
    assert "octclinic_classification_latency_seconds_bucket" in body
    assert 'octclinic_appointments_today{status="scheduled"} 1.0' in body
    assert "octclinic_scans" in body


def test_metrics_need_the_token_when_set(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


def test_metrics_closed_in_production_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    settings.PRODUCTION = True
    assert client.get("/metrics").status_code == 401
