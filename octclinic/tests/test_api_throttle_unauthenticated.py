"""Issue #18 part 5: requests without a valid token are rate-limited per address too.

Before, DRF answered their 401 before any throttle ran: 300 anonymous and 100 bad-token requests all got 401.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from octclinic.api_testing import error_of, token_client
from octclinic.factories import TechnicianFactory


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def _client(address: str, token: str | None = None) -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_anonymous_requests_are_throttled_per_address(db, settings):
    settings.API_ANON_THROTTLE_RATE = "5/min"
    client = _client("10.0.0.1")
    assert [client.get("/api/v1/patients/").status_code for _ in range(5)] == [401] * 5
    limited = client.get("/api/v1/patients/")
    assert limited.status_code == 429
    assert error_of(limited)["code"] == "throttled" and int(limited["Retry-After"]) > 0
    # Another address keeps its own budget.
    assert _client("10.0.0.2").get("/api/v1/patients/").status_code == 401


def test_bad_tokens_are_throttled_per_address_and_then_no_token_is_looked_up(db, settings):
    settings.API_BAD_TOKEN_THROTTLE_RATE = "3/min"
    guesser = _client("10.0.0.3", "oct_not-a-real-token")
    assert [guesser.get("/api/v1/patients/").status_code for _ in range(3)] == [401] * 3
    assert guesser.get("/api/v1/patients/").status_code == 429
    # Over the limit, a request from that address is refused before its token is looked up, even a real one.
    from octclinic.services import api_token_create

    real = api_token_create(user=TechnicianFactory(), name="x").raw
    assert _client("10.0.0.3", real).get("/api/v1/patients/").status_code == 429
    assert _client("10.0.0.4", real).get("/api/v1/patients/").status_code == 200


def test_forwarded_for_is_not_trusted_without_proxies(db, settings):
    """A client can't escape the per-address limit by sending a new X-Forwarded-For each time."""
    settings.API_ANON_THROTTLE_RATE = "2/min"
    statuses = [
        APIClient(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}").get("/api/v1/patients/").status_code
        for i in range(3)
    ]
    assert statuses == [401, 401, 429]


def test_valid_tokens_are_not_counted_as_anonymous(db, settings):
    settings.API_ANON_THROTTLE_RATE = "1/min"
    settings.API_BAD_TOKEN_THROTTLE_RATE = "1/min"
    client = token_client(TechnicianFactory())
    assert all(client.get("/api/v1/patients/").status_code == 200 for _ in range(5))


def test_health_documents_its_429(db):
    schema = APIClient().get("/api/schema/?format=json").json()
    assert "429" in schema["paths"]["/api/v1/health/"]["get"]["responses"]
