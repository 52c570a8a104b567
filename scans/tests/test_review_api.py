"""Review over the API: doctors of the care team decide; other roles and API clients without the permission
get 403; scans out of reach are 404; bad input is a 400 in the one error shape."""

import pytest

from octclinic.api_testing import PERSONAS, error_of, expected, persona_client, reach
from patients.factories import PatientFactory
from scans.models import Review
from scans.tests.review_helpers import waiting_reading

pytestmark = pytest.mark.django_db
URL = "/api/v1/reviews/"


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_doctors_decide(persona):
    client = persona_client(persona)
    reading = waiting_reading(PatientFactory())
    reach(client, reading.scan.patient)
    response = client.post(URL, {"scan": str(reading.scan.uuid), "decision": "approved"}, format="json")
    assert response.status_code == expected(persona, {"doctor"}, 201)
    assert Review.objects.exists() == (persona == "doctor")


def test_doctor_outside_the_team_gets_404():
    client = persona_client("doctor")
    reading = waiting_reading(PatientFactory())
    response = client.post(URL, {"scan": str(reading.scan.uuid), "decision": "approved"}, format="json")
    assert response.status_code == 404 and not Review.objects.exists()


def test_correction_read_back_and_bad_input():
    client = persona_client("doctor")
    reading = waiting_reading(PatientFactory(), label="DME")
    reach(client, reading.scan.patient)
    same = client.post(URL, {"scan": str(reading.scan.uuid), "decision": "corrected", "label": "DME"}, format="json")
    assert same.status_code == 400 and "approve the reading instead" in str(error_of(same))
    response = client.post(
        URL, {"scan": str(reading.scan.uuid), "decision": "corrected", "label": "CNV"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["decision"], body["label"], body["ai_label"], body["agrees_with_ai"]) == (
        "corrected",
        "CNV",
        "DME",
        False,
    )
    listed = client.get(URL).json()
    assert [r["id"] for r in listed["results"]] == [body["id"]]
    again = client.post(URL, {"scan": str(reading.scan.uuid), "decision": "approved"}, format="json")
    assert again.status_code == 400


def test_queue_over_the_api():
    client = persona_client("doctor")
    reading = waiting_reading(PatientFactory(), label="CNV")
    reach(client, reading.scan.patient)
    body = client.get(URL + "queue/").json()
    [item] = body["results"]
    assert body["count"] == 1
    assert item["scan"] == str(reading.scan.uuid) and item["urgency"] == "urgent"
    assert persona_client("technician").get(URL + "queue/").status_code == 403
