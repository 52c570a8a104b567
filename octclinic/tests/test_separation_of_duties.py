"""Issue #18 part 2: a clinic admin must not become a doctor.

Before, a clinic admin issued an API token for user `doctor` in the admin (it reached the doctor's review queue)
and could set the doctor's password: anything done with either was attributed to the doctor. Now only the user
issues their own tokens (a superuser may for someone else: audited, and the user is told), and clinic admins
deactivate, force a password reset and unlock, but never set a password. Tokens of a locked or deactivated user stop
working; sessions of a deactivated user end.
"""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from octclinic.api_testing import token_client
from octclinic.factories import TEST_PASSWORD
from octclinic.models import ApiToken
from octclinic.roles import DOCTOR
from octclinic.services import api_token_create

User = get_user_model()
PASSWORD_URL = "/admin/auth/user/{}/password/"


def _changelist_action(client, action: str, users) -> None:
    response = client.post(
        reverse("admin:auth_user_changelist"), {"action": action, "_selected_action": [u.pk for u in users]}
    )
    assert response.status_code == 302, response.content.decode()[:1500]


def _session(user) -> Client:
    client = Client()
    client.force_login(user, backend="octclinic.auth_backends.ModelBackend")
    return client


# --- Tokens ---------------------------------------------------------------------------------------------------


def test_a_clinic_admin_cannot_issue_a_token_for_a_doctor(clinic_admin_client, clinic_admin, doctor):
    page = clinic_admin_client.get("/admin/octclinic/apitoken/add/").content.decode()
    assert 'name="user"' not in page  # nobody to choose: the token is the clinic admin's own
    response = clinic_admin_client.post(
        "/admin/octclinic/apitoken/add/",
        {"user": doctor.pk, "name": "sneaky", "expires_at_0": "", "expires_at_1": ""},
    )
    assert response.status_code == 302
    assert not ApiToken.objects.filter(user=doctor).exists()
    assert ApiToken.objects.get(name="sneaky").user == clinic_admin


def test_the_service_refuses_a_token_for_someone_else(clinic_admin, doctor):
    with pytest.raises(PermissionDenied):
        api_token_create(user=doctor, name="x", issued_by=clinic_admin)
    assert api_token_create(user=doctor, name="own", issued_by=doctor).token.user == doctor


def test_a_superuser_may_issue_one_audited_and_the_user_is_told(db, doctor, django_capture_on_commit_callbacks):
    root = User.objects.create_superuser("root", "root@clinic.test", "a-long-test-password-1")
    client = Client()
    client.force_login(root)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/octclinic/apitoken/add/",
            {"user": doctor.pk, "name": "EHR bridge", "expires_at_0": "", "expires_at_1": ""},
        )
    assert response.status_code == 302
    token = ApiToken.objects.get(user=doctor)
    entry = LogEntry.objects.get_for_object(token).get(action=LogEntry.Action.CREATE)
    assert entry.actor == root
    assert "key_hash" not in (entry.changes or {})
    (message,) = mail.outbox
    assert message.to == [doctor.email] and token.prefix in message.body and "root" in message.body


# --- Passwords ------------------------------------------------------------------------------------------------


def test_a_clinic_admin_cannot_set_a_doctors_password(clinic_admin_client, doctor):
    assert clinic_admin_client.get(PASSWORD_URL.format(doctor.pk)).status_code == 403
    response = clinic_admin_client.post(
        PASSWORD_URL.format(doctor.pk),
        {"password1": "taken-over-by-admin-1", "password2": "taken-over-by-admin-1", "usable_password": "true"},
    )
    assert response.status_code == 403
    doctor.refresh_from_db()
    assert doctor.check_password(TEST_PASSWORD)


