"""A technician registers a patient, books, hits a double booking, reschedules; a clinic admin then
reschedules the same appointment in the Django admin."""

import pytest

from octclinic.factories import ClinicAdminFactory, TechnicianFactory
from octclinic.testing import page_log_in, screenshot
from patients.factories import PatientFactory
from scheduling.factories import FUTURE_MONDAY, ResourceFactory, local
from scheduling.models import Appointment, AppointmentReschedule
from scheduling.services import appointment_book

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_booking_flow(page_factory):
    TechnicianFactory(username="tina", first_name="Tina", last_name="Tech")
    ClinicAdminFactory(username="carla")
    device = ResourceFactory(name="OCT-1 Spectralis")
    other = PatientFactory()
    appointment_book(
        patient=other, resource=device, start=local(FUTURE_MONDAY, 10), end=local(FUTURE_MONDAY, 10, 20), booked_by=None
    )

    page = page_factory()
    page_log_in(page, "tina")

    # Register a patient.
    page.click("text=Patients")
    page.click("text=Register patient")
    page.fill("#id_mrn", "br-0001")
    page.fill("#id_first_name", "Beatrix")
    page.fill("#id_last_name", "Rowe")
    page.fill("#id_date_of_birth", "1958-04-02")
    page.select_option("#id_sex", "F")
    page.click("button:has-text('Register')")
    page.wait_for_selector("text=Patient registered.")
    assert page.locator("h1").inner_text() == "Rowe, Beatrix"

    # Book an appointment at a time that is already taken on that device: a clear form error.
    page.click("text=Book appointment")
    page.select_option("#id_resource", label="OCT-1 Spectralis")
    page.fill("#id_day", "2030-01-07")
    page.fill("#id_start_time", "10:10")
    page.fill("#id_end_time", "10:30")
    page.click("button:has-text('Book')")
    error = page.locator(".field-error", has_text="OCT-1 Spectralis is already booked from 10:00 to 10:20.")
    error.wait_for()
    screenshot(page, "booking-double-booked")
    assert Appointment.objects.count() == 1

    # Pick a free time instead.
    page.fill("#id_start_time", "11:00")
    page.fill("#id_end_time", "11:20")
    page.click("button:has-text('Book')")
    page.wait_for_selector("text=Appointment booked.")
    appointment = Appointment.objects.get(patient__mrn="BR-0001")
    assert appointment.start == local(FUTURE_MONDAY, 11)

    # Reschedule it with a reason.
    page.click("text=Reschedule")
    page.fill("#id_start_time", "14:00")
    page.fill("#id_end_time", "14:20")
    page.fill("#id_reason", "Patient asked for the afternoon")
    page.click("button:has-text('Reschedule')")
    page.wait_for_selector("text=Appointment rescheduled.")
    assert page.locator("text=Patient asked for the afternoon").is_visible()
    screenshot(page, "booking-rescheduled")
    appointment.refresh_from_db()
    assert appointment.start == local(FUTURE_MONDAY, 14)

    # A clinic admin moves it again in the Django admin.
    admin_page = page_factory()
    page_log_in(admin_page, "carla")
    admin_page.goto(f"/admin/scheduling/appointment/{appointment.pk}/change/")
    admin_page.fill("#id_start_1", "15:00:00")
    admin_page.fill("#id_end_1", "15:20:00")
    admin_page.fill("#id_reschedule_reason", "Doctor moved the clinic session")
    admin_page.click("input[name=_save]")
    admin_page.wait_for_selector(".messagelist .success")
    screenshot(admin_page, "admin-rescheduled")
    appointment.refresh_from_db()
    assert appointment.start == local(FUTURE_MONDAY, 15)
    reasons = list(AppointmentReschedule.objects.order_by("changed_at").values_list("reason", flat=True))
    assert reasons == ["Patient asked for the afternoon", "Doctor moved the clinic session"]
