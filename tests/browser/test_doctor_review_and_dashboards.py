"""A doctor works through the review queue with the keyboard and the buttons (approve, correct, ungradable);
a technician cannot reach the review pages; each role's dashboard renders with seeded data. Screenshots of
each land in test-artifacts/."""

import datetime as dt

import pytest
from django.utils import timezone

from octclinic.factories import ClinicAdminFactory, DoctorFactory, TechnicianFactory
from octclinic.testing import page_log_in, screenshot
from scans.factories import ModelVersionRowFactory, ReviewFactory
from scans.models import Review
from scans.tests.review_helpers import team_patient, waiting_reading
from scheduling.factories import AppointmentFactory, ResourceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


def test_doctor_works_through_the_queue(page_factory):
    doctor = DoctorFactory(username="dana")
    patient = team_patient(doctor)
    urgent = waiting_reading(patient, label="CNV", uncertainty=0.6, hours_ago=30)  # overdue
    routine = waiting_reading(patient, label="DRUSEN", uncertainty=0.3)
    normal = waiting_reading(patient, label="NORMAL", uncertainty=0.1)

    page = page_factory()
    page_log_in(page, "dana")
    screenshot(page, "review-flow-start")
    page.click("text=Open the review queue")
    assert page.locator("tr[data-overdue]").count() == 1
    screenshot(page, "review-queue")
    page.click("text=Start reviewing")

    # 1. The most urgent first: approve with the keyboard.
    page.wait_for_url(f"**/scans/review/{urgent.scan.uuid}/")
    page.locator("[data-review-image]").wait_for()
    screenshot(page, "review-screen")
    page.keyboard.press("a")
    # 2. Next in queue opens by itself: correct it to another label.
    page.wait_for_url(f"**/scans/review/{routine.scan.uuid}/")
    page.select_option("[data-review-form] select[name=label]", "CNV")
    page.click("[data-review-correct]")
    # 3. The last: ungradable, with a note.
    page.wait_for_url(f"**/scans/review/{normal.scan.uuid}/")
    page.fill("[data-review-form] textarea[name=note]", "motion artefact")
    page.click("[data-review-ungradable]")
    page.wait_for_url("**/scans/review/")
    page.locator("[data-queue-empty]").wait_for()

    decisions = {r.scan_id: (r.decision, r.label) for r in Review.objects.all()}
    assert decisions == {
        urgent.scan_id: ("approved", "CNV"),
        routine.scan_id: ("corrected", "CNV"),
        normal.scan_id: ("ungradable", ""),
    }
    assert Review.objects.get(scan=normal.scan).note == "motion artefact"


def test_technician_cannot_reach_review_pages(page_factory):
    TechnicianFactory(username="tom")
    doctor = DoctorFactory()
    reading = waiting_reading(team_patient(doctor))
    page = page_factory()
    page_log_in(page, "tom")
    assert page.locator("nav >> text=Review").count() == 0
    for url in ("/scans/review/", f"/scans/review/{reading.scan.uuid}/"):
        response = page.goto(url)
        assert response.status == 403
    screenshot(page, "review-forbidden-technician")


def test_each_dashboard_renders_with_seeded_data(page_factory):
    doctor = DoctorFactory(username="dora")
    TechnicianFactory(username="theo")
    ClinicAdminFactory(username="cleo")
    device = ResourceFactory(name="OCT-1 Spectralis")
    patient = team_patient(doctor)
    now = dt.datetime.combine(timezone.localdate(), dt.time(12), tzinfo=timezone.get_current_timezone())
    AppointmentFactory(resource=device, patient=patient, start=now, end=now + dt.timedelta(minutes=20))
    AppointmentFactory(
        resource=device, start=now + dt.timedelta(minutes=20), end=now + dt.timedelta(minutes=40), status="checked_in"
    )
    for version, labels in (("v1", ["CNV", "CNV", "DME"]), ("v2", ["DRUSEN", "NORMAL"])):
        model = ModelVersionRowFactory(version=version, status="retired")
        for label in labels:
            reading = waiting_reading(patient, label=label, model_version=model)
            ReviewFactory(prediction=reading, reviewer=doctor)
    waiting_reading(patient, label="DME", hours_ago=40)  # overdue
    waiting_reading(patient, label="DRUSEN")
    failed = waiting_reading(patient)
    failed.scan.ai_status = "failed"
    failed.scan.ai_error = "The image could not be read."
    failed.scan.save(update_fields=["ai_status", "ai_error"])

    for username, dashboard in (("theo", "technician"), ("dora", "doctor"), ("cleo", "clinic_admin")):
        page = page_factory()
        page_log_in(page, username)
        page.locator(f'[data-dashboard="{dashboard}"]').wait_for()
        if dashboard != "technician":
            assert page.locator("svg.chart").count() >= 1
        if dashboard == "technician":
            assert page.locator("[data-devices] tbody tr").first.inner_text().split("\t")[1:3] == ["2", "1"]
        if dashboard == "doctor":
            assert page.locator("[data-queue-overdue]").inner_text() == "1"
        screenshot(page, f"dashboard-{dashboard}")
