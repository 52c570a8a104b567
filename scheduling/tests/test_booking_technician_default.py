"""The booking form offers only active technicians and starts with the booking user when they are one."""

import pytest
from django.urls import reverse

from octclinic.factories import TechnicianFactory

pytestmark = pytest.mark.django_db


def booking_form(client):
    return client.get(reverse("scheduling:appointment_create")).context["form"]


def test_a_technician_books_for_themselves_by_default(technician_client, technician):
    assert booking_form(technician_client)["technician"].value() == technician.pk


def test_a_clinic_admin_starts_with_no_technician(clinic_admin_client):
    assert booking_form(clinic_admin_client)["technician"].value() is None


def test_only_active_technicians_are_offered(clinic_admin_client, doctor):
    active = TechnicianFactory()
    TechnicianFactory(is_active=False)
    offered = list(booking_form(clinic_admin_client).fields["technician"].queryset)
    assert offered == [active]
