"""API tokens: issued once by command or admin, stored as a hash, used → last_used_at, revoked → 401."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from octclinic.api_testing import error_of
from octclinic.factories import TechnicianFactory
from octclinic.models import ApiToken
from octclinic.services import api_token_create, api_token_hash, api_token_revoke


def _bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_command_prints_the_token_as_its_last_line_and_stores_only_a_hash(db):
    user = TechnicianFactory(username="ehr-bridge")
    out = StringIO()
    call_command("create_api_token", "ehr-bridge", "--name", "EHR bridge", stdout=out, stderr=StringIO())
    raw = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get()
    assert token.user == user and token.name == "EHR bridge"
    assert token.key_hash == api_token_hash(raw)
    assert raw not in {token.key_hash, token.prefix, token.name}
    assert raw.startswith(token.prefix)
    assert _bearer(raw).get("/api/v1/patients/").status_code == 200


def test_command_refuses_unknown_users_clearly(db):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("create_api_token", "nobody", stdout=StringIO(), stderr=StringIO())


def test_use_updates_last_used_at(db):
    issued = api_token_create(user=TechnicianFactory())
    assert issued.token.last_used_at is None
    assert _bearer(issued.raw).get("/api/v1/patients/").status_code == 200
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None
    assert timezone.now() - issued.token.last_used_at < dt.timedelta(minutes=1)


def test_revoked_expired_unknown_and_deactivated_tokens_get_401(db):
    user = TechnicianFactory()
    revoked = api_token_create(user=user)
    api_token_revoke(token=revoked.token)
    expired = api_token_create(user=user, expires_at=timezone.now() - dt.timedelta(seconds=1))
    for raw in (revoked.raw, expired.raw, "oct_not-a-real-token", "something-else"):
        response = _bearer(raw).get("/api/v1/patients/")
        assert response.status_code == 401, raw
        assert error_of(response)["code"] == "authentication_failed"
        assert response["WWW-Authenticate"].startswith("Bearer")
    live = api_token_create(user=user)
    assert _bearer(live.raw).get("/api/v1/patients/").status_code == 200
    user.is_active = False
    user.save()
    assert _bearer(live.raw).get("/api/v1/patients/").status_code == 401


def test_no_credentials_is_401_and_a_malformed_header_too(db):
    response = APIClient().get("/api/v1/patients/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer two words")
    assert client.get("/api/v1/patients/").status_code == 401


def test_the_token_acts_with_its_users_role(db):
    from octclinic.factories import DoctorFactory

    doctor_token = api_token_create(user=DoctorFactory())
    response = _bearer(doctor_token.raw).post("/api/v1/patients/", {}, format="json")
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"


def test_session_authentication_works_for_the_browser(technician_client):
    assert technician_client.get("/api/v1/patients/").status_code == 200
