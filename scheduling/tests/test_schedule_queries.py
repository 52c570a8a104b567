"""The day and week views run the same number of queries for 10 and for 500 appointments."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.factories import PatientFactory
from scheduling.factories import FUTURE_MONDAY, AppointmentFactory, ResourceFactory, local

pytestmark = pytest.mark.django_db


def seed(n: int, resources) -> None:
    patients = PatientFactory.create_batch(10)
    for i in range(n):
        start = local(FUTURE_MONDAY, 8) + dt.timedelta(minutes=i)
        AppointmentFactory(
            patient=patients[i % 10], resource=resources[i % 2], start=start, end=start + dt.timedelta(minutes=1)
        )


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("view", ["day", "week"])
def test_schedule_queries_do_not_grow_with_rows(technician_client, view):
    resources = [ResourceFactory(), ResourceFactory()]
    url = reverse(f"scheduling:{view}") + f"?date={FUTURE_MONDAY:%Y-%m-%d}&resource={resources[0].pk}"
    seed(10, resources)
    small = count_queries(technician_client, url)
    seed(490, resources)
    large = count_queries(technician_client, url)
    assert small == large
    assert technician_client.get(url).content.decode().count('class="slot ') >= (250 if view == "week" else 500)
