"""Persona fixtures shared by every app's tests: one user per role, and clients logged in as them."""

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
