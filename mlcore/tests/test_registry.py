"""Deploy keeps exactly one deployed version; rollback restores the previously deployed one."""

import pytest
from django.db import IntegrityError, transaction

from mlcore.exceptions import ModelVersionUnavailable
from mlcore.models import ModelVersion
from mlcore.selectors import model_version_deployed
from mlcore.services import model_version_deploy, model_version_register, model_version_rollback
from mlcore.tests.conftest import card_copy, registry_row


@pytest.fixture
def versions(db, tiny_card):
    return [registry_row(card_copy(tiny_card, version=name)) for name in ("v1", "v2", "v3")]


def test_deploy_keeps_exactly_one_deployed_version(versions):
    v1, v2, v3 = versions
    for version in (v1, v2, v3):
        model_version_deploy(model_version=version, actor=None, reason="test", override_reason="checks not under test")
        assert model_version_deployed() == version
        assert ModelVersion.objects.filter(status="deployed").count() == 1
    assert {v.version: v.status for v in ModelVersion.objects.all()} == {
        "v1": "retired",
        "v2": "retired",
        "v3": "deployed",
    }


def test_rollback_restores_the_previously_deployed_version(versions):
    v1, v2, _ = versions
    model_version_deploy(model_version=v1, actor=None, reason="test", override_reason="checks not under test")
    model_version_deploy(model_version=v2, actor=None, reason="test", override_reason="checks not under test")
    assert model_version_rollback(actor=None, reason="test") == v1
    assert model_version_deployed() == v1
    v2.refresh_from_db()
    assert v2.status == "retired"
    assert model_version_rollback(actor=None, reason="test") == v2  # a second rollback undoes the first


def test_rollback_without_history_is_a_clear_error(versions):
    model_version_deploy(model_version=versions[0], actor=None, reason="test", override_reason="checks not under test")
    with pytest.raises(ModelVersionUnavailable, match="No previously deployed"):
        model_version_rollback(actor=None, reason="test")


def test_database_refuses_two_deployed_versions(versions):
    v1, v2, _ = versions
    ModelVersion.objects.filter(pk=v1.pk).update(status="deployed")
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=v2.pk).update(status="deployed")


def test_register_stores_artifact_card_and_thresholds(db, tiny_model, settings):
    settings.MLCORE_CONFIDENCE_THRESHOLD = 0.8
    version = model_version_register(
        model=tiny_model, version="registered", metrics={"accuracy": 0.5}, temperature=2.0, export_litert=False
    )
    assert version.status == "candidate"
    assert version.artifact_path == "mlcore/models/registered/model.keras"
    assert version.card["thresholds"] == {"confidence": 0.8, "uncertainty": 0.5}
    assert version.card["temperature"] == 2.0 and version.card["exports"] == {}
    with pytest.raises(ValueError, match="already exists"):
        model_version_register(model=tiny_model, version="registered", export_litert=False)


def test_tiny_model_version_deploy_helper_gives_a_serving_model(db):
    from mlcore import runtime
    from mlcore.testing import tiny_model_version_deploy

    version = tiny_model_version_deploy()
    assert model_version_deployed() == version
    assert runtime.model_current().version == version.version
    assert tiny_model_version_deploy().pk == version.pk  # idempotent, reuses the stored artifact
