"""Role → staff flag is one rule (issue #17, part 5): roles.user_staff_flag decides, and the user admin, the demo seed
and the factories all ask it."""

import pytest
from django.contrib.auth.models import Group

from octclinic.factories import DoctorFactory, TechnicianFactory, UserFactory
from octclinic.roles import DOCTOR, user_staff_flag_sync

pytestmark = pytest.mark.django_db


def test_the_flag_follows_the_roles():
    technician = TechnicianFactory()
    assert technician.is_staff is False and DoctorFactory().is_staff is True
    technician.groups.add(Group.objects.get(name=DOCTOR))
    assert user_staff_flag_sync(user=technician) is True
    technician.refresh_from_db()
    assert technician.is_staff is True
    technician.groups.remove(Group.objects.get(name=DOCTOR))
    user_staff_flag_sync(user=technician)
    technician.refresh_from_db()
    assert technician.is_staff is False
    assert user_staff_flag_sync(user=technician) is False  # nothing to change


def test_superusers_keep_the_admin_site():
    root = UserFactory(is_superuser=True, is_staff=True)
    assert user_staff_flag_sync(user=root) is False and root.is_staff


def test_the_user_admin_syncs_the_flag_on_a_role_change(client, clinic_admin):
    from django.urls import reverse

    technician = TechnicianFactory()
    client.force_login(clinic_admin)
    url = reverse("admin:auth_user_change", args=[technician.pk])
    data = {
        "username": technician.username,
        "first_name": technician.first_name,
        "last_name": technician.last_name,
        "email": technician.email,
        "is_active": "on",
        "groups": [Group.objects.get(name=DOCTOR).pk],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    technician.refresh_from_db()
    assert technician.is_staff is True
