"""``manage.py evaluate_model``: a clinic's local validation of the deployed (or a named) model on a folder."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mlcore.services import model_version_deploy
from mlcore.tests.conftest import card_copy, registry_row

pytestmark = pytest.mark.slow


@pytest.fixture
def deployed(db, tiny_card):
    return model_version_deploy(
        model_version=registry_row(card_copy(tiny_card, version="local")),
        actor=None,
        reason="test",
        override_reason="checks not under test",
    )


def test_json_output_is_one_object_with_the_promised_keys(deployed, phantom_dir):
    out = StringIO()
    call_command("evaluate_model", "--data", str(phantom_dir), "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert {"accuracy", "per_class", "confusion_matrix", "urgent_sensitivity", "urgent_specificity", "ece", "n"} <= set(
        report
    )
    assert report["n"] == 40 and report["version"] == "local"
    assert sum(map(sum, report["confusion_matrix"])) == 40


def test_text_output_and_named_version(deployed, phantom_dir, tiny_card):
    registry_row(card_copy(tiny_card, version="other"))
    out = StringIO()
    call_command("evaluate_model", "--version", "other", "--data", str(phantom_dir), stdout=out)
    assert "model other" in out.getvalue() and "urgent referral" in out.getvalue()


def test_clear_errors(db, phantom_dir, tmp_path):
    with pytest.raises(CommandError, match="No model version is deployed"):
        call_command("evaluate_model", "--data", str(phantom_dir))
    with pytest.raises(CommandError, match="No model version 'nope'"):
        call_command("evaluate_model", "--version", "nope", "--data", str(phantom_dir))


def test_bad_folder_is_a_clear_error(deployed, tmp_path):
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("evaluate_model", "--data", str(tmp_path / "missing"))
    with pytest.raises(CommandError, match="No labelled images"):
        call_command("evaluate_model", "--data", str(tmp_path))
