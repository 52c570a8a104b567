"""One preprocessing function: the tf.data training pipeline and serving produce identical tensors."""

import io
import random

import numpy as np
import pytest
from PIL import Image

from mlcore import runtime
from mlcore.preprocessing import PREPROCESSING_VERSION, image_preprocess, inception_scale
from mlcore.tests.conftest import SHARED_OCT

SIZE = 75


def _real_scans(count: int) -> list:
    if not (SHARED_OCT / "manifest.csv").is_file():
        pytest.skip(f"real OCT JPEGs not available: {SHARED_OCT} is absent (a fresh clone without ../shared)")
    lines = (SHARED_OCT / "manifest.csv").read_text().splitlines()[1:]
    rows = [line.split(",") for line in lines]
    # Cover the width range and the RGB-stored files: pick the extremes plus a fixed random sample.
    rows.sort(key=lambda r: int(r[5]))
    chosen = rows[:2] + rows[-2:] + random.Random(4).sample(rows, count - 4)
    return [SHARED_OCT / row[0] for row in chosen]


def test_training_pipeline_and_serving_give_identical_tensors_on_real_scans():
    from mlcore.training import dataset_build

    paths = _real_scans(8)
    trained = np.concatenate([batch.numpy() for batch in dataset_build(paths, input_size=SIZE, batch_size=3)])
    served = runtime.images_prepare([p.read_bytes() for p in paths], input_size=SIZE)
    assert trained.shape == served.shape == (8, SIZE, SIZE, 3)
    assert trained.dtype == served.dtype == np.float32
    assert np.array_equal(trained, served)
    assert -1.0 <= served.min() < served.max() <= 1.0
    widths = {Image.open(p).size[0] for p in paths}
    assert min(widths) <= 512 and max(widths) >= 1024


def test_training_pipeline_labels_are_one_hot_in_class_order():
    from mlcore.training import dataset_build

    paths = _real_scans(4)
    images, targets = next(iter(dataset_build(paths[:2], ["DME", "NORMAL"], input_size=SIZE, batch_size=2)))
    assert images.shape == (2, SIZE, SIZE, 3)
    assert targets.numpy().tolist() == [[0, 1, 0, 0], [0, 0, 0, 1]]


def test_scale_is_keras_inception_preprocess_input():
    from keras.applications.inception_v3 import preprocess_input

    pixels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(inception_scale(pixels), preprocess_input(pixels.astype(np.float32)))


def test_gray_rgb_bytes_and_arrays_of_one_scan_preprocess_alike():
    gray = np.random.default_rng(0).integers(0, 255, (496, 1024), dtype=np.uint8)
    rgb = np.repeat(gray[..., None], 3, axis=2)
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, format="PNG")
    outputs = [image_preprocess(x, input_size=SIZE) for x in (gray, rgb, gray[..., None], buffer.getvalue())]
    for out in outputs[1:]:
        assert np.array_equal(out, outputs[0])
    assert np.array_equal(outputs[0][..., 0], outputs[0][..., 2])  # gray repeated into three channels
    assert PREPROCESSING_VERSION == "oct-retina-align-v3"


def test_whole_width_is_kept_not_cropped():
    scan = np.zeros((496, 1536), dtype=np.uint8)
    scan[:, -40:] = 255  # a bright lesion at the far right edge of a wide scan
    out = image_preprocess(scan, input_size=SIZE)
    assert out[:, -1, 0].min() == pytest.approx(1.0)


def test_unsupported_inputs_are_refused():
    with pytest.raises(TypeError):
        image_preprocess("a/path.jpeg", input_size=SIZE)
    with pytest.raises(ValueError):
        image_preprocess(np.zeros((10, 10), dtype=np.float32), input_size=SIZE)
