"""The API says of every reading whether the AI deferred, whether the image was recognised as OCT (and why not),
and which model made it: synthetic / clinical use, the notice to show, the evaluation headline. A deferred reading
still carries its label and probabilities here (``deferred: true``); the pages withhold them."""

import pytest

from octclinic.api_testing import persona_client, reach
from patients.factories import PatientFactory
from scans.factories import ModelVersionRowFactory, ReviewFactory
from scans.tests.review_helpers import waiting_reading

pytestmark = pytest.mark.django_db
SYNTHETIC = {"training_data": {"synthetic": True}}
EVALUATED = {
    "metrics": {"test": {"n": 135, "accuracy": 0.78, "urgent_sensitivity": 0.92, "urgent_specificity": 0.85}},
    "cross_validation": {
        "headline": {"n": 540, "accuracy": 0.81, "urgent_sensitivity": 0.93, "urgent_specificity": 0.86, "folds": 5}
    },
}


def _client(persona, *patients):
    client = persona_client(persona)
    reach(client, *patients)
    return client


def test_a_deferred_reading_from_a_synthetic_model(patient):
    model = ModelVersionRowFactory(version="demo-1", card=SYNTHETIC)
    reading = waiting_reading(patient, label="DME", deferred=True, model_version=model)
    [body] = _client("technician", patient).get(f"/api/v1/scans/{reading.scan.uuid}/predictions/").json()
    assert (body["deferred"], body["recognised"], body["refusal_reason"]) == (True, True, "")
    assert body["label"] == "DME" and body["probabilities"]["DME"] == pytest.approx(0.9)
    assert body["model"] == {
        "version": "demo-1",
        "synthetic": True,
        "clinical_use": False,
        "notice": "synthetic demo model — not for clinical use",
        "headline": None,
    }


def test_a_refused_image_from_an_evaluated_model(patient):
    model = ModelVersionRowFactory(version="clinic-7", card=EVALUATED)
    reading = waiting_reading(patient, label="", recognised=False, refusal_reason="blank frame", model_version=model)
    [body] = _client("doctor", patient).get(f"/api/v1/scans/{reading.scan.uuid}/predictions/").json()
    assert (body["label"], body["urgency"], body["recognised"], body["refusal_reason"]) == (
        "",
        "unrecognised",
        False,
        "blank frame",
    )
    model_body = body["model"]
    assert (model_body["synthetic"], model_body["clinical_use"], model_body["notice"]) == (False, True, "")
    assert model_body["headline"] == {
        "accuracy": 0.81,
        "urgent_sensitivity": 0.93,
        "urgent_specificity": 0.86,
        "n": 540,
        "folds": 5,
        "source": "cross_validation",
    }


def test_a_non_clinical_intended_use_is_not_for_clinical_use(patient):
    model = ModelVersionRowFactory(version="research-2", card={"intended_use": "research", **EVALUATED})
    reading = waiting_reading(patient, model_version=model)
    [body] = _client("technician", patient).get(f"/api/v1/scans/{reading.scan.uuid}/predictions/").json()
    assert body["model"]["clinical_use"] is False and body["model"]["synthetic"] is False
    assert body["model"]["notice"] == "research model — not for clinical use"


def test_review_api_and_queue_carry_the_readings_side(doctor):
    patient = PatientFactory()
    client = _client("doctor", patient)
    model = ModelVersionRowFactory(version="demo-1", card=SYNTHETIC)
    deferred = waiting_reading(patient, label="CNV", deferred=True, model_version=model)
    refused = waiting_reading(patient, label="", recognised=False, refusal_reason="fundus photo", model_version=model)
    queue = client.get("/api/v1/reviews/queue/").json()["results"]
    assert [(i["urgency"], i["deferred"], i["recognised"], i["refusal_reason"]) for i in queue] == [
        ("deferred", True, True, ""),
        ("unrecognised", False, False, "fundus photo"),
    ]
    assert {i["model"]["notice"] for i in queue} == {"synthetic demo model — not for clinical use"}
    decided = client.post(
        "/api/v1/reviews/", {"scan": str(refused.scan.uuid), "decision": "corrected", "label": "DME"}, format="json"
    )
    assert decided.status_code == 201, decided.content
    body = decided.json()
    assert (body["deferred"], body["recognised"], body["refusal_reason"], body["agrees_with_ai"]) == (
        False,
        False,
        "fundus photo",
        None,
    )
    assert body["model"]["version"] == "demo-1" and body["model"]["synthetic"] is True
    refused_approval = client.post(
        "/api/v1/reviews/", {"scan": str(deferred.scan.uuid), "decision": "approved"}, format="json"
    )
    assert refused_approval.status_code == 400


def test_review_list_without_a_model_version(doctor):
    patient = PatientFactory()
    client = _client("doctor", patient)
    ReviewFactory(prediction=waiting_reading(patient), reviewer=doctor, model_version=None)
    [row] = client.get("/api/v1/reviews/").json()["results"]
    assert row["model"] is None and row["deferred"] is False and row["recognised"] is True


def test_a_reading_names_the_device_that_took_the_scan(patient):
    reading = waiting_reading(patient, label="CNV", model_version=ModelVersionRowFactory(version="dev-1"))
    type(reading).objects.filter(pk=reading.pk).update(device="Optovue RTVue XR")
    [body] = _client("technician", patient).get(f"/api/v1/scans/{reading.scan.uuid}/predictions/").json()
    assert body["device"] == "Optovue RTVue XR"
