"""/healthz says the process is alive; /readyz checks the database and the broker for real."""

import pytest
from kombu import Connection

from octclinic import health

pytestmark = pytest.mark.django_db


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_checks_database_and_broker(client):
    response = client.get("/readyz")
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert response.status_code == 200


def test_readyz_reports_an_unreachable_broker(client, monkeypatch):
    # A real connection attempt to a port where nothing listens.
    monkeypatch.setattr(health.celery_app, "connection_for_write", lambda: Connection("redis://127.0.0.1:1/0"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "checks": {"database": "ok", "broker": "error"}}
