"""Issue #18 parts 4 and 5: inputs that used to be 500s (or were read in full) get a 4xx in the API's error shape.

Each class: too many files, too many fields (body and query string), JSON nested 50,000 deep, oversized JSON,
and an empty POST on the web upload page.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from octclinic.api_testing import error_of, token_client
from octclinic.factories import TechnicianFactory
from patients.factories import PatientFactory
from patients.models import Patient


@pytest.fixture
def tech_api(db):
    return token_client(TechnicianFactory())


def test_201_files_are_a_400_not_a_500(tech_api, settings):
    patient = PatientFactory()
    files = [SimpleUploadedFile(f"f{i}.png", b"x", content_type="image/png") for i in range(201)]
    response = tech_api.post(
        "/api/v1/scans/",
        {"patient": patient.pk, "eye": "OD", "acquired_on": "2026-01-05", "files": files},
        format="multipart",
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "too_many_files"
    assert str(settings.DATA_UPLOAD_MAX_NUMBER_FILES) in error["message"]


def test_json_nested_50000_deep_is_a_400(tech_api):
    body = '{"notes": ' + "[" * 50_000 + "]" * 50_000 + "}"
    response = tech_api.post("/api/v1/patients/", body, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"


def test_json_nested_just_past_the_limit_is_a_400_and_within_it_is_read(tech_api, settings):
    settings.API_MAX_JSON_DEPTH = 5
    too_deep = json.dumps({"query": [[[[["x"]]]]]})  # 6 levels
    response = tech_api.post("/api/v1/patients/search/", too_deep, content_type="application/json")
    assert response.status_code == 400 and "nested deeper than 5" in error_of(response)["message"]
    fine = json.dumps({"query": "x"})
    assert tech_api.post("/api/v1/patients/search/", fine, content_type="application/json").status_code == 200


def test_2000_urlencoded_fields_are_a_400(tech_api):
    body = "&".join(f"f{i}=x" for i in range(2000))
    response = tech_api.post("/api/v1/patients/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert error_of(response)["code"] == "too_many_fields"


@pytest.mark.parametrize("path", ["/api/v1/patients/", "/api/v1/scans/", "/api/v1/appointments/"])
def test_1100_query_parameters_are_a_400(tech_api, path):
    query = "&".join(f"p{i}=1" for i in range(1100))
    response = tech_api.get(f"{path}?{query}")
    assert response.status_code == 400
    assert error_of(response)["code"] == "too_many_fields"


def test_a_json_body_over_the_limit_is_a_413_and_nothing_is_stored(tech_api, settings):
    settings.API_MAX_BODY_BYTES = 1024 * 1024
    body = {
        "mrn": "BIG-0001",
        "first_name": "Ada",
        "last_name": "Large",
        "date_of_birth": "1970-01-01",
        "notes": "n" * (3 * 1024 * 1024),
    }
    response = tech_api.post("/api/v1/patients/", body, format="json")
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "too_large"
    assert "1048576" in error["message"]
    assert not Patient.objects.filter(mrn="BIG-0001").exists()


def test_the_body_limit_holds_without_a_content_length(tech_api, settings):
    """The parser never reads past the limit, whatever length the client declares."""
    from octclinic.api_parsers import JSONParser

    settings.API_MAX_BODY_BYTES = 10
    request = type("R", (), {"META": {"CONTENT_LENGTH": "2"}})()
    from rest_framework.exceptions import APIException

    with pytest.raises(APIException) as raised:
        JSONParser().parse(io.BytesIO(b'{"a": "0123456789"}'), parser_context={"request": request})
    assert raised.value.status_code == 413


def test_an_oversized_urlencoded_body_is_a_413(tech_api, settings):
    settings.API_MAX_BODY_BYTES = 1000
    response = tech_api.post(
        "/api/v1/patients/", "notes=" + "n" * 5000, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"


def test_the_413_and_the_new_400s_are_documented_in_the_schema(db):
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/schema/?format=json").json()
    create = schema["paths"]["/api/v1/patients/"]["post"]["responses"]
    assert "413" in create and "400" in create


# --- The web upload page -----------------------------------------------------------------------


def test_an_empty_post_to_the_upload_page_is_a_400(technician_client):
    patient = PatientFactory()
    response = technician_client.post(
        reverse("scans:upload") + f"?patient={patient.pk}", data="", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert b"Choose at least one file" in response.content


def test_an_empty_post_to_the_patient_form_shows_its_errors(technician_client):
    response = technician_client.post(
        reverse("patients:create"), data="", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert response.context["form"].is_bound and response.context["form"].errors


def test_the_api_error_pages_answer_json_outside_drf():
    """A refusal raised by Django before any API view (here: no view at all) keeps the API's shape."""
    from django.test import RequestFactory

    from octclinic.views import bad_request, server_error

    request = RequestFactory().get("/api/v1/patients/")
    for response, status in ((bad_request(request), 400), (server_error(request), 500)):
        assert response.status_code == status
        assert set(json.loads(response.content)) == {"error"}
