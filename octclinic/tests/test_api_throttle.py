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
