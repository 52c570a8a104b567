"""Model actions are clinical actions (issue #17, part 4): each deploy, rollback, retirement, gate, shadow switch and
training request/cancel records who, when, which version, from which to which and why, in the audit trail and on
the version's page; deploying is refused by its checks unless overridden in writing; gating and evaluation are
background jobs; only a candidate can be gated, whichever door (page, admin, API, command) asks."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.urls import reverse

from mlcore.evaluation import metrics_compute
from mlcore.exceptions import ModelActionRefused
from mlcore.labels import CLASSES
from mlcore.models import ModelAction, ModelJob, ModelVersion, ModelVersionLifecycle, TrainingRun
from mlcore.selectors import model_version_deploy_problems, model_version_deployed
from mlcore.services import (
    model_job_execute,
    model_version_deploy,
    model_version_gate,
    model_version_gate_request,
    model_version_retire,
    model_version_rollback,
    model_version_shadow_set,
    training_run_cancel,
    training_run_request,
)
from mlcore.tests.conftest import card_copy, registry_row
from octclinic.api_testing import persona_client


def _report(per_class: dict[str, int]) -> dict:
    """An evaluation report with ``per_class[c]`` correctly read scans of each class."""
    labels = [CLASSES.index(c) for c, n in per_class.items() for _ in range(n)]
    probabilities = [[0.97 if i == label else 0.01 for i in range(len(CLASSES))] for label in labels]
    return metrics_compute(probabilities, labels)


def deployable(model_version: ModelVersion, *, per_class: int = 12) -> ModelVersion:
    """Give a version what the deploy checks ask for: a test report and one on this clinic's frozen test set."""
    report = _report(dict.fromkeys(CLASSES, per_class))
    ModelVersionLifecycle.objects.update_or_create(
        model_version=model_version,
        defaults={"evaluation": report, "clinic_evaluation": report | {"dataset_id": 1, "content_hash": "c" * 64}},
    )
    return model_version


@pytest.fixture
def live_and_candidate(db, tiny_card):
    live = registry_row(card_copy(tiny_card, version="live"))
    deployable(live)
    model_version_deploy(model_version=live, actor=None, reason="first model", via="command")
    candidate = deployable(registry_row(card_copy(tiny_card, version="cand")))
    return live, candidate


def _audit_entries(action: ModelAction):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(ModelAction), object_pk=str(action.pk)
    )


def test_deploy_needs_a_reason_and_records_who_from_which_to_which_why(live_and_candidate, clinic_admin):
    live, candidate = live_and_candidate
    with pytest.raises(ModelActionRefused, match="a reason is required"):
        model_version_deploy(model_version=candidate, actor=clinic_admin, reason="  ")
    assert model_version_deployed() == live

    model_version_deploy(model_version=candidate, actor=clinic_admin, reason="better DME recall", via="web")
    action = ModelAction.objects.get(action="deploy", model_version=candidate)
    assert (action.actor, action.actor_name, action.via) == (clinic_admin, clinic_admin.username, "web")
    assert (action.from_version, action.to_version, action.reason) == ("live", "cand", "better DME recall")
    entry = _audit_entries(action).get()  # in the audit trail, with the acting user
    assert entry.actor == clinic_admin and entry.action == LogEntry.Action.CREATE
    assert entry.changes["reason"] == [None, "better DME recall"] and entry.changes["from_version"] == [None, "live"]


def test_rollback_needs_a_reason_and_is_recorded(live_and_candidate, clinic_admin, clinic_admin_client):
    live, candidate = live_and_candidate
    model_version_deploy(model_version=candidate, actor=clinic_admin, reason="newer")
    with pytest.raises(ModelActionRefused, match="a reason is required"):
        model_version_rollback(actor=clinic_admin, reason="")
    assert model_version_rollback(actor=clinic_admin, reason="cand misreads drusen") == live
    action = ModelAction.objects.get(action="rollback")
    assert (action.from_version, action.to_version, action.reason) == ("cand", "live", "cand misreads drusen")
    assert _audit_entries(action).get().actor == clinic_admin
    trail = clinic_admin_client.get(reverse("audit_log")).content.decode()  # the clinic admins' audit page
    assert f"mlcore.modelaction #{action.pk}" in trail and "cand misreads drusen" in trail


