"""Issue #19 part 3: a first page load asked for /favicon.ico and got a 404; every page now names a vendored
icon and /favicon.ico leads to it."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static

pytestmark = pytest.mark.django_db


def test_favicon_ico_redirects_to_the_vendored_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == static("img/favicon.ico")
    assert "max-age=86400" in response["Cache-Control"]
    # The file behind the redirect is a real icon (the ICO header: reserved 0, type 1), vendored with the app.
    path = finders.find("img/favicon.ico")
    assert path is not None
    with open(path, "rb") as icon:
        assert icon.read(4) == b"\x00\x00\x01\x00"


def test_every_page_names_the_icon(client):
    html = client.get("/accounts/login/").content.decode()
    icons = re.findall(r'<link rel="icon" href="([^"]+)"', html)
    assert static("img/favicon.ico") in icons and static("img/favicon.svg") in icons
    svg = finders.find("img/favicon.svg")
    assert svg is not None
    with open(svg) as f:
        assert f.read().lstrip().startswith("<svg")


def test_technician_logged_in_gets_the_icon_too(technician_client):
    response = technician_client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("favicon.ico")


def test_a_user_still_to_enrol_a_second_factor_gets_the_icon_not_the_enrolment_page(doctor_client, settings):
    settings.OTP_REQUIRED_FOR_ROLES = ["Doctor"]
    assert doctor_client.get("/patients/").status_code == 302  # other pages send them to enrol
    response = doctor_client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == static("img/favicon.ico")
