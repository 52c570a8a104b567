"""Login, logout and password change under /accounts/, and the friendly 403 page."""

import pytest
from django.urls import reverse

from octclinic.factories import TEST_PASSWORD, TechnicianFactory

pytestmark = pytest.mark.django_db


def test_login_page_and_login(client):
    TechnicianFactory(username="tina")
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and 'name="password"' in page.content.decode()
    response = client.post("/accounts/login/", {"username": "tina", "password": TEST_PASSWORD})
    assert response.status_code == 302 and response.url == reverse("home")


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client):
    TechnicianFactory(username="tina")
    response = client.post("/accounts/login/", {"username": "tina", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_logout_is_a_post(technician_client):
    response = technician_client.post("/accounts/logout/")
    assert response.status_code == 302
    assert technician_client.get(reverse("patients:list")).status_code == 302


def test_password_change_enforces_the_password_rules(technician_client):
    url = "/accounts/password_change/"
    assert technician_client.get(url).status_code == 200
    response = technician_client.post(
        url, {"old_password": TEST_PASSWORD, "new_password1": "short", "new_password2": "short"}
    )
    assert "at least 12 characters" in response.content.decode()
    response = technician_client.post(
        url,
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "a-much-longer-pass-2026",
            "new_password2": "a-much-longer-pass-2026",
        },
    )
    assert response.status_code == 302


def test_forbidden_page_is_friendly(doctor_client):
    response = doctor_client.get(reverse("patients:create"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "You don't have access to this page" in page and "Back to my start page" in page


def test_not_found_page_reveals_nothing(technician_client):
    response = technician_client.get(reverse("patients:detail", args=[999999]))
    assert response.status_code == 404
    assert "doesn't exist, or isn't available to you" in response.content.decode()
