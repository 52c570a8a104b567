"""Shadow mode: the candidate reads the same bytes beside the deployed model; agreement is stored per input."""

import pytest

from mlcore import runtime
from mlcore.exceptions import ModelVersionUnavailable
from mlcore.models import ShadowReading
from mlcore.phantom import phantom_png
from mlcore.selectors import shadow_agreement_report
from mlcore.services import model_version_deploy, model_version_shadow_set
from mlcore.shadow import shadow_cache_clear, shadow_reading_record
from mlcore.tests.conftest import card_copy, registry_row


@pytest.fixture
def deployed_and_shadow(db, tiny_card):
    live = model_version_deploy(
        model_version=registry_row(card_copy(tiny_card, version="live")),
        actor=None,
        reason="test",
        override_reason="checks not under test",
    )
    candidate = registry_row(card_copy(tiny_card, version="shadowed"))
    shadow_cache_clear()
    yield live, candidate
    shadow_cache_clear()


def test_no_shadow_candidate_records_nothing(deployed_and_shadow):
    image = phantom_png("CNV", seed=1)
    assert shadow_reading_record(image_bytes=image, deployed_reading=runtime.classify_one(image)) is None


def test_shadow_reading_is_stored_once_per_input_and_reported(deployed_and_shadow):
    live, candidate = deployed_and_shadow
    model_version_shadow_set(model_version=candidate, shadow=True, actor=None)
    images = [phantom_png(label, seed=2) for label in ("CNV", "DME", "NORMAL")]
    for image in images:
        reading = runtime.classify_one(image)
        row = shadow_reading_record(image_bytes=image, deployed_reading=reading)
        assert row.candidate == candidate and row.deployed_version == "live" and row.agrees  # same weights
    again = shadow_reading_record(image_bytes=images[0], deployed_reading=runtime.classify_one(images[0]))
    assert again.pk == ShadowReading.objects.first().pk and ShadowReading.objects.count() == 3
    report = shadow_agreement_report(candidate=candidate)
    assert report["n"] == 3 and report["agreement_rate"] == 1.0


def test_only_candidates_shadow_and_deploying_ends_shadow(deployed_and_shadow):
    live, candidate = deployed_and_shadow
    with pytest.raises(ModelVersionUnavailable, match="Only a candidate"):
        model_version_shadow_set(model_version=live, shadow=True, actor=None)
    model_version_shadow_set(model_version=candidate, shadow=True, actor=None)
    model_version_deploy(model_version=candidate, actor=None, reason="test", override_reason="checks not under test")
    candidate.lifecycle.refresh_from_db()
    assert candidate.lifecycle.shadow is False
