"""Throttling per API client: each token has its own budget; the answer is a 429 in the error shape."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from octclinic.api_testing import error_of, token_client
from octclinic.factories import TechnicianFactory


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def test_a_client_over_its_rate_gets_429_and_others_are_unaffected(db, settings):
    settings.API_THROTTLE_RATE = "3/min"
    user = TechnicianFactory()
    first, second = token_client(user), token_client(user)
    for _ in range(3):
        assert first.get("/api/v1/patients/").status_code == 200
    limited = first.get("/api/v1/patients/")
    assert limited.status_code == 429
    assert error_of(limited)["code"] == "throttled"
    assert int(limited["Retry-After"]) > 0
    # Per client, not per user: the same user's other integration keeps its own budget.
    assert second.get("/api/v1/patients/").status_code == 200


def test_an_empty_rate_disables_throttling(db, settings):
    settings.API_THROTTLE_RATE = ""
    client = token_client(TechnicianFactory())
    assert all(client.get("/api/v1/patients/").status_code == 200 for _ in range(5))


def test_an_unreachable_cache_lets_requests_through_with_one_warning(db, settings, caplog, monkeypatch):
    from octclinic import api_throttles
    from octclinic.testing import free_port

    monkeypatch.setattr(api_throttles, "_last_warning", None)
    settings.API_THROTTLE_RATE = "3/min"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/1",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    client = token_client(TechnicianFactory())
    with caplog.at_level("WARNING", logger="octclinic.api_throttles"):
        assert all(client.get("/api/v1/patients/").status_code == 200 for _ in range(5))
    warnings = [r for r in caplog.records if r.name == "octclinic.api_throttles"]
    assert len(warnings) == 1 and "not applied" in warnings[0].getMessage()


def test_web_processes_share_the_counters(db):
    """With Redis configured (CI), a counter written by another process is the one this process reads."""
    import os
    import subprocess
    import sys

    from django.conf import settings as django_settings

    if "redis" not in django_settings.CACHES["default"]["BACKEND"]:
        if os.environ.get("CI"):
            pytest.fail("CI must run this with Redis (REDIS_URL)")
        pytest.skip("needs Redis: set REDIS_URL (CI does)")
    code = "import django; django.setup(); from django.core.cache import cache; cache.set('probe', 'other', 30)"
    subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "octclinic.settings_test"},
        check=True,
        timeout=60,
    )
    assert cache.get("probe") == "other"
