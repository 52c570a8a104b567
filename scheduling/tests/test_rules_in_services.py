"""Rules live in services and nothing escapes the audit (issue #17, part 5): the admin changes technician and reason
through the same service as everything else (so the audit log records the change), and "check in only on the day"
is one rule for the service and the buttons on the pages."""

import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from octclinic.factories import DoctorFactory, TechnicianFactory
from patients.factories import PatientFactory
from scheduling.factories import FUTURE_MONDAY, AppointmentFactory, ResourceFactory, local
from scheduling.models import Appointment
from scheduling.selectors import appointment_check_in_open
from scheduling.services import appointment_book
from scheduling.tests.test_admin_appointments import change_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def appointment(technician):
    return appointment_book(
        patient=PatientFactory(),
        resource=ResourceFactory(name="OCT-A"),
        start=local(FUTURE_MONDAY, 9),
        end=local(FUTURE_MONDAY, 9, 20),
        booked_by=technician,
        reason="OCT both eyes",
    )


def test_admin_changes_technician_and_reason_through_the_audited_service(
    clinic_admin_client, clinic_admin, appointment
):
    tom = TechnicianFactory(first_name="Tom", last_name="Tech")
    url = reverse("admin:scheduling_appointment_change", args=[appointment.pk])
    response = clinic_admin_client.post(url, change_form(appointment, technician=tom.pk, reason="OCT right eye only"))
    assert response.status_code == 302, response.content.decode()[:2000]
    appointment.refresh_from_db()
    assert (appointment.technician, appointment.reason) == (tom, "OCT right eye only")
    entry = LogEntry.objects.filter(
        content_type__model="appointment", object_pk=str(appointment.pk), action=LogEntry.Action.UPDATE
    ).get()
    assert entry.actor == clinic_admin
    assert entry.changes_dict["reason"] == ["OCT both eyes", "OCT right eye only"]
    assert entry.changes_dict["technician"][1] == str(tom.pk)


def test_admin_assigns_only_active_technicians(clinic_admin_client, appointment):
    doctor = DoctorFactory()
    url = reverse("admin:scheduling_appointment_change", args=[appointment.pk])
    response = clinic_admin_client.post(url, change_form(appointment, technician=doctor.pk))
    assert response.status_code == 200
    assert Appointment.objects.get(pk=appointment.pk).technician is None


def test_an_unchanged_admin_save_logs_nothing(clinic_admin_client, appointment):
    before = LogEntry.objects.filter(action=LogEntry.Action.UPDATE).count()
    url = reverse("admin:scheduling_appointment_change", args=[appointment.pk])
    assert clinic_admin_client.post(url, change_form(appointment)).status_code == 302
    assert LogEntry.objects.filter(action=LogEntry.Action.UPDATE).count() == before


def test_check_in_rule_is_one_for_service_and_pages(technician_client):
    now = timezone.now()
    today = AppointmentFactory(start=now + dt.timedelta(minutes=1), end=now + dt.timedelta(minutes=2))
    if timezone.localtime(today.start).date() != timezone.localdate():
        pytest.skip("too close to midnight in the clinic's zone")
    later = AppointmentFactory(start=local(FUTURE_MONDAY, 9), end=local(FUTURE_MONDAY, 9, 20))
    assert appointment_check_in_open(appointment=today) and not appointment_check_in_open(appointment=later)

    detail = technician_client.get(reverse("scheduling:appointment_detail", args=[later.pk])).content.decode()
    assert "data-check-in" not in detail  # it would only be refused
    detail = technician_client.get(reverse("scheduling:appointment_detail", args=[today.pk])).content.decode()
    assert "data-check-in" in detail
    day = technician_client.get(reverse("scheduling:day"), {"date": FUTURE_MONDAY.isoformat()}).content.decode()
    assert reverse("scheduling:appointment_check_in", args=[later.pk]) not in day
    day = technician_client.get(reverse("scheduling:day")).content.decode()
    assert reverse("scheduling:appointment_check_in", args=[today.pk]) in day
