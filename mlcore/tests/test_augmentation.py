"""OCT augmentation: small shifts/rotations, horizontal flips, contrast and speckle; range and shape preserved."""

import numpy as np
import pytest

from mlcore.training import Augmentation, augmentation_layer, items_dataset_build
from mlcore.training_sources import TrainingItem

pytestmark = pytest.mark.slow


def test_augmentation_changes_images_within_range():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    batch = tf.constant(rng.uniform(-1, 1, size=(4, 75, 75, 1)).astype(np.float32))
    out = augmentation_layer(Augmentation(), seed=1)(batch).numpy()
    assert out.shape == (4, 75, 75, 1) and out.min() >= -1 and out.max() <= 1
    assert np.abs(out - batch.numpy()).mean() > 0.05


def test_flip_only_mirrors():
    import tensorflow as tf

    batch = tf.constant(np.tile(np.linspace(-1, 1, 75, dtype=np.float32), (1, 75, 1))[..., None])
    flip_only = Augmentation(shift=0, rotation_degrees=0, contrast=0, speckle=0)
    outs = [augmentation_layer(flip_only, seed=s)(batch).numpy()[0, :, :, 0] for s in range(8)]
    row = batch.numpy()[0, 0, :, 0]
    assert any(np.allclose(o[0], row[::-1], atol=1e-5) for o in outs)
    assert all(np.allclose(o[0], row, atol=1e-5) or np.allclose(o[0], row[::-1], atol=1e-5) for o in outs)


def test_pipeline_without_augmentation_equals_the_serving_preprocessing():
    from mlcore.phantom import phantom_png
    from mlcore.preprocessing import image_preprocess

    data = phantom_png("DME", seed=4)
    items = [TrainingItem(key="a", label="DME", load=lambda: data)]
    (images, labels) = next(iter(items_dataset_build(items, input_size=75, batch_size=1)))
    assert np.array_equal(images.numpy()[0], image_preprocess(data, input_size=75))
    assert labels.numpy().tolist() == [[0, 1, 0, 0]]
