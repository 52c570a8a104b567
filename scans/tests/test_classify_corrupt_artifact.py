"""A deployed model whose artifact is broken fails the reading with a short reason and no patient data."""

import copy

from mlcore import runtime
from mlcore.artifacts import ModelCard, model_card_save
from mlcore.models import ModelVersion
from scans.classification import scan_classify
from scans.models import AiStatus, Prediction
from scans.tests.ai_helpers import uploaded_scan


def _deploy_broken_copy(good: ModelVersion) -> ModelVersion:
    """Same files as the good version, but the card's checksum no longer matches the export."""
    card = copy.deepcopy(good.card)
    card["version"] = "broken-test"
    card["exports"]["litert"]["sha256"] = "0" * 64
    card["artifact"]["sha256"] = "0" * 64
    model_card_save(card=ModelCard.from_dict(card))
    ModelVersion.objects.filter(pk=good.pk).update(status=ModelVersion.Status.RETIRED)
    return ModelVersion.objects.create(
        version="broken-test", status=ModelVersion.Status.DEPLOYED, artifact_path=good.artifact_path, card=card
    )


def test_corrupt_artifact_marks_the_scan_failed(deployed_model, patient):
    _deploy_broken_copy(deployed_model)
    runtime.model_cache_clear()  # nothing loaded that could keep serving
    scan = uploaded_scan(patient)
    try:
        assert scan_classify(scan_id=scan.pk) == []
    finally:
        runtime.model_cache_clear()
    scan.refresh_from_db()
    assert scan.ai_status == AiStatus.FAILED
    assert "ArtifactCorrupt" in scan.ai_error and len(scan.ai_error) <= 200
    assert patient.last_name not in scan.ai_error and patient.mrn not in scan.ai_error
    assert not Prediction.objects.filter(scan=scan).exists()
