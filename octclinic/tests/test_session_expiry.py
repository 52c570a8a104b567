"""Idle and absolute session expiry; sessions end when the account is deactivated or the password changes."""

import time

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse

from octclinic.factories import TEST_PASSWORD, TechnicianFactory
from octclinic.sessions import SESSION_KEY

pytestmark = pytest.mark.django_db


def logged_in_client(username="tina") -> Client:
    client = Client()
    assert client.post("/accounts/login/", {"username": username, "password": TEST_PASSWORD}).status_code == 302
    return client


def test_idle_timeout_is_the_session_age_and_slides(settings):
    TechnicianFactory(username="tina")
    client = logged_in_client()
    assert settings.SESSION_SAVE_EVERY_REQUEST
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert SessionStore(session_key=key).get_expiry_age() == settings.SESSION_IDLE_SECONDS


def test_absolute_limit_logs_out_even_an_active_session(settings):
    TechnicianFactory(username="tina")
    client = logged_in_client()
    assert client.get(reverse("patients:list")).status_code == 200
    session = client.session
    session[SESSION_KEY] = int(time.time()) - settings.SESSION_ABSOLUTE_SECONDS - 1
    session.save()
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert client.get(reverse("patients:list")).status_code == 302


def test_deactivated_account_loses_its_session():
    user = TechnicianFactory(username="tina")
    client = logged_in_client()
    user.is_active = False
    user.save()
    assert client.get(reverse("patients:list")).status_code == 302


def test_password_change_ends_other_sessions():
    user = TechnicianFactory(username="tina")
    other_workstation = logged_in_client()
    this_one = logged_in_client()
    response = this_one.post(
        "/accounts/password_change/",
        {"old_password": TEST_PASSWORD, "new_password1": "new-long-pass-2026!", "new_password2": "new-long-pass-2026!"},
    )
    assert response.status_code == 302
    assert this_one.get(reverse("patients:list")).status_code == 200  # kept on the device that changed it
    assert other_workstation.get(reverse("patients:list")).status_code == 302
    user.refresh_from_db()
    assert user.check_password("new-long-pass-2026!")
