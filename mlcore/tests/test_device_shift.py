"""Scans from other devices: renditions, the training augmentation, and preprocessing that aligns them (v3)."""

import dataclasses

import numpy as np
import pytest

from mlcore.device_shift import RENDITIONS, WARM_MAP, DeviceShift, colour_mapped, device_shift_apply
from mlcore.phantom import phantom_bscan, phantom_png
from mlcore.preprocessing import BOX_V2_VERSION, image_prepare
from mlcore.training import balanced_dataset_build, device_shift_of
from mlcore.training_params import TrainingParams
from mlcore.training_sources import TrainingItem

SIZE = 96


def _scan(label="NORMAL", seed=3) -> np.ndarray:
    return np.asarray(phantom_bscan(label, seed=seed, width=512, height=496), dtype=np.uint8)


def _band_row(tensor: np.ndarray) -> int:
    """Row of the brightest band in the model input (mean over the width)."""
    return int(np.argmax(tensor[:, :, 0].mean(axis=1)))


@pytest.mark.parametrize("name", list(RENDITIONS))
def test_every_rendition_is_an_image_that_preprocessing_aligns(name):
    scan = _scan()
    rendered = RENDITIONS[name](scan)
    assert rendered.dtype == np.uint8 and rendered.ndim in (2, 3)
    original = image_prepare(scan, input_size=SIZE).tensor
    shifted = image_prepare(rendered, input_size=SIZE).tensor
    assert shifted.shape == original.shape and shifted.min() >= -1.0 and shifted.max() <= 1.0
    # The retina lands at (nearly) the same place of the model's input whatever the device did to the scan.
    assert abs(_band_row(shifted) - _band_row(original)) <= SIZE * 0.1


def test_the_renditions_change_the_scan_as_named():
    scan = _scan()
    assert RENDITIONS["crop ±100 px → 880×320"](scan).shape == (320, 880)
    assert RENDITIONS["lateral ×1/3"](scan).shape == (496, 512 // 3)
    assert RENDITIONS["RGB colour map"](scan).shape == (496, 512, 3)
    assert RENDITIONS["gamma 0.6"](scan).mean() > scan.mean() > RENDITIONS["gamma 1.6"](scan).mean()
    noisy = RENDITIONS["heavy speckle (4 looks)"](scan)
    assert np.array_equal(noisy, RENDITIONS["heavy speckle (4 looks)"](scan))  # seeded by the image: reruns agree
    assert np.abs(noisy.astype(int) - scan).mean() > 5


def test_a_colour_mapped_scan_gives_nearly_the_same_input_as_its_grayscale():
    scan = _scan("DME")
    gray = image_prepare(scan, input_size=SIZE).tensor[:, :, 0]
    colour = image_prepare(colour_mapped(scan, **WARM_MAP), input_size=SIZE).tensor[:, :, 0]
    assert np.corrcoef(gray.ravel(), colour.ravel())[0, 1] > 0.97


def test_a_known_axial_spacing_keeps_the_same_physical_depth_whatever_the_window():
    """A device with a deeper window (more rows below, same spacing) gives the same input when the spacing is
    known; by fraction of the height (v2, or no spacing) the retina would shrink in the input."""
    scan = _scan("CNV")
    deeper = np.vstack([scan, np.full((300, scan.shape[1]), int(np.percentile(scan, 5)), np.uint8)])
    spacing = 0.00387
    same = image_prepare(scan, input_size=SIZE, row_spacing_mm=spacing)
    deep = image_prepare(deeper, input_size=SIZE, row_spacing_mm=spacing)
    rows = same.box[3] - same.box[1]
    assert abs((deep.box[3] - deep.box[1]) - rows) <= 0.02 * rows  # the same depth kept (band found on a new copy)
    assert np.abs(deep.tensor - same.tensor).mean() < 0.05
    by_fraction = image_prepare(deeper, input_size=SIZE)
    assert by_fraction.box[3] - by_fraction.box[1] > same.box[3] - same.box[1] + 100
    # Without a spacing v3 is v2 exactly; a spacing outside an OCT's axial range is ignored.
    assert np.array_equal(
        image_prepare(scan, input_size=SIZE).tensor, image_prepare(scan, input_size=SIZE, version=BOX_V2_VERSION).tensor
    )
    assert image_prepare(scan, input_size=SIZE, row_spacing_mm=0.5).box == image_prepare(scan, input_size=SIZE).box


def test_device_shift_draws_are_reproducible_and_varied():
    scan = _scan()
    shift = DeviceShift(probability=1.0)
    first = device_shift_apply(scan, shift=shift, rng=np.random.default_rng(7))
    again = device_shift_apply(scan, shift=shift, rng=np.random.default_rng(7))
    assert np.array_equal(first, again)
    shapes = {device_shift_apply(scan, shift=shift, rng=np.random.default_rng(s)).shape for s in range(30)}
    assert len(shapes) > 5  # windows and scales vary
    assert device_shift_apply(scan, shift=DeviceShift(probability=0.0), rng=np.random.default_rng(0)) is scan


def test_device_shift_parameters_round_trip_for_the_card():
    shift = DeviceShift(gamma=(0.7, 1.4), jpeg_chance=0.1)
    assert DeviceShift.from_dict(shift.as_dict()) == shift
    assert DeviceShift.from_dict({**shift.as_dict(), "unknown": 1}) == shift


def test_the_default_recipe_trains_with_device_shift_and_plain_does_not():
    params = TrainingParams()
    assert params.device_shift and device_shift_of(params) == DeviceShift()
    assert device_shift_of(dataclasses.replace(params, recipe="plain")) is None
    assert device_shift_of(dataclasses.replace(params, device_shift=False)) is None
    assert params.recipe_signature()["device_shift"] is True
    assert params.recipe_signature()["preprocessing_version"] == "oct-retina-align-v3"


def test_balanced_batches_are_re_rendered_on_every_draw():
    data = phantom_png("NORMAL", seed=1)
    items = [TrainingItem(key="n", label="NORMAL", load=lambda: data, group="1")]
    dataset = balanced_dataset_build(
        items, input_size=SIZE, batch_size=4, augmentation=None, seed=0, device_shift=DeviceShift(probability=1.0)
    )
    batches = [images.numpy() for images, _labels in dataset.take(3)]
    for batch in batches:
        assert batch.shape == (4, SIZE, SIZE, 3) and batch.min() >= -1.0 and batch.max() <= 1.0
    draws = np.concatenate(batches)[:, :, :, 0]
    # One source image, twelve draws: each a different rendition of it.
    distinct = {draw.tobytes() for draw in draws}
    assert len(distinct) >= 10
