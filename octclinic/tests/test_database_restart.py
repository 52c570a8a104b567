"""The app recovers from a database restart by itself: persistent connections are health-checked at
the start of each request, so a connection the server dropped is replaced, not used."""

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from octclinic.testing import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.worker


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def test_server_survives_database_connections_being_killed(transactional_db, settings):
    db = connection.settings_dict
    if not db["ENGINE"].endswith("postgresql"):
        if os.environ.get("CI"):
            pytest.fail("CI must run this on PostgreSQL (DATABASE_URL)")
        pytest.skip("needs PostgreSQL: set DATABASE_URL (CI does)")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "octclinic.settings_test",
        "OCT_DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
    }
    server = subprocess.Popen(
        # One sync gunicorn worker: one persistent connection reused across requests, as in production.
        [sys.executable, "-m", "gunicorn", "octclinic.wsgi:application", "-w", "1", "-b", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/readyz"
    try:
        wait_until(lambda: get(url) == 200, timeout=60)
        # What a PostgreSQL restart does to every open connection of the app:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            killed = cursor.fetchone()[0]
        assert killed >= 1
        assert get(url) == 200  # the very next request works: no manual step, no error page
    finally:
        server.terminate()
        server.wait(timeout=20)
