"""TOTP second factor: optional for all, compulsory for the roles a setting lists."""

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_not_required_by_default(doctor_client):
    assert doctor_client.get(reverse("patients:list")).status_code == 200


def test_required_role_is_sent_to_enrol_then_verified(doctor_client, doctor, settings):
    settings.OTP_REQUIRED_FOR_ROLES = ["Doctor"]
    response = doctor_client.get(reverse("patients:list"))
    assert response.status_code == 302 and response.url.startswith(reverse("two_factor_setup"))
    page = doctor_client.get(response.url)
    assert "Scan this code" in page.content.decode() and "data:image/svg+xml" in page.content.decode()
    device = TOTPDevice.objects.get(user=doctor, confirmed=False)
    wrong = doctor_client.post(
        reverse("two_factor_setup"), {"otp_token": "000000" if code_for(device) != "000000" else "111111"}
    )
    assert "didn&#x27;t match" in wrong.content.decode()
    # django-otp throttles after a failure; a person would wait a second, the test resets the throttle.
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    ok = doctor_client.post(reverse("two_factor_setup"), {"otp_token": code_for(device), "next": "/patients/"})
    assert ok.status_code == 302 and ok.url == "/patients/"
    assert TOTPDevice.objects.get(user=doctor).confirmed
    assert doctor_client.get(reverse("patients:list")).status_code == 200


def test_enrolled_user_must_enter_a_code_after_login(client, settings):
    from octclinic.factories import TEST_PASSWORD, DoctorFactory

    settings.OTP_REQUIRED_FOR_ROLES = ["Doctor"]
    doctor = DoctorFactory(username="dora")
    device = TOTPDevice.objects.create(user=doctor, name="phone", confirmed=True)
    client.post("/accounts/login/", {"username": "dora", "password": TEST_PASSWORD})
    response = client.get(reverse("patients:list"))
    assert response.url.startswith(reverse("two_factor_verify"))
    assert client.post(reverse("two_factor_verify"), {"otp_token": "12ab"}).status_code == 200
    verified = client.post(reverse("two_factor_verify"), {"otp_token": code_for(device), "next": "/patients/"})
    assert verified.status_code == 302
    assert client.get(reverse("patients:list")).status_code == 200


def test_other_roles_are_not_forced(technician_client, settings):
    settings.OTP_REQUIRED_FOR_ROLES = ["Doctor"]
    assert technician_client.get(reverse("patients:list")).status_code == 200