@pytest.mark.parametrize(
    ("lifecycle", "problem"),
    [
        ({}, "it has no test report"),
        ({"evaluation": _report({"CNV": 12, "DME": 12, "NORMAL": 12})}, "its test set has no DRUSEN scans"),
        (
            {"evaluation": _report({"CNV": 12, "DME": 12, "DRUSEN": 3, "NORMAL": 12})},
            "its test set has fewer than 10 scans of a class (DRUSEN 3)",
        ),
        ({"evaluation": _report(dict.fromkeys(CLASSES, 12))}, "never evaluated on this clinic's frozen test set"),
    ],
)
def test_deploy_checks_refuse_with_a_clear_message(db, tiny_card, clinic_admin, lifecycle, problem):
    version = registry_row(card_copy(tiny_card, version="unchecked"))
    ModelVersionLifecycle.objects.create(model_version=version, **lifecycle)
    with pytest.raises(ModelActionRefused) as refused:
        model_version_deploy(model_version=version, actor=clinic_admin, reason="try")
    assert problem in str(refused.value) and "override" in str(refused.value)
    version.refresh_from_db()
    assert version.status == "candidate" and model_version_deployed() is None
    action = ModelAction.objects.get(action="deploy_refused")  # the refusal is on record too
    assert problem in " ".join(action.details["problems"]) and action.actor == clinic_admin


def test_minimum_scans_per_class_is_configurable(db, tiny_card, settings):
    version = deployable(registry_row(card_copy(tiny_card, version="small")), per_class=12)
    assert model_version_deploy_problems(model_version=version) == []
    settings.MLCORE_DEPLOY_MIN_TEST_PER_CLASS = 20
    problems = model_version_deploy_problems(model_version=version)
    assert "its test set has fewer than 20 scans of a class (CNV 12, DME 12, DRUSEN 12, NORMAL 12)" in problems


def test_clinic_admin_overrides_the_checks_in_writing_and_it_is_audited(db, tiny_card, clinic_admin):
    version = registry_row(card_copy(tiny_card, version="override-me"))
    model_version_deploy(
        model_version=version, actor=clinic_admin, reason="vendor model", override_reason="validated by the vendor"
    )
    action = ModelAction.objects.get(action="deploy")
    assert action.override_reason == "validated by the vendor"
    assert "it has no test report" in action.details["checks_overridden"]
    assert _audit_entries(action).get().changes["override_reason"] == [None, "validated by the vendor"]


def test_retire_shadow_and_training_are_recorded(live_and_candidate, clinic_admin, monkeypatch):
    live, candidate = live_and_candidate
    model_version_shadow_set(model_version=candidate, shadow=True, actor=clinic_admin)
    model_version_shadow_set(model_version=candidate, shadow=False, actor=clinic_admin)
    with pytest.raises(ModelActionRefused, match="a reason is required"):
        model_version_retire(model_version=live, actor=clinic_admin)  # stops all readings: say why
    model_version_retire(model_version=live, actor=clinic_admin, reason="device change")
    monkeypatch.setattr("mlcore.tasks.training_run_task.delay", lambda run_id: None)
    run = training_run_request(params={"data": "clinic", "epochs": 1}, started_by=clinic_admin)
    training_run_cancel(run=run, actor=clinic_admin)
    training_run_cancel(run=run, actor=clinic_admin)  # nothing left to cancel: nothing recorded
    actions = list(ModelAction.objects.order_by("pk").values_list("action", "actor__username", "to_version"))
    assert actions[1:] == [
        ("shadow_on", clinic_admin.username, "cand"),
        ("shadow_off", clinic_admin.username, ""),
        ("retire", clinic_admin.username, ""),
        ("training_requested", clinic_admin.username, ""),
        ("training_cancelled", clinic_admin.username, ""),
    ]
    assert ModelAction.objects.get(action="training_cancelled").training_run == run
    assert LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(ModelAction)).count() == 6


def test_only_a_candidate_can_be_gated_one_rule_for_every_door(live_and_candidate, clinic_admin_client, clinic_admin):
    live, _ = live_and_candidate
    message = "Only a candidate can be gated: live is deployed"
    with pytest.raises(ModelActionRefused, match=message):
        model_version_gate_request(model_version=live, actor=clinic_admin)
    with pytest.raises(ModelActionRefused, match=message):
        model_version_gate(candidate=live)
    page = clinic_admin_client.post(reverse("mlcore:gate", args=["live"]), follow=True)
    assert message in page.content.decode()
    admin = clinic_admin_client.post(
        reverse("admin:mlcore_modelversion_changelist"),
        {"action": "gate_selected", "_selected_action": [live.pk]},
        follow=True,
    )
    assert message in admin.content.decode()
    api = persona_client("clinic_admin").post("/api/v1/model-versions/live/gate/")
    assert api.status_code == 409 and message in api.content.decode()
    with pytest.raises(CommandError, match=message):
        call_command("deploy_model", "live", "--gate", "--reason", "x")
    assert not ModelJob.objects.exists()


