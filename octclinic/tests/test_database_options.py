"""The app's PostgreSQL connections plan without parallel workers unless configured (requests share the CPU
instead of one count taking it from the others), keeping options given in DATABASE_URL."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _options_for(**env) -> str:
    clean = {**os.environ, **env, "DJANGO_SETTINGS_MODULE": "octclinic.settings"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
         "print(settings.DATABASES['default']['OPTIONS'].get('options', ''))"],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return result.stdout.strip()


def test_parallel_workers_setting_and_url_options_are_combined():
    url = "postgres://clinic@db.example:5432/octclinic?options=-c%20statement_timeout%3D30000"
    assert _options_for(DATABASE_URL=url) == "-c statement_timeout=30000 -c max_parallel_workers_per_gather=0"
    assert _options_for(DATABASE_URL=url, DB_PARALLEL_WORKERS_PER_QUERY="2").endswith(
        "-c max_parallel_workers_per_gather=2"
    )


@pytest.mark.django_db
def test_the_live_connection_has_parallel_workers_off():
    if connection.vendor != "postgresql":
        if os.environ.get("CI"):
            pytest.fail("CI must run this on PostgreSQL (DATABASE_URL)")
        pytest.skip("needs PostgreSQL: set DATABASE_URL (CI does)")
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"
