"""Grad-CAM: the served closed form equals the GradientTape computation; layers and overlays keep the scan's size."""

import io

import numpy as np
import pytest
from PIL import Image

from mlcore import gradcam, runtime


@pytest.fixture(scope="module")
def cam_model():
    """A 139 px model of the earlier head (mixed10 only, 3x3 there): its map is the textbook Grad-CAM."""
    import keras

    from mlcore.architecture import CAM_LAYER, classifier_build

    keras.utils.set_random_seed(3)
    return classifier_build(input_size=139, cam_layers=(CAM_LAYER,))


def test_the_served_maps_decompose_the_logits_at_mixed7_resolution():
    """Today's two-scale head: each position's share of a class's logit, summing back to the logit."""
    import keras

    from mlcore.architecture import classifier_build, serving_function_build

    keras.utils.set_random_seed(4)
    model = classifier_build(input_size=128)
    batch = np.random.default_rng(6).uniform(-1, 1, (2, 128, 128, 3)).astype(np.float32)
    out = serving_function_build(model)(batch)
    logits, cams = out["logits"].numpy(), out["cams"].numpy()
    assert cams.shape == (2, 6, 6, 4)  # mixed7's grid at 128 px; mixed10 alone would be 2x2
    bias = model.get_layer("logits").bias.numpy()
    np.testing.assert_allclose(cams.sum(axis=(1, 2)), logits - bias, rtol=1e-3, atol=1e-5)


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
    from mlcore.phantom import phantom_bscan

    scan = phantom_bscan("CNV", seed=2, width=1536, height=496)  # a B-scan: the OCT check lets it be read
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


def _hot_right_half() -> np.ndarray:
    heatmap = np.zeros((8, 8), dtype=np.float32)
    heatmap[:, 4:] = 1.0
    return heatmap


def test_layer_is_rgba_at_the_scan_size_and_transparent_without_evidence():
    png = gradcam.heatmap_layer_png(size=(512, 496), heatmap=_hot_right_half())
    assert png[25] == 6  # PNG colour type 6: RGBA, what the viewer relies on
    layer = Image.open(io.BytesIO(png))
    assert layer.mode == "RGBA" and layer.size == (512, 496)
    pixels = np.asarray(layer)
    assert pixels[248, 10, 3] == 0  # no evidence: fully see-through
    assert pixels[248, 500, 3] == 255 and pixels[248, 500, 0] > pixels[248, 500, 2]  # strongest: opaque, red end
    middle = pixels[248, 200:320, 3].astype(int)  # the bilinear edge: alpha rises with the evidence
    assert (np.diff(middle) >= 0).all() and 0 < middle[len(middle) // 2] < 255


def test_layer_alpha_is_proportional_to_the_evidence():
    heatmap = np.linspace(0, 1, 11, dtype=np.float32)[np.newaxis, :].repeat(2, axis=0)
    alpha = np.asarray(gradcam.heatmap_layer(size=(11, 2), heatmap=heatmap))[..., 3]
    np.testing.assert_allclose(alpha[0].astype(float), np.linspace(0, 255, 11), atol=1)


def test_layer_places_the_heatmap_inside_the_input_box():
    box = (100, 50, 300, 250)  # (left, top, right, bottom) in original pixels
    layer = gradcam.heatmap_layer(size=(400, 300), heatmap=np.ones((8, 8), dtype=np.float32), box=box)
    alpha = np.asarray(layer)[..., 3]
    assert layer.size == (400, 300)
    assert (alpha[50:250, 100:300] == 255).all()
    outside = np.ones_like(alpha, dtype=bool)
    outside[50:250, 100:300] = False
    assert (alpha[outside] == 0).all()
    # The box's own left half hot: the map is stretched over the box, not over the image.
    placed = np.asarray(gradcam.heatmap_layer(size=(400, 300), heatmap=_hot_right_half(), box=box))[..., 3]
    assert placed[150, 110] == 0 and placed[150, 290] == 255 and placed[150, 350] == 0


def test_layer_box_reaching_past_the_edges_is_clipped():
    layer = gradcam.heatmap_layer(size=(100, 80), heatmap=np.ones((4, 4), dtype=np.float32), box=(-20, 40, 120, 200))
    alpha = np.asarray(layer)[..., 3]
    assert alpha.shape == (80, 100)
    assert (alpha[40:, :] == 255).all() and (alpha[:40, :] == 0).all()


def test_layer_laid_over_the_scan_prints_like_the_old_overlay():
    scan = np.random.default_rng(4).integers(0, 255, (120, 160), dtype=np.uint8)
    heatmap = np.random.default_rng(5).uniform(0, 1, (8, 8)).astype(np.float32)
    layer = gradcam.heatmap_layer_png(size=(160, 120), heatmap=heatmap)
    printed = np.asarray(Image.open(io.BytesIO(gradcam.heatmap_layer_over_png(image=scan, layer=layer))), dtype=int)
    overlay = np.asarray(gradcam.heatmap_overlay(image=scan, heatmap=heatmap), dtype=int)
    assert printed.shape == overlay.shape and np.abs(printed - overlay).max() <= 2
    smaller = Image.fromarray(scan).resize((80, 60))  # a downscaled preview: the layer follows it
    assert Image.open(io.BytesIO(gradcam.heatmap_layer_over_png(image=smaller, layer=layer))).size == (80, 60)
