"""django-axes: repeated failed logins lock the account (for that address) and are recorded."""

import pytest
from axes.models import AccessAttempt, AccessLog

from octclinic.factories import TEST_PASSWORD, TechnicianFactory

pytestmark = pytest.mark.django_db


def attempt(client, password, ip="10.0.0.5"):
    return client.post("/accounts/login/", {"username": "tina", "password": password}, REMOTE_ADDR=ip)


def test_lockout_after_repeated_failures(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    TechnicianFactory(username="tina")
    for _ in range(2):
        assert attempt(client, "wrong").status_code == 200
    locked = attempt(client, "wrong")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    # Even the right password is refused while locked, from that address...
    assert attempt(client, TEST_PASSWORD).status_code == 429
    # ...but the same user from another workstation is not locked out by someone else's guessing.
    assert attempt(client, TEST_PASSWORD, ip="10.0.0.9").status_code == 302


def test_failures_and_logins_are_recorded(client):
    TechnicianFactory(username="tina")
    attempt(client, "wrong")
    attempt(client, TEST_PASSWORD)
    assert AccessAttempt.objects.filter(username="tina").exists() or AccessLog.objects.filter(username="tina").exists()
    assert AccessLog.objects.filter(username="tina").count() == 1
