"""The patient list runs the same number of queries for 10 and for 500 patients."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.factories import PatientFactory

pytestmark = pytest.mark.django_db


def queries_for(client, method: str, url: str, data=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = getattr(client, method)(url, data or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(("method", "data"), [("get", {"page": 2}), ("post", {"q": "MRN", "page": 2})])
def test_patient_list_query_count_is_constant(technician_client, method, data):
    url = reverse("patients:list")
    PatientFactory.create_batch(30)  # enough for a second page
    small = queries_for(technician_client, method, url, data)
    PatientFactory.create_batch(470)
    large = queries_for(technician_client, method, url, data)
    assert small == large


def test_patient_detail_query_count_is_constant_in_history_length(technician_client):
    from scheduling.factories import AppointmentFactory

    patient = PatientFactory()
    AppointmentFactory.create_batch(2, patient=patient)
    url = reverse("patients:detail", args=[patient.pk])
    small = queries_for(technician_client, "get", url)
    AppointmentFactory.create_batch(30, patient=patient)
    assert queries_for(technician_client, "get", url) == small
