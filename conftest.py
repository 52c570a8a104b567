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
    import os
    import subprocess
    import sys
    import uuid
    from pathlib import Path

    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        database_url = f"sqlite:///{db['NAME']}"
    else:
        database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "octclinic.settings_test",
        "OCT_DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": database_url,
    }
    root = Path(__file__).resolve().parent
    log = open(Path(settings.DATA_DIR) / f"worker-{queue}.log", "w+")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "octclinic", "worker", "-P", "solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.seek(0)
        output = log.read()
        log.close()
        print(output[-3000:])  # shown by pytest when the test fails