def test_the_change_form_has_no_password_link_and_the_email_is_fixed(clinic_admin_client, doctor):
    url = reverse("admin:auth_user_change", args=[doctor.pk])
    page = clinic_admin_client.get(url).content.decode()
    assert "../password/" not in page and 'name="email"' not in page
    original = doctor.email
    clinic_admin_client.post(
        url,
        {
            "username": doctor.username,
            "first_name": "x",
            "last_name": "y",
            "email": "clinic-admin@evil.test",
            "is_active": "on",
            "groups": [Group.objects.get(name=DOCTOR).pk],
        },
    )
    doctor.refresh_from_db()
    assert doctor.email == original


def test_new_staff_choose_their_own_password(clinic_admin_client):
    page = clinic_admin_client.get(reverse("admin:auth_user_add")).content.decode()
    assert 'name="password1"' not in page and 'name="usable_password"' not in page
    response = clinic_admin_client.post(
        reverse("admin:auth_user_add"),
        {"username": "newdoc", "first_name": "New", "last_name": "Doc", "email": "newdoc@clinic.test"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="newdoc")
    assert not user.has_usable_password()
    (message,) = mail.outbox
    assert message.to == ["newdoc@clinic.test"] and "/accounts/reset/" in message.body


def test_a_clinic_admin_cannot_give_themselves_the_doctor_role(clinic_admin_client, clinic_admin):
    roles_before = set(clinic_admin.groups.values_list("name", flat=True))
    url = reverse("admin:auth_user_change", args=[clinic_admin.pk])
    clinic_admin_client.post(
        url,
        {
            "username": clinic_admin.username,
            "first_name": "a",
            "last_name": "b",
            "is_active": "on",
            "groups": list(Group.objects.values_list("pk", flat=True)),
        },
    )
    clinic_admin.refresh_from_db()
    assert set(clinic_admin.groups.values_list("name", flat=True)) == roles_before
    assert DOCTOR not in roles_before


def test_a_forced_reset_ends_the_password_and_the_sessions_and_mails_a_link(clinic_admin_client, doctor):
    doctor_session = _session(doctor)
    assert doctor_session.get("/").status_code == 200
    _changelist_action(clinic_admin_client, "force_password_reset", [doctor])
    doctor.refresh_from_db()
    assert not doctor.has_usable_password()
    assert doctor_session.get("/").status_code == 302  # the session ended with the password
    (message,) = mail.outbox
    assert message.to == [doctor.email] and "/accounts/reset/" in message.body


# --- Locked and deactivated accounts ------------------------------------------------------------------------------


def test_deactivating_ends_sessions_and_tokens(clinic_admin_client, doctor):
    doctor_session = _session(doctor)
    api = token_client(doctor)
    assert api.get("/api/v1/reviews/queue/").status_code == 200
    _changelist_action(clinic_admin_client, "deactivate_selected", [doctor])
    doctor.refresh_from_db()
    assert not doctor.is_active
    response = doctor_session.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert api.get("/api/v1/reviews/queue/").status_code == 401


def test_a_locked_accounts_tokens_stop_until_it_is_unlocked(clinic_admin_client, doctor, settings):
    api = token_client(doctor)
    assert api.get("/api/v1/reviews/queue/").status_code == 200
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        guesser.post(reverse("login"), {"username": doctor.username, "password": "wrong-guess-123"})
    assert api.get("/api/v1/reviews/queue/").status_code == 401
    _changelist_action(clinic_admin_client, "unlock_selected", [doctor])
    assert api.get("/api/v1/reviews/queue/").status_code == 200


# --- Second factor ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["config", "qrcode"])
def test_nobody_reads_another_users_totp_secret_in_the_admin(doctor, page):
    """The secret (or its QR code) would let whoever sees it pass the doctor's second factor as the doctor."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=doctor, name="phone", confirmed=True)
    root = User.objects.create_superuser("root-2fa", "root@clinic.test", TEST_PASSWORD)
    client = _session(root)
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/{page}/").status_code == 403
    change = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    assert change.status_code == 200 and device.key not in change.content.decode()
    # A device that does not exist is no crash either.
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk + 999}/{page}/").status_code < 500
