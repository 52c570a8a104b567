"""Test helpers for the REST API: clients that authenticate like integrations do."""

from __future__ import annotations

from rest_framework.test import APIClient

from .services import api_token_create


def token_client(user, *, name: str = "test client") -> APIClient:
    """A client sending `Authorization: Bearer <token>` for a fresh token of ``user``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user, name=name).raw}")
    return client


def error_of(response) -> dict:
    """The body of the one error shape, asserting the shape on the way."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return body["error"]


PERSONAS = ("technician", "doctor", "clinic_admin", "no_role", "anonymous")


def persona_client(persona: str) -> APIClient:
    """A token client for one persona; ``no_role`` is a valid token of a user without any role."""
    from .factories import ClinicAdminFactory, DoctorFactory, TechnicianFactory, UserFactory

    factories = {
        "technician": TechnicianFactory,
        "doctor": DoctorFactory,
        "clinic_admin": ClinicAdminFactory,
        "no_role": UserFactory,
    }
    if persona == "anonymous":
        client = APIClient()
        client.user = None
        return client
    user = factories[persona]()
    client = token_client(user)
    client.user = user
    return client


def reach(client: APIClient, *patients) -> None:
    """Put the patients within the client's reach: doctors see only patients granted to them (their care
    teams, or a django-guardian object permission, which is what this gives); other roles see all anyway."""
    from guardian.shortcuts import assign_perm

    if getattr(client, "user", None) is None:
        return
    for patient in patients:
        assign_perm("patients.view_patient", client.user, patient)


def expected(persona: str, allowed: set[str], ok: int) -> int:
    """The status a persona gets: ``ok`` when its role may, 401 anonymous, 403 otherwise."""
    if persona == "anonymous":
        return 401
    return ok if persona in allowed else 403
