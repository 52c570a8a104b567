"""Issue #18 part 5: free-text fields have a maximum length, in the API, the staff form and the service.

Before, a 3 MB ``notes`` was stored, echoed back and copied into the audit trail.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from octclinic.api_testing import error_of, token_client
from octclinic.factories import TechnicianFactory
from patients import services
from patients.models import Patient

BODY = {"mrn": "TXT-0001", "first_name": "Ada", "last_name": "Text", "date_of_birth": "1970-01-01"}


@pytest.mark.parametrize("field,limit", [("notes", 5000), ("address", 500)])
def test_the_api_refuses_free_text_over_its_limit(db, field, limit):
    api = token_client(TechnicianFactory())
    response = api.post("/api/v1/patients/", {**BODY, field: "x" * (limit + 1)}, format="json")
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == [field]
    assert not Patient.objects.exists()
    assert api.post("/api/v1/patients/", {**BODY, field: "x" * limit}, format="json").status_code == 201


def test_the_schema_states_the_limits(db):
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/schema/?format=json").json()
    properties = schema["components"]["schemas"]["PatientRequest"]["properties"]
    assert properties["notes"]["maxLength"] == 5000 and properties["address"]["maxLength"] == 500


def test_the_staff_form_refuses_it(technician_client):
    form = {**BODY, "sex": "U", "notes": "x" * 5001}
    response = technician_client.post(reverse("patients:create"), form)
    assert response.status_code == 200 and "notes" in response.context["form"].errors
    assert not Patient.objects.exists()


def test_the_service_refuses_it(db):
    with pytest.raises(ValidationError) as raised:
        services.patient_create(created_by=None, **{**BODY, "date_of_birth": dt.date(1970, 1, 1), "notes": "x" * 5001})
    assert "notes" in raised.value.message_dict
