"""Issue #18 part 3: no patient name or MRN in any log line, the access log included.

A real gunicorn (the production web server, with the repository's ``gunicorn.conf.py``) serves the test database
with the production settings' logging; requests that carry seeded names and MRNs in query strings (an old admin
search link, a client's ``?mrn=`` filter, a 404 with a query) and in bodies are sent, and then the whole log of the
run (access, error and application lines) is grepped for every seeded name and MRN.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.test import Client

from octclinic.factories import ClinicAdminFactory
from octclinic.log_filters import StripQueryStrings
from octclinic.services import api_token_create
from octclinic.testing import free_port, process_stop, wait_until
from patients.factories import PatientFactory

ROOT = Path(__file__).resolve().parents[2]
T = 60  # seconds per request


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def gunicorn(transactional_db, tmp_path, settings):
    port = free_port()
    log_path = tmp_path / "server.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "octclinic.settings",
        "DJANGO_ENV": "development",
        "DJANGO_DEBUG": "false",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "DEBUG",
        "DATABASE_URL": _database_url(),
        "OCT_DATA_DIR": str(settings.DATA_DIR),
        "API_ANON_THROTTLE_RATE": "",
        "API_BAD_TOKEN_THROTTLE_RATE": "",
    }
    env.pop("CACHE_URL", None)
    with open(log_path, "w") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "gunicorn", "octclinic.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "1",
             "--access-logfile", "-", "--error-logfile", "-", "--log-level", "debug"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return requests.get(f"{base}/healthz", timeout=30).status_code == 200
            except (requests.ConnectionError, requests.Timeout):
                return False

        try:
            wait_until(up, timeout=120)
            yield base, log_path
        finally:
            process_stop(process)


def test_the_whole_log_of_a_run_has_no_seeded_name_or_mrn(gunicorn):
    base, log_path = gunicorn
    patients = [
        PatientFactory(first_name="Erika", last_name="Mustermann", mrn="PHI-4711"),
        PatientFactory(first_name="Jonas", last_name="Quellenberg", mrn="PHI-0815"),
    ]
    secrets = {value for p in patients for value in (p.first_name, p.last_name, p.mrn)}
    admin = ClinicAdminFactory()
    token = api_token_create(user=admin, name="log test").raw
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    browser = Client()
    browser.force_login(admin, backend="octclinic.auth_backends.ModelBackend")
    session_cookie = browser.cookies["sessionid"].value

    for patient in patients:
        api.get(f"{base}/api/v1/patients/", params={"mrn": patient.mrn, "last_name": patient.last_name}, timeout=T)
        api.get(f"{base}/api/v1/patients/", params={"q": patient.last_name}, timeout=T)
        api.post(f"{base}/api/v1/patients/search/", json={"query": patient.last_name}, timeout=T)
        api.post(f"{base}/api/v1/patients/search/", json={"query": patient.mrn}, timeout=T)
        requests.get(f"{base}/api/v1/patients/", params={"mrn": patient.mrn}, timeout=T)  # anonymous: 401
        requests.get(f"{base}/patients/999999/", params={"name": patient.last_name}, timeout=T)  # a page with a query
        requests.get(f"{base}/no-such-page/", params={"mrn": patient.mrn}, timeout=T)  # 404
        api.get(f"{base}/api/no-such-endpoint/", params={"mrn": patient.mrn}, timeout=T)
        # The admin search as an old bookmark would send it, with the session of a logged-in clinic admin.
        staff = requests.Session()
        staff.cookies.set("sessionid", session_cookie)
        staff.get(f"{base}/admin/patients/patient/", params={"q": patient.last_name}, timeout=T)
        staff.get(f"{base}/admin/patients/patient/", params={"q": patient.mrn}, timeout=T)
    time.sleep(0.5)  # gunicorn writes the access line after the response

    log = log_path.read_text()
    assert staff.get(f"{base}/admin/patients/patient/", timeout=T).status_code == 200  # the admin was logged in
    assert "/api/v1/patients/" in log and "/admin/patients/patient/" in log, log[-3000:]  # access lines are there
    leaked = sorted(value for value in secrets if value in log)
    assert not leaked, f"patient data in the log: {leaked}\n{log[-3000:]}"


def test_the_log_filter_strips_query_strings_from_any_record():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(StripQueryStrings())
    logger = logging.getLogger("octclinic.tests.log_filter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        # The dev server's access line (django.server) and a dict-args record (gunicorn's shape).
        logger.warning('"%s" %s %s', "GET /admin/patients/patient/?q=Mustermann HTTP/1.1", 200, 10)
        logger.warning("%(r)s", {"r": "GET /api/v1/patients/?mrn=PHI-4711 HTTP/1.1"})
        logger.warning("Referer http://clinic/patients/?name=Erika seen")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "Mustermann" not in text and "PHI-4711" not in text and "Erika" not in text
    assert "/admin/patients/patient/?…" in text


def test_the_settings_wire_the_filter_to_every_console_line_and_the_dev_servers_access_log():
    import importlib

    production_settings = importlib.import_module("octclinic.settings")
    logging_config = production_settings.LOGGING
    assert "strip_query_strings" in logging_config["handlers"]["console"]["filters"]
    assert logging_config["loggers"]["django.server"]["handlers"] == ["console"]
