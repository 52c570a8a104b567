"""Clinic admins issue and revoke API tokens in the admin; the secret appears once, only a hash stays."""

from __future__ import annotations

from django.contrib.messages import get_messages

from octclinic.factories import TechnicianFactory
from octclinic.models import ApiToken
from octclinic.services import api_token_create, api_token_hash


def test_clinic_admin_issues_a_token_shown_once(clinic_admin_client, clinic_admin):
    # Their own: a token for someone else would let them act as that person (test_separation_of_duties).
    response = clinic_admin_client.post(
        "/admin/octclinic/apitoken/add/",
        {"name": "PACS bridge", "expires_at_0": "", "expires_at_1": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    token = ApiToken.objects.get()
    (message,) = [m.message for m in get_messages(response.wsgi_request) if "not shown again" in m.message]
    raw = message.rsplit(" ", 1)[-1]
    assert token.key_hash == api_token_hash(raw)
    assert token.user == clinic_admin and token.name == "PACS bridge"


def test_clinic_admin_revokes_tokens(clinic_admin_client):
    issued = api_token_create(user=TechnicianFactory())
    response = clinic_admin_client.post(
        "/admin/octclinic/apitoken/", {"action": "revoke_selected", "_selected_action": [issued.token.pk]}
    )
    assert response.status_code == 302
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
