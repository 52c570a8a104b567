"""The promotion gate: a candidate replaces the deployed model only if it is not worse on the same test set."""

import pytest

from mlcore.datasets import dataset_snapshot_create
from mlcore.gating import gate_decide
from mlcore.models import ModelVersion
from mlcore.selectors import model_version_deployed
from mlcore.services import model_version_deploy, model_version_promote_if_not_worse
from mlcore.tests.conftest import card_copy, registry_row
from mlcore.training_sources import folder_items


def _report(accuracy, sensitivity, cnv=0.9, dme=0.9):
    per_class = {"CNV": {"recall": cnv}, "DME": {"recall": dme}, "DRUSEN": {"recall": 0.5}, "NORMAL": {"recall": 1}}
    return {"n": 100, "accuracy": accuracy, "urgent_sensitivity": sensitivity, "per_class": per_class}


def test_not_worse_within_the_margin_passes():
    decision = gate_decide(candidate=_report(0.895, 0.9), deployed=_report(0.9, 0.9), margin=0.01, recall_floor=0.8)
    assert decision.passed and "not worse" in decision.reason


def test_worse_accuracy_or_sensitivity_is_refused_with_the_reason():
    decision = gate_decide(candidate=_report(0.85, 0.9), deployed=_report(0.9, 0.9), margin=0.01, recall_floor=0.8)
    assert not decision.passed and "accuracy 0.850 is worse" in decision.reason
    decision = gate_decide(candidate=_report(0.9, 0.8), deployed=_report(0.9, 0.95), margin=0.01, recall_floor=0.5)
    assert not decision.passed and "urgent-referral sensitivity" in decision.reason


def test_urgent_recall_floor_applies_even_without_a_deployed_model():
    decision = gate_decide(candidate=_report(0.95, 0.9, dme=0.6), deployed=None, margin=0.01, recall_floor=0.8)
    assert not decision.passed and "DME recall 0.600 is below the floor 0.80" in decision.reason
    assert gate_decide(candidate={"n": 0}, deployed=None).passed is False


@pytest.fixture
def candidate_on_phantoms(db, tiny_card, phantom_dir):
    dataset = dataset_snapshot_create(items=folder_items(phantom_dir), source=str(phantom_dir))
    card = card_copy(tiny_card, version="cand")
    row = registry_row(card)
    row.card["training_data"] = {"dataset_id": dataset.pk, "source": str(phantom_dir)}
    row.save()
    deployed = registry_row(card_copy(tiny_card, version="live"))
    model_version_deploy(model_version=deployed, actor=None, reason="test", override_reason="checks not under test")
    return row


@pytest.mark.slow
def test_refused_candidate_stays_candidate_with_reason_shown(candidate_on_phantoms, settings):
    settings.MLCORE_GATE_URGENT_RECALL_FLOOR = 1.01  # unreachable: the gate must refuse
    decision = model_version_promote_if_not_worse(candidate=candidate_on_phantoms)
    candidate_on_phantoms.refresh_from_db()
    assert not decision.passed and candidate_on_phantoms.status == ModelVersion.Status.CANDIDATE
    lifecycle = candidate_on_phantoms.lifecycle
    assert lifecycle.gating_passed is False and "below the floor" in lifecycle.gating_reason
    assert lifecycle.gating_report["deployed_version"] == "live"
    assert lifecycle.gating_report["candidate"]["n"] == lifecycle.gating_report["deployed"]["n"] > 0


@pytest.mark.slow
def test_passing_candidate_is_deployed(candidate_on_phantoms, settings):
    from mlcore.tests.test_model_actions import deployable

    settings.MLCORE_GATE_URGENT_RECALL_FLOOR = 0.0
    settings.MLCORE_GATE_MARGIN = 0.0  # same weights as the deployed model: exactly equal scores pass
    deployable(candidate_on_phantoms)  # the deploy checks hold: test reports on its own and the clinic's test set
    decision = model_version_promote_if_not_worse(candidate=candidate_on_phantoms)
    assert decision.passed, decision.reason
    assert model_version_deployed() == candidate_on_phantoms
    assert ModelVersion.objects.get(version="live").status == ModelVersion.Status.RETIRED
