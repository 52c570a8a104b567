"""Issue #19 part 3: what a new user hit on a phone and on the patient page.

At 390 px wide the navigation ran off the screen and pages were 520-620 px wide; every main page of each role
must now fit the phone's width (a wide table may scroll inside its own box, not the page). The patient page's
scan thumbnails were a bulleted list because the gallery's styles lived only in the scans stylesheet. Screenshots
at 390x844 and 1366x900 land in test-artifacts/ for people to look at.
"""

import datetime as dt

import pytest
from django.utils import timezone

from octclinic.factories import ClinicAdminFactory, DoctorFactory, TechnicianFactory
from octclinic.testing import page_log_in, screenshot
from scans.factories import ScanFactory
from scans.tests.review_helpers import team_patient, waiting_reading
from scheduling.factories import AppointmentFactory, ResourceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


@pytest.fixture
def clinic():
    """A doctor's patient with readings waiting for review (one overdue), a booked day, long staff names; the
    readings' model is on the models page."""
    doctor = DoctorFactory(username="dana", first_name="Dana", last_name="Okonkwo-Lindqvist")
    technician = TechnicianFactory(username="tom", first_name="Tomas", last_name="Reyes-Castellano")
    ClinicAdminFactory(username="clara")
    patient = team_patient(doctor)
    waiting_reading(patient, label="CNV", uncertainty=0.6, hours_ago=30)
    waiting_reading(patient, label="DRUSEN", uncertainty=0.3, eye="OS")
    ScanFactory(patient=patient)
    resource = ResourceFactory(name="OCT-1 Spectralis")
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    AppointmentFactory(patient=patient, resource=resource, technician=technician, start=start)
    return {"patient": patient}


def _page_width(page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth")


def _check_pages(page_factory, username, pages, name):
    page = page_factory()
    page_log_in(page, username)
    widths = {}
    for label, url in pages:
        page.set_viewport_size(PHONE)
        response = page.goto(url)
        assert response.status == 200, url
        widths[label] = _page_width(page)
        screenshot(page, f"responsive-{name}-{label}-390")
        page.set_viewport_size(DESKTOP)
        page.reload()
        assert _page_width(page) <= DESKTOP["width"], url
        screenshot(page, f"responsive-{name}-{label}-1366")
    assert all(width <= PHONE["width"] for width in widths.values()), widths
    return page


def test_technician_pages_fit_a_phone(page_factory, clinic):
    patient = clinic["patient"]
    pages = [
        ("schedule", "/schedule/"),
        ("patients", "/patients/"),
        ("patient", f"/patients/{patient.pk}/"),
        ("upload", f"/scans/upload/?patient={patient.pk}"),
    ]
    _check_pages(page_factory, "tom", pages, "technician")


def test_doctor_pages_fit_a_phone(page_factory, clinic):
    _check_pages(page_factory, "dana", [("dashboard", "/"), ("review-queue", "/scans/review/")], "doctor")


def test_clinic_admin_pages_fit_a_phone(page_factory, clinic):
    _check_pages(page_factory, "clara", [("dashboard", "/"), ("models", "/models/")], "clinic-admin")


def test_navigation_is_reachable_by_keyboard_on_a_phone(page_factory, clinic):
    """Every navigation link, and the account menu once opened, stays inside the screen at 390 px; Tab reaches
    each link and Enter opens the account menu."""
    page = page_factory()
    page.set_viewport_size(PHONE)
    page_log_in(page, "clara")

    def inside_the_screen(locator):
        for i in range(locator.count()):
            box = locator.nth(i).bounding_box()
            assert box is not None, locator.nth(i).inner_text()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (locator.nth(i).inner_text(), box)

    links = page.locator("header nav > ul > li > a")
    assert links.count() >= 6  # the brand, Schedule, Patients, AI models, Reconciliation, Audit, Admin
    inside_the_screen(links)
    hrefs = {links.nth(i).get_attribute("href") for i in range(links.count())}
    reached = set()
    for _ in range(20):  # Tab through the header until the account menu's button has the focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "SUMMARY":
            break
        reached.add(page.evaluate("document.activeElement.getAttribute('href')"))
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    assert reached == hrefs
    page.keyboard.press("Enter")
    menu = page.locator("header details.dropdown[open] > ul a, header details.dropdown[open] > ul button")
    menu.first.wait_for()
    assert menu.count() == 3  # change password, two-factor, log out
    inside_the_screen(menu)
    assert _page_width(page) <= PHONE["width"]
    screenshot(page, "responsive-account-menu-390")


def test_patient_page_shows_scans_as_a_grid_of_cards(page_factory, clinic):
    page = page_factory()
    page_log_in(page, "tom")
    page.goto(f"/patients/{clinic['patient'].pk}/")
    grid = page.locator(".scan-grid")
    assert page.locator(".scan-card").count() == 3
    assert grid.evaluate("el => getComputedStyle(el).display") == "grid"
    assert page.locator(".scan-card").first.evaluate("el => getComputedStyle(el).listStyleType") == "none"
    # Side by side at desktop width: the second card starts to the right of the first, on the same row.
    first, second = (page.locator(".scan-card").nth(i).bounding_box() for i in range(2))
    assert second["x"] > first["x"] + first["width"] - 1 and abs(second["y"] - first["y"]) < 2
    page.locator(".scan-gallery").scroll_into_view_if_needed()
    screenshot(page, "patient-page-scan-gallery")
