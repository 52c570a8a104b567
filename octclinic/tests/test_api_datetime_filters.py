"""Datetime filters take any valid ISO offset and answer 400 (naming the field) when out of range —
found by schemathesis on PostgreSQL, which refuses offsets beyond ±15:59 that Python accepts."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(technician):
    client = APIClient()
    client.force_authenticate(technician)
    return client


@pytest.mark.parametrize("path", ["/api/v1/appointments/", "/api/v1/patients/"])
def test_far_offsets_are_normalised_to_utc(api, path):
    response = api.get(path, {"updated_at__lt": "1035-02-05T04:36:45.212+20:05"})
    assert response.status_code == 200, response.content


def test_out_of_range_after_conversion_is_a_field_error(api):
    response = api.get("/api/v1/appointments/", {"updated_at__gte": "0001-01-01T00:00:00+10:00"})
    assert response.status_code == 400
    assert "updated_at__gte" in response.json()["error"]["fields"]
