"""Readings carry proper probability distributions, from either runtime, and the runtimes agree."""

import numpy as np
import pytest
from django.test import override_settings
from PIL import Image

from mlcore import runtime
from mlcore.labels import CLASSES


def _scans() -> list:
    """B-scans (phantoms, so the OCT check lets them be read) as a gray array, an RGB PIL image, an RGB array."""
    from mlcore.phantom import phantom_bscan

    wide = phantom_bscan("DME", seed=0, width=1024, height=496)
    other = phantom_bscan("CNV", seed=1, width=768, height=496)
    return [wide, Image.fromarray(wide[:, :512]).convert("RGB"), np.repeat(other[..., None], 3, axis=2)]


@pytest.mark.parametrize("choice", ["litert", "tensorflow"])
def test_probabilities_sum_to_one_for_each_runtime(tiny_card, choice):
    with override_settings(MLCORE_RUNTIME=choice):
        loaded = runtime.model_load(version=tiny_card.version)
        readings = runtime.classify(_scans(), loaded=loaded)
    assert loaded.runtime == choice
    assert len(readings) == 3
    for reading in readings:
        assert list(reading.probabilities) == list(CLASSES)
        assert sum(reading.probabilities.values()) == pytest.approx(1.0, abs=1e-9)
        assert all(0.0 <= p <= 1.0 for p in reading.probabilities.values())
        assert reading.label == max(reading.probabilities, key=reading.probabilities.get)
        assert reading.confidence == reading.probabilities[reading.label]
        assert reading.model_version == "tiny-a" and reading.temperature == 1.5
        assert reading.model_ms > 0 and len(reading.input_sha256) == 64


def test_litert_export_matches_keras_outputs(tiny_card, tiny_model):
    """The faster runtime is only used because it loses nothing: same logits and Grad-CAM maps as Keras."""
    batch = np.random.default_rng(1).uniform(-1, 1, (3, 75, 75, 3)).astype(np.float32)
    with override_settings(MLCORE_RUNTIME="litert"):
        lite = runtime.model_load(version=tiny_card.version)
    keras_logits = tiny_model(batch, training=False).numpy()
    lite_logits, lite_cams = lite.engine.run(batch)
    np.testing.assert_allclose(lite_logits, keras_logits, rtol=1e-4, atol=1e-6)
    assert lite_cams.shape == (3, 3, 3, len(CLASSES))  # mixed7's grid at 75 px
    assert tiny_card.exports["litert"]["max_abs_probability_diff"] < 1e-4


def test_bulk_batches_give_the_same_readings_as_single_scans(tiny_card):
    with override_settings(MLCORE_RUNTIME="litert", MLCORE_BATCH_SIZE=2):
        loaded = runtime.model_load(version=tiny_card.version)
        bulk = runtime.classify(_scans(), loaded=loaded)
        single = [runtime.classify([scan], loaded=loaded)[0] for scan in _scans()]
    for a, b in zip(bulk, single, strict=True):
        assert a.input_sha256 == b.input_sha256
        for name in CLASSES:
            assert a.probabilities[name] == pytest.approx(b.probabilities[name], abs=1e-6)


def test_classify_uses_the_deployed_version(db, tiny_card):
    from mlcore.tests.conftest import registry_row

    registry_row(tiny_card, status="deployed")
    reading = runtime.classify_one(_scans()[0])
    assert reading.model_version == "tiny-a"
    assert runtime.model_cached().version == "tiny-a"
