"""Search by MRN, name or birth date; search terms travel in POST bodies, never in URLs."""

import datetime as dt

import pytest
from django.urls import reverse

from patients.factories import PatientFactory
from patients.selectors import patient_search
from patients.services import patient_archive

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(clinic_admin):
    ada = PatientFactory(mrn="AB-1001", first_name="Ada", last_name="Lovelace", date_of_birth=dt.date(1960, 12, 10))
    alan = PatientFactory(mrn="CD-2002", first_name="Alan", last_name="Turing", date_of_birth=dt.date(1954, 6, 23))
    old = PatientFactory(mrn="EF-3003", first_name="Grace", last_name="Hopper", date_of_birth=dt.date(1906, 12, 9))
    patient_archive(patient=old, archived_by=clinic_admin)
    return ada, alan, old


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ab-10", ["AB-1001"]),
        ("lovelace", ["AB-1001"]),
        ("alan turing", ["CD-2002"]),
        ("Turing, Alan", ["CD-2002"]),
        ("1954-06-23", ["CD-2002"]),
        ("23.06.1954", ["CD-2002"]),
        ("hopper", []),
        ("", ["AB-1001", "CD-2002"]),
    ],
)
def test_search(people, query, expected):
    assert sorted(p.mrn for p in patient_search(query=query)) == expected


def test_archived_patients_only_on_request(people):
    assert [p.mrn for p in patient_search(query="hopper", include_archived=True)] == ["EF-3003"]


def test_search_is_posted_and_the_terms_stay_out_of_urls(technician_client, people):
    response = technician_client.post(reverse("patients:list"), {"q": "Lovelace"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "AB-1001" in page and "CD-2002" not in page
    assert "Lovelace" not in response.request["PATH_INFO"] and not response.request.get("QUERY_STRING")
    assert 'method="post"' in technician_client.get(reverse("patients:list")).content.decode()


def test_htmx_search_returns_only_the_results_fragment(technician_client, people):
    response = technician_client.post(reverse("patients:list"), {"q": "turing"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert "CD-2002" in page and "<html" not in page
