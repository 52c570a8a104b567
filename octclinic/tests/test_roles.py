"""The role groups exist after migrating, hold exactly the listed permissions, and shape the navigation."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from octclinic.roles import CLINIC_ADMIN, DOCTOR, ROLE_PERMISSIONS, ROLES, TECHNICIAN

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ROLES)
def test_each_role_group_holds_exactly_its_permissions(role):
    group = Group.objects.get(name=role)
    held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
    assert held == set(ROLE_PERMISSIONS[role])


def test_only_doctors_lack_booking_and_only_admins_archive():
    assert "scheduling.add_appointment" not in ROLE_PERMISSIONS[DOCTOR]
    assert "patients.archive_patient" in ROLE_PERMISSIONS[CLINIC_ADMIN]
    assert "patients.archive_patient" not in ROLE_PERMISSIONS[TECHNICIAN]


def nav_of(client) -> str:
    page = client.get(reverse("patients:list")).content.decode()
    return page[page.index("<nav>") : page.index("</nav>")]


def test_navigation_shows_only_what_the_role_may_do(technician_client, doctor_client, clinic_admin_client):
    technician_nav, doctor_nav, admin_nav = (
        nav_of(technician_client),
        nav_of(doctor_client),
        nav_of(clinic_admin_client),
    )
    assert "Schedule" in technician_nav and "Admin" not in technician_nav
    assert "Patients" in doctor_nav and "Review" in doctor_nav and "Schedule" in doctor_nav
    assert "Admin" in doctor_nav  # doctors approve readings in the admin's prediction list too
    assert "Admin" in admin_nav and "Review" not in admin_nav and "Review" not in technician_nav
    assert "Register patient" not in doctor_client.get(reverse("patients:list")).content.decode()


def test_user_without_role_is_told_so(client, django_user_model):
    user = django_user_model.objects.create_user("norole", password="x-very-long-password")
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert "Your account has no role yet" in response.content.decode()


def test_home_shows_each_role_its_dashboard(technician_client, doctor_client, clinic_admin_client):
    for client, dashboard in (
        (technician_client, "technician"),
        (doctor_client, "doctor"),
        (clinic_admin_client, "clinic_admin"),
    ):
        response = client.get(reverse("home"))
        assert response.status_code == 200
        assert f'data-dashboard="{dashboard}"' in response.content.decode()