def test_gate_runs_as_a_background_job_with_progress(
    live_and_candidate, clinic_admin_client, clinic_admin, phantom_dir, django_capture_on_commit_callbacks, monkeypatch
):
    from mlcore.datasets import dataset_snapshot_create
    from mlcore.training_sources import folder_items

    _, candidate = live_and_candidate
    dataset = dataset_snapshot_create(items=folder_items(phantom_dir), source=str(phantom_dir))
    candidate.card["training_data"] = {"dataset_id": dataset.pk, "source": str(phantom_dir)}
    candidate.save()
    sent = []
    monkeypatch.setattr("mlcore.tasks.model_job_task.delay", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        response = clinic_admin_client.post(reverse("mlcore:gate", args=["cand"]), follow=True)
    job = ModelJob.objects.get()
    assert sent == [job.pk] and job.status == "queued" and "queued" in response.content.decode()
    candidate.lifecycle.refresh_from_db()
    assert candidate.lifecycle.gating_reason == ""  # nothing was scored inside the request
    card = clinic_admin_client.get(reverse("mlcore:card", args=["cand"])).content.decode()
    assert f'id="model-job-{job.pk}"' in card and "waiting for the training worker" in card

    job = model_job_execute(job_id=job.pk, worker="training@test")
    test_items = sum(1 for row in dataset.items if row["split"] == "test")
    assert job.status == "succeeded" and job.worker == "training@test"
    assert job.done == job.total == 2 * test_items  # candidate and deployed model, each on the same test split
    assert job.result["reason"] and job.result["passed"] in (True, False)
    gate = ModelAction.objects.get(action="gate")
    assert gate.actor == clinic_admin and gate.reason == job.result["reason"] and gate.from_version == "live"
    assert ModelAction.objects.filter(action="gate_requested", actor=clinic_admin).count() == 1
    assert model_job_execute(job_id=job.pk).status == "succeeded"  # a redelivered task changes nothing
    assert ModelAction.objects.filter(action="gate").count() == 1


def test_deploy_confirmation_page_shows_the_change_the_gate_and_the_checks(live_and_candidate, clinic_admin_client):
    _, candidate = live_and_candidate
    ModelVersionLifecycle.objects.filter(model_version=candidate).update(
        gating_passed=True,
        gating_reason="not worse than the deployed model: accuracy 0.910 vs 0.880",
        gating_report={
            "deployed_version": "live",
            "candidate": {"n": 48, "accuracy": 0.91, "urgent_sensitivity": 0.97},
            "deployed": {"n": 48, "accuracy": 0.88, "urgent_sensitivity": 0.95},
        },
        clinic_evaluation={},
    )
    page = clinic_admin_client.get(reverse("mlcore:deploy", args=["cand"])).content.decode()
    assert "instead of" in page and 'href="/models/live/"' in page and 'data-gate="passed"' in page
    assert "0.910" in page and "0.880" in page and "data-gate-table" in page
    assert "never evaluated on this clinic&#x27;s frozen test set" in page and "override_reason" in page

    no_reason = clinic_admin_client.post(reverse("mlcore:deploy", args=["cand"]), {"reason": ""})
    assert "Write why this version is deployed" in no_reason.content.decode()
    no_override = clinic_admin_client.post(reverse("mlcore:deploy", args=["cand"]), {"reason": "better"})
    assert "write why you override them" in no_override.content.decode()
    assert model_version_deployed().version == "live"
    clinic_admin_client.post(
        reverse("mlcore:deploy", args=["cand"]), {"reason": "better", "override_reason": "checked by hand"}
    )
    assert model_version_deployed().version == "cand"
    history = clinic_admin_client.get(reverse("mlcore:card", args=["cand"])).content.decode()
    assert 'data-action="deploy"' in history and "live → cand" in history and "checked by hand" in history
    live_history = clinic_admin_client.get(reverse("mlcore:card", args=["live"])).content.decode()
    assert "live → cand" in live_history  # on the version it replaced too


def test_commands_need_a_reason_and_act_as_the_system_account(db, tiny_card):
    deployable(registry_row(card_copy(tiny_card, version="cmd")))
    with pytest.raises(CommandError, match="--reason is required"):
        call_command("deploy_model", "cmd")
    call_command("deploy_model", "cmd", "--reason", "nightly change window")
    action = ModelAction.objects.get(action="deploy")
    assert (action.actor_name, action.via, action.reason) == ("model-registry", "command", "nightly change window")
    assert not action.actor.is_active and not action.actor.has_usable_password()  # a system account, no login
    assert _audit_entries(action).get().actor == action.actor


def test_api_deploy_needs_a_reason_and_lists_the_problems(db, tiny_card):
    registry_row(card_copy(tiny_card, version="api-x"))
    client = persona_client("clinic_admin")
    missing = client.post("/api/v1/model-versions/api-x/deploy/", {}, format="json")
    assert missing.status_code == 400
    refused = client.post("/api/v1/model-versions/api-x/deploy/", {"reason": "try"}, format="json")
    assert refused.status_code == 409 and "it has no test report" in refused.content.decode()
    assert TrainingRun.objects.count() == 0 and model_version_deployed() is None
