"""``manage.py train_model`` and ``seed_demo_model``: progress in the output, clear errors, idempotent demo."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mlcore.models import ModelVersion, TrainingRun
from mlcore.selectors import model_version_deployed, model_version_provenance

pytestmark = pytest.mark.slow


def test_train_model_prints_progress_and_gates_the_deploy(db, phantom_dir, settings):
    settings.MLCORE_GATE_URGENT_RECALL_FLOOR = 0.0
    out = StringIO()
    call_command(
        "train_model", "--data", str(phantom_dir), "--epochs", "2", "--image-size", "75", "--batch-size", "8",
        "--base-weights", "none", "--gate", "--reason", "first model", stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert "[###############---------------] 1/2" in text and "[##############################] 2/2" in text
    assert "left)" in text and "Candidate oct-" in text
    # The gate compares it with nothing deployed and passes; the deploy checks still refuse a version trained on a
    # folder: it was never evaluated on this clinic's frozen test set (an automatic promotion never overrides).
    assert "gate passed but deploy refused" in text and "never evaluated on this clinic's frozen test set" in text
    assert model_version_deployed() is None


def test_train_model_refuses_bad_input_clearly(db, tmp_path):
    with pytest.raises(CommandError, match="existing folder"):
        call_command("train_model", "--data", str(tmp_path / "missing"))
    with pytest.raises(CommandError, match="epochs must be"):
        call_command("train_model", "--data", str(tmp_path), "--epochs", "0")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="failed"):
        call_command("train_model", "--data", str(tmp_path / "empty"), "--image-size", "75", stdout=StringIO())
    assert TrainingRun.objects.get().status == "failed"


def test_seed_demo_model_deploys_a_synthetic_model_once(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    out = StringIO()
    # 4 images per class are 3 phantom patients: one each for training, validation and test.
    call_command("seed_demo_model", "--per-class", "4", "--epochs", "1", "--image-size", "75", stdout=out)
    deployed = model_version_deployed()
    assert deployed is not None and deployed.is_synthetic
    assert (tmp_path / "mlcore-phantoms" / "DME").is_dir()
    # Fitted on its phantom validation split by the training code path, like any trained version's card.
    card = deployed.card
    assert card["intended_use"] == "demo" and card["training_data"]["synthetic"] is True
    validation_n = card["metrics"]["validation_images"]
    assert validation_n >= 4 and card["deferral"]["validation_n"] == card["calibration"]["validation_n"] == validation_n
    assert 0 < card["deferral"]["threshold"] <= 1 and card["deferral"]["risk_coverage"]
    assert card["calibration"]["temperature"] == card["temperature"] > 0
    provenance = model_version_provenance(model_version=deployed)
    assert provenance["notice"] == "synthetic demo model — not for clinical use" and not provenance["clinical_use"]
    assert f"readings under confidence {card['deferral']['threshold']:.2f} are deferred" in out.getvalue()
    # Deployed by the registry's system account over the deploy checks, with the override written down.
    action = deployed.actions.get(action="deploy")
    assert action.actor_name == "model-registry" and action.via == "demo" and "synthetic" in action.override_reason
    assert "never evaluated on this clinic's frozen test set" in " ".join(action.details["checks_overridden"])
    call_command("seed_demo_model", stdout=out)
    assert "already deployed" in out.getvalue() and ModelVersion.objects.count() == 1


def test_seed_demo_model_needs_phantoms_for_a_validation_split(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    with pytest.raises(CommandError, match="at least 3"):
        call_command("seed_demo_model", "--per-class", "2", stdout=StringIO())
    assert not TrainingRun.objects.exists()
