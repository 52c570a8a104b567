"""Grad-CAM: the served closed form equals the GradientTape computation, and overlays keep the scan's size."""

import io

import numpy as np
import pytest
from PIL import Image

from mlcore import gradcam, runtime


@pytest.fixture(scope="module")
def cam_model():
    """A 139 px model: mixed10 is 3x3 there, so the maps have spatial structure to compare."""
    from mlcore.testing import tiny_model_build

    return tiny_model_build(input_size=139, seed=3)


def test_served_heatmap_equals_gradient_tape_gradcam(cam_model):
    from mlcore.architecture import serving_function_build

    batch = np.random.default_rng(5).uniform(-1, 1, (2, 139, 139, 3)).astype(np.float32)
    cams = serving_function_build(cam_model)(batch)["cams"].numpy()
    assert cams.shape == (2, 3, 3, 4)
    for class_index in range(4):
        reference = gradcam.gradcam_reference(cam_model, batch, class_index)
        served = np.stack([gradcam.heatmap_from_cam(cams[i, ..., class_index]) for i in range(2)])
        np.testing.assert_allclose(served, reference, atol=1e-4)
        assert reference.max() == pytest.approx(1.0)


def test_heatmap_overlay_png_has_the_original_scan_size(tiny_card):
    scan = np.random.default_rng(2).integers(0, 255, (496, 1536), dtype=np.uint8)
    loaded = runtime.model_load(version=tiny_card.version)
    reading = runtime.classify([scan], heatmaps=True, loaded=loaded)[0]
    assert reading.heatmap is not None and 0.0 <= reading.heatmap.min() <= reading.heatmap.max() <= 1.0
    png = gradcam.heatmap_overlay_png(image=scan, heatmap=reading.heatmap)
    overlay = Image.open(io.BytesIO(png))
    assert overlay.format == "PNG" and overlay.mode == "RGB"
    assert overlay.size == (1536, 496)


def test_overlay_colours_hot_regions_and_leaves_cold_ones_gray():
    scan = np.full((496, 512), 100, dtype=np.uint8)
    heatmap = np.zeros((8, 8), dtype=np.float32)
    heatmap[:, 4:] = 1.0
    overlay = np.asarray(gradcam.heatmap_overlay(image=scan, heatmap=heatmap))
    assert overlay.shape == (496, 512, 3)
    cold, hot = overlay[248, 10], overlay[248, 500]
    assert cold.tolist() == [100, 100, 100]
    assert hot[0] > hot[2]  # red end of the ramp
    assert gradcam.heatmap_resize(heatmap, (512, 496)).shape == (496, 512)
