"""Deploy, roll back, evaluate and train over the API: clinic admins only, through the same services,
with 409 for refused state changes and 400 naming the field for bad input."""

from __future__ import annotations

import pytest
from django.utils import timezone

from mlcore.models import ModelVersion, TrainingRun
from mlcore.tests.conftest import broken_card, card_copy, registry_row
from octclinic.api_testing import PERSONAS, error_of, expected, persona_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("persona", PERSONAS)
def test_deploy_then_roll_back_for_clinic_admins_only(persona, tiny_card):
    first = registry_row(card_copy(tiny_card, version="api-a"), status=ModelVersion.Status.DEPLOYED)
    ModelVersion.objects.filter(pk=first.pk).update(deployed_at=timezone.now())
    second = registry_row(card_copy(tiny_card, version="api-b"))
    client = persona_client(persona)
    body = {"reason": "newer", "override_reason": "checks not under test"}
    deployed = client.post("/api/v1/model-versions/api-b/deploy/", body, format="json")
    assert deployed.status_code == expected(persona, {"clinic_admin"}, 200)
    first.refresh_from_db()
    second.refresh_from_db()
    if persona != "clinic_admin":
        assert (first.status, second.status) == ("deployed", "candidate")
        return
    assert deployed.json()["status"] == "deployed"
    assert (first.status, second.status) == ("retired", "deployed")
    rolled = client.post("/api/v1/model-versions/rollback/", {"reason": "api-b misreads"}, format="json")
    assert rolled.status_code == 200 and rolled.json()["version"] == "api-a"


def test_broken_artifact_is_a_409_and_the_current_model_keeps_serving(tiny_card):
    current = registry_row(card_copy(tiny_card, version="api-ok"), status=ModelVersion.Status.DEPLOYED)
    registry_row(broken_card(tiny_card, version="api-broken"))
    response = persona_client("clinic_admin").post(
        "/api/v1/model-versions/api-broken/deploy/", {"reason": "try", "override_reason": "test"}, format="json"
    )
    assert response.status_code == 409 and error_of(response)["code"] == "conflict"
    current.refresh_from_db()
    assert current.status == "deployed"


def test_nothing_to_roll_back_to_is_a_409():
    response = persona_client("clinic_admin").post("/api/v1/model-versions/rollback/", {"reason": "x"}, format="json")
    assert response.status_code == 409


def test_evaluate_on_an_allowed_folder(tiny_card, phantom_dir, settings, django_capture_on_commit_callbacks):
    registry_row(card_copy(tiny_card, version="api-eval"))
    client = persona_client("clinic_admin")
    settings.MLCORE_EVALUATION_ROOTS = []
    refused = client.post("/api/v1/model-versions/api-eval/evaluate/", {"data": str(phantom_dir)}, format="json")
    assert refused.status_code == 400 and "data" in error_of(refused)["fields"]
    settings.MLCORE_EVALUATION_ROOTS = [str(phantom_dir.parent)]
    with django_capture_on_commit_callbacks() as queued:  # queued for the training worker, not scored here
        response = client.post("/api/v1/model-versions/api-eval/evaluate/", {"data": str(phantom_dir)}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued" and response.json()["kind"] == "folder_evaluation"
    assert len(queued) == 1
    from mlcore.services import model_job_execute

    model_job_execute(job_id=response.json()["id"])  # what the worker does
    body = client.get(f"/api/v1/model-jobs/{response.json()['id']}/").json()
    assert body["status"] == "succeeded" and body["done"] == body["total"] == 40
    result = body["result"]
    assert result["n"] == 40 and len(result["confusion_matrix"]) == 4
    assert {"accuracy", "per_class", "urgent_sensitivity", "urgent_specificity", "ece"} <= set(result)
    outside = client.post("/api/v1/model-versions/api-eval/evaluate/", {"data": "/etc"}, format="json")
    assert outside.status_code == 400


@pytest.mark.parametrize("persona", PERSONAS)
def test_start_and_cancel_training(persona):
    client = persona_client(persona)
    started = client.post("/api/v1/training-runs/", {"epochs": 2, "image_size": 96}, format="json")
    assert started.status_code == expected(persona, {"clinic_admin"}, 202)
    if persona != "clinic_admin":
        assert not TrainingRun.objects.exists()
        return
    run = TrainingRun.objects.get()
    assert run.params["epochs"] == 2 and run.params["input_size"] == 96
    busy = client.post("/api/v1/training-runs/", {}, format="json")
    assert busy.status_code == 409
    cancelled = client.post(f"/api/v1/training-runs/{run.pk}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


def test_bad_training_parameters_name_the_field():
    client = persona_client("clinic_admin")
    response = client.post("/api/v1/training-runs/", {"epochs": 0, "data": "/etc"}, format="json")
    assert response.status_code == 400
    assert {"epochs", "data"} <= set(error_of(response)["fields"])
