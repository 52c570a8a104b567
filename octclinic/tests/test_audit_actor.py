"""Audit entries name the innermost actor and where the request came from; leaving a context restores the
outer one; outside any context entries have no actor; and a request no longer (dis)connects a signal."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import AnonymousUser
from django.db.models.signals import pre_save

from octclinic.audit_actor import audit_actor
from octclinic.factories import DoctorFactory, TechnicianFactory
from patients.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _latest_change():
    return LogEntry.objects.order_by("-pk").first()


def test_innermost_actor_wins_and_unwinds():
    outer, inner = TechnicianFactory(), DoctorFactory()
    with audit_actor(outer, remote_addr="10.0.0.1"):
        PatientFactory()
        assert (_latest_change().actor, _latest_change().remote_addr) == (outer, "10.0.0.1")
        with audit_actor(inner, remote_addr="10.0.0.2", remote_port=4242):
            PatientFactory()
            entry = _latest_change()
            assert (entry.actor, entry.remote_addr, entry.remote_port) == (inner, "10.0.0.2", 4242)
            assert entry.actor_email == inner.email
        PatientFactory()
        assert _latest_change().actor == outer
    PatientFactory()
    assert _latest_change().actor is None


def test_an_anonymous_request_records_the_address_only():
    with audit_actor(AnonymousUser(), remote_addr="10.0.0.3"):
        PatientFactory()
    entry = _latest_change()
    assert entry.actor is None and entry.remote_addr == "10.0.0.3"


def test_requests_leave_the_signal_registry_alone(technician_client, monkeypatch):
    connected = []
    monkeypatch.setattr(pre_save, "connect", lambda *args, **kwargs: connected.append(kwargs))
    monkeypatch.setattr(pre_save, "disconnect", lambda *args, **kwargs: connected.append(kwargs))
    assert technician_client.get("/").status_code == 200
    assert connected == []
