"""The OCT check: real B-scans (any device) are accepted, everything else is refused with a reason."""

import io
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from bench.nonoct_corpus import KINDS, nonoct_corpus
from mlcore.oct_check import oct_check
from mlcore.phantom import phantom_bscan
from mlcore.tests.conftest import SHARED_OCT


def _jpeg(array: np.ndarray, quality: int = 60) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _real_scan_paths() -> list:
    paths = sorted(SHARED_OCT.glob("*/*/*.jp*g"))
    if not paths:
        pytest.skip(f"real OCT JPEGs not available: {SHARED_OCT} is absent (a fresh clone without ../shared)")
    return paths


def test_phantom_bscans_of_every_class_are_accepted():
    for label in ("CNV", "DME", "DRUSEN", "NORMAL"):
        for seed in range(5):
            check = oct_check(phantom_bscan(label, seed=seed))
            assert check.recognised, (label, seed, check.reason, check.measurements)


def test_every_kind_of_non_oct_image_is_refused_with_a_reason():
    corpus = nonoct_corpus(per_kind=8, packages=0, seed=11)
    refused = Counter()
    for kind, data in corpus:
        check = oct_check(data)
        if not check.recognised:
            refused[kind] += 1
            assert check.reason
    assert set(KINDS) <= {kind for kind, _ in corpus}
    assert sum(refused.values()) >= 0.97 * len(corpus), refused
    assert all(refused[kind] >= 6 for kind in KINDS), refused


def test_blank_and_noise_frames_are_refused():
    for frame in (np.zeros((496, 512), np.uint8), np.full((496, 512), 128, np.uint8)):
        assert not oct_check(frame).recognised
    noise = np.random.default_rng(0).integers(0, 256, (496, 768), dtype=np.uint8)
    assert not oct_check(noise).recognised


def test_the_real_scans_are_accepted():
    paths = _real_scan_paths()
    refused = [p.name for p in paths if not oct_check(p.read_bytes()).recognised]
    assert len(refused) <= 0.01 * len(paths), refused[:10]


@pytest.mark.parametrize(
    "shift",
    ["crop_880x320", "lateral_x3", "gamma_0.6", "gamma_1.6", "speckle", "jpeg_60", "rgb"],
)
def test_scans_as_other_devices_render_them_are_still_accepted(shift):
    paths = _real_scan_paths()[::60]
    rng = np.random.default_rng(0)
    accepted = 0
    for path in paths:
        gray = np.asarray(Image.open(path).convert("L"))
        if shift == "crop_880x320":
            top = max(0, gray.shape[0] // 2 - 160)
            image = np.asarray(Image.fromarray(gray[top : top + 320]).resize((880, 320)))
        elif shift == "lateral_x3":
            image = np.asarray(Image.fromarray(gray).resize((max(64, gray.shape[1] // 3), gray.shape[0])))
        elif shift.startswith("gamma"):
            gamma = float(shift.split("_")[1])
            image = (255 * (gray / 255.0) ** gamma).astype(np.uint8)
        elif shift == "speckle":
            image = np.clip(gray * rng.gamma(4.0, 0.25, gray.shape), 0, 255).astype(np.uint8)
        elif shift == "jpeg_60":
            image = np.asarray(Image.open(io.BytesIO(_jpeg(gray, 60))))
        else:
            image = np.repeat(gray[..., None], 3, axis=2)
        accepted += oct_check(image).recognised
    assert accepted >= 0.9 * len(paths), f"{accepted}/{len(paths)} accepted after {shift}"


def test_the_infrared_fundus_dicom_is_refused():
    import pydicom

    path = SHARED_OCT.parent / "dicom" / "hcha3232__dicom-oct__00000029_OP_Spectralis_IR.dcm"
    if not path.is_file():
        pytest.skip(f"the infrared DICOM is not available: {path.parent} is absent (a fresh clone without ../shared)")
    pixels = pydicom.dcmread(path).pixel_array
    check = oct_check(pixels.astype(np.uint8))
    assert not check.recognised
    assert check.reason
