"""Files go out only through the permission-checked, checksum-verifying view."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from octclinic.factories import UserFactory
from patients.factories import CareTeamFactory
from scans.factories import ScanFactory


def _url(scan, kind="original"):
    return reverse("scans:file", kwargs={"uuid": scan.uuid, "kind": kind})


@pytest.fixture
def scan(db, doctor):
    return ScanFactory(patient__care_team=CareTeamFactory(members=[doctor]))


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(anonymous_client, scan):
    for url in (_url(scan), _url(scan, "thumbnail"), reverse("scans:detail", kwargs={"uuid": scan.uuid})):
        response = anonymous_client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_user_without_scan_permission_gets_403(scan):
    client = Client()
    client.force_login(UserFactory())  # an account with no role
    assert client.get(_url(scan)).status_code == 403
    assert client.get(_url(scan, "preview")).status_code == 403
    assert client.get(reverse("scans:detail", kwargs={"uuid": scan.uuid})).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["technician_client", "doctor_client", "clinic_admin_client"])
def test_roles_that_may_view_get_the_file_privately(request, persona, scan):
    client = request.getfixturevalue(persona)
    response = client.get(_url(scan))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Type"] == "image/png"
    assert f"scan-{scan.pk}-original.png" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == scan.original.open("rb").read()


@pytest.mark.django_db
def test_tampered_file_is_not_served(technician_client, scan):
    with default_storage.open(scan.original.name, "rb") as handle:
        data = bytearray(handle.read())
    data[-10] ^= 0xFF
    default_storage.delete(scan.original.name)
    path = default_storage.path(scan.original.name)
    with open(path, "wb") as handle:
        handle.write(bytes(data))
    response = technician_client.get(_url(scan))
    assert response.status_code == 500
    assert b"integrity check" in response.content
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.django_db
def test_unknown_kind_and_unknown_scan_are_404(technician_client, scan):
    assert technician_client.get(_url(scan, "secret")).status_code == 404
    assert (
        technician_client.get(
            reverse("scans:detail", kwargs={"uuid": "00000000-0000-0000-0000-000000000000"})
        ).status_code
        == 404
    )


@pytest.mark.django_db
def test_viewing_a_scan_is_audited(technician_client, scan):
    from auditlog.models import LogEntry

    technician_client.get(reverse("scans:detail", kwargs={"uuid": scan.uuid}))
    assert LogEntry.objects.filter(action=LogEntry.Action.ACCESS, object_pk=str(scan.pk)).exists()


@pytest.mark.django_db
def test_stored_file_has_no_public_url(settings, technician_client, scan):
    """Even logged in, the storage path is not reachable by URL; only the checked view serves it."""
    media_url = settings.MEDIA_URL or "/media/"
    response = technician_client.get(f"{media_url.rstrip('/')}/{scan.original.name}")
    assert response.status_code == 404
