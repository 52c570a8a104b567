"""Fixtures shared by every app's tests: one user per role and clients logged in as them, a real Celery
worker, and a real browser (Playwright driving Debian's chromium)."""

import os
from pathlib import Path

import pytest
from django.test import Client

from octclinic.factories import ClinicAdminFactory, DoctorFactory, TechnicianFactory


@pytest.fixture
def technician(db):
    return TechnicianFactory()


@pytest.fixture
def doctor(db):
    return DoctorFactory()


@pytest.fixture
def other_doctor(db):
    """A second doctor, for tests of who may see which patient."""
    return DoctorFactory()


@pytest.fixture
def clinic_admin(db):
    return ClinicAdminFactory()


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def technician_client(technician):
    return _client_for(technician)


@pytest.fixture
def doctor_client(doctor):
    return _client_for(doctor)


@pytest.fixture
def clinic_admin_client(clinic_admin):
    return _client_for(clinic_admin)


@pytest.fixture
def anonymous_client():
    return Client()


# --- A real Celery worker ---------------------------------------------------------------------


@pytest.fixture
def celery_worker_process(transactional_db, settings):
    """Start a real `celery worker` process on the configured broker (Redis in CI, the filesystem
    transport otherwise) and the test database, listening on a queue private to this test.

    Yields the queue name; send tasks with ``apply_async(queue=...)``. Data the test creates must be
    committed (hence ``transactional_db``) for the worker to see it.
    """
    import uuid

    from octclinic.testing import WorkerProcess

    queue = f"test-{uuid.uuid4().hex[:12]}"
    worker = WorkerProcess(queue=queue, data_dir=settings.DATA_DIR)
    try:
        yield queue
    finally:
        print(worker.stop()[-3000:])  # shown by pytest when the test fails


# --- A real browser -----------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")  # Debian's chromium, never a browser Playwright downloads
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    """Chromium for the browser tests of one module.

    Skips with a reason where /usr/bin/chromium is missing on a developer's machine; in CI (CI set) a
    missing browser is a failure, not a skip. Module-scoped, not session-scoped: browser tests live in
    several apps, and Playwright's event loop (with the async-safety switch below) must not stay alive
    through the other apps' tests that run between them.
    """
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls in the test are safe.
    # Set only while browser tests run, so other tests keep Django's async-safety checks.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page_factory(browser, live_server):
    """Call it for a new page in a fresh browser context (its own cookies) on the live server; relative
    URLs work (``page.goto("/accounts/login/")``)."""
    contexts = []

    def make():
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
