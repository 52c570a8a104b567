"""Clinic admin pages under /models/: list, model card, figures, deploy/rollback, training start/cancel/progress."""

import pytest
from django.urls import reverse

from mlcore.models import ModelVersionLifecycle, TrainingRun
from mlcore.selectors import model_version_deployed
from mlcore.tests.conftest import card_copy, registry_row


@pytest.fixture
def versions(db, tiny_card):
    rows = [registry_row(card_copy(tiny_card, version=f"v{i}")) for i in range(3)]
    rows[0].card["training_data"] = {"synthetic": True, "source": "phantoms"}
    rows[0].save()
    from mlcore.evaluation import metrics_compute

    evaluation = metrics_compute([[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1]], [0, 2])
    ModelVersionLifecycle.objects.create(
        model_version=rows[1], evaluation=evaluation, gating_passed=False, gating_reason="DME recall 0.5 is below"
    )
    return rows


def test_list_page_shows_versions_and_synthetic_mark_in_constant_queries(
    clinic_admin_client, versions, django_assert_max_num_queries, tiny_card
):
    with django_assert_max_num_queries(24):
        response = clinic_admin_client.get(reverse("mlcore:list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert all(f'data-version="v{i}"' in html for i in range(3)) and "synthetic demo model" in html
    for i in range(3, 8):
        registry_row(card_copy(tiny_card, version=f"v{i}"))
    with django_assert_max_num_queries(24):
        assert clinic_admin_client.get(reverse("mlcore:list")).status_code == 200


def test_card_page_shows_metrics_gate_reason_and_figures(clinic_admin_client, versions):
    response = clinic_admin_client.get(reverse("mlcore:card", args=["v1"]))
    html = response.content.decode()
    assert response.status_code == 200 and 'data-gate="refused"' in html and "DME recall 0.5 is below" in html
    png = clinic_admin_client.get(reverse("mlcore:figure", args=["v1", "confusion"]))
    assert png.status_code == 200 and png["Content-Type"] == "image/png" and png.content[:4] == b"\x89PNG"
    assert clinic_admin_client.get(reverse("mlcore:figure", args=["v1", "reliability"])).status_code == 200
    assert clinic_admin_client.get(reverse("mlcore:figure", args=["v2", "confusion"])).status_code == 404
    synthetic = clinic_admin_client.get(reverse("mlcore:card", args=["v0"])).content.decode()
    assert "Synthetic demo model" in synthetic


def test_doctors_read_cards_but_cannot_deploy_technicians_see_nothing(doctor_client, technician_client, versions):
    assert doctor_client.get(reverse("mlcore:card", args=["v1"])).status_code == 200
    assert doctor_client.post(reverse("mlcore:deploy", args=["v1"])).status_code == 403
    assert doctor_client.post(reverse("mlcore:training_start"), {"epochs": 1, "input_size": 75}).status_code == 403
    assert technician_client.get(reverse("mlcore:list")).status_code == 403
    assert technician_client.get(reverse("mlcore:figure", args=["v1", "confusion"])).status_code == 403
    assert model_version_deployed() is None


def test_deploy_and_rollback_buttons(clinic_admin_client, versions):
    confirm = clinic_admin_client.get(reverse("mlcore:deploy", args=["v1"])).content.decode()
    assert "data-deploy-confirm" in confirm and model_version_deployed() is None  # a GET only asks
    override = {"reason": "better model", "override_reason": "checks not under test here"}
    clinic_admin_client.post(reverse("mlcore:deploy", args=["v1"]), override)
    clinic_admin_client.post(reverse("mlcore:deploy", args=["v2"]), override)
    assert model_version_deployed().version == "v2"
    response = clinic_admin_client.post(reverse("mlcore:rollback"), {"reason": "v2 misreads"}, follow=True)
    assert model_version_deployed().version == "v1" and "Rolled back" in response.content.decode()


def test_start_cancel_and_poll_training(clinic_admin_client, clinic_admin, monkeypatch, db):
    monkeypatch.setattr("mlcore.tasks.training_run_task.delay", lambda run_id: None)
    response = clinic_admin_client.post(reverse("mlcore:training_start"), {"epochs": 2, "input_size": 75}, follow=True)
    run = TrainingRun.objects.get()
    assert run.started_by == clinic_admin and run.params["epochs"] == 2 and run.params["data"] == "clinic"
    assert f"training-run-{run.pk}" in response.content.decode()
    again = clinic_admin_client.post(reverse("mlcore:training_start"), {"epochs": 2, "input_size": 75}, follow=True)
    assert "Another training run is queued or running" in again.content.decode()
    bad = clinic_admin_client.post(reverse("mlcore:training_start"), {"epochs": 0, "input_size": 75}, follow=True)
    assert bad.status_code == 200 and "Training not started" in bad.content.decode()
    TrainingRun.objects.filter(pk=run.pk).update(status="running", epoch=1, loss=0.5)
    partial = clinic_admin_client.get(reverse("mlcore:training_progress", args=[run.pk]))
    assert 'hx-trigger="every 2s"' in partial.content.decode() and 'value="1" max="2"' in partial.content.decode()
    clinic_admin_client.post(reverse("mlcore:training_cancel", args=[run.pk]), HTTP_HX_REQUEST="true")
    run.refresh_from_db()
    assert run.cancel_requested
