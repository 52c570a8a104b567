"""Retina-aligned preprocessing (``oct-retina-box-v2``): the band is found, cropped to the same place, and the
intensities normalised, whatever the scan's size, gain or where the device left the retina."""

import numpy as np
import pytest
from PIL import Image

from mlcore.artifacts import ModelCard
from mlcore.phantom import phantom_bscan
from mlcore.preprocessing import LEGACY_VERSION, PREPROCESSING_VERSION, image_prepare, image_preprocess
from mlcore.retina import retina_locate
from mlcore.tests.conftest import SHARED_OCT

SIZE = 96


def _banded(height=496, width=768, centre=200, tilt=0.0, seed=0) -> np.ndarray:
    """A dark, speckled frame with one bright layered band whose centre line is known."""
    rng = np.random.default_rng(seed)
    rows = np.arange(height)[:, None]
    line = centre + tilt * (np.arange(width)[None, :] - width / 2)
    band = 150 * np.exp(-(((rows - line) / 25.0) ** 2)) + 60 * np.exp(-(((rows - line - 30) / 6.0) ** 2))
    return np.clip(band + rng.gamma(2.0, 8.0, (height, width)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("centre", [120, 250, 380])
def test_the_band_is_found_where_it_is(centre):
    geometry = retina_locate(_banded(centre=centre))
    assert abs(geometry.centre_at(384) - (centre + 5)) < 15  # the bright line below the band pulls a little


def test_a_tilted_band_is_followed_across_the_width():
    geometry = retina_locate(_banded(centre=250, tilt=0.1))
    assert geometry.centre_at(700) - geometry.centre_at(68) == pytest.approx(0.1 * 632, abs=15)
    assert geometry.top < 250 < geometry.bottom


def test_the_crop_puts_the_retina_at_the_same_place_wherever_the_device_left_it():
    high = image_prepare(_banded(centre=140), input_size=SIZE)
    low = image_prepare(_banded(centre=360), input_size=SIZE)
    assert high.box[1] < low.box[1]  # the crop follows the band
    profile_high = high.tensor[..., 0].mean(axis=1)
    profile_low = low.tensor[..., 0].mean(axis=1)
    assert abs(int(np.argmax(profile_high)) - int(np.argmax(profile_low))) <= 2
    assert np.corrcoef(profile_high, profile_low)[0, 1] > 0.95


def test_registration_fill_does_not_pull_the_band():
    scan = _banded(centre=300)
    scan[:150, :200] = 255  # a white wedge left by registering a tilted scan
    assert abs(retina_locate(scan).centre_at(384) - 305) < 20


def test_intensities_are_normalised_for_gain_and_contrast():
    scan = _banded(centre=250)
    dim = (scan.astype(np.float32) * 0.5 + 10).astype(np.uint8)  # another device's gain and offset
    a, b = image_preprocess(scan, input_size=SIZE), image_preprocess(dim, input_size=SIZE)
    assert a.min() == b.min() == -1.0 and a.max() == b.max() == 1.0
    assert np.abs(a - b).mean() < 0.03


def test_rgb_and_gray_copies_of_a_scan_give_the_same_input():
    gray = phantom_bscan("DME", seed=3)
    rgb = np.repeat(gray[..., None], 3, axis=2)
    assert np.array_equal(image_preprocess(gray, input_size=SIZE), image_preprocess(rgb, input_size=SIZE))


def test_each_version_is_its_own_function_and_cards_name_known_ones():
    scan = phantom_bscan("NORMAL", seed=1)
    legacy = image_preprocess(scan, input_size=SIZE, version=LEGACY_VERSION)
    expected = np.asarray(Image.fromarray(scan).resize((SIZE, SIZE), Image.Resampling.BILINEAR), np.float32)
    np.testing.assert_array_equal(legacy[..., 0], expected / np.float32(127.5) - 1)
    assert not np.array_equal(legacy, image_preprocess(scan, input_size=SIZE))
    with pytest.raises(ValueError, match="Unknown preprocessing"):
        image_preprocess(scan, input_size=SIZE, version="oct-made-up-v9")
    ModelCard(version="v", preprocessing_version=LEGACY_VERSION).validate()  # old models keep loading
    ModelCard(version="v", preprocessing_version=PREPROCESSING_VERSION).validate()
    with pytest.raises(ValueError, match="preprocessing"):
        ModelCard(version="v", preprocessing_version="oct-made-up-v9").validate()


def test_the_band_is_found_on_the_real_non_standard_oct_dicoms():
    import pydicom

    folder = SHARED_OCT.parent / "dicom"
    files = sorted(folder.glob("*nonstandard_OCT.dcm")) if folder.is_dir() else []
    if not files:
        pytest.skip(f"real OCT DICOMs not available: {folder} is absent (a fresh clone without ../shared)")
    for path in files:
        dataset = pydicom.dcmread(path, force=True)
        if "TransferSyntaxUID" not in dataset.file_meta:  # the "almost DICOM" file: as the intake reads it
            dataset.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
        pixels = dataset.pixel_array
        gray = pixels if pixels.ndim == 2 else pixels[..., 0]
        gray = (gray / max(int(gray.max()), 1) * 255).astype(np.uint8) if gray.dtype != np.uint8 else gray
        prepared = image_prepare(gray, input_size=SIZE)
        height = gray.shape[0]
        # The located band lies inside the crop, and the crop keeps most of the brightest rows of the scan.
        assert prepared.box[1] <= prepared.retina.top and prepared.retina.bottom <= prepared.box[3]
        bright_rows = np.argsort(gray.mean(axis=1))[-20:]
        inside = ((bright_rows >= prepared.box[1]) & (bright_rows < prepared.box[3])).mean()
        assert inside >= 0.9, (path.name, prepared.box, height)
