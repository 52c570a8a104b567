"""The training recipe's mechanics: schedule, class-balanced epochs, batch-norm recalibration, parameters."""

import dataclasses
from collections import Counter

import numpy as np
import pytest

from mlcore.exceptions import TrainingParamsInvalid
from mlcore.phantom import phantom_png
from mlcore.training import Recipe, balanced_dataset_build, batchnorm_recalibrate, recipe_of
from mlcore.training_params import TrainingParams
from mlcore.training_sources import TrainingItem


def _items(counts: dict[str, int]) -> list[TrainingItem]:
    items = []
    for label, count in counts.items():
        for i in range(count):
            data = phantom_png(label, seed=i)
            items.append(TrainingItem(key=f"{label}-{i}", label=label, load=lambda data=data: data, group=str(i)))
    return items


def test_warm_up_then_cosine_decay_to_zero():
    optimizer = Recipe(warmup_epochs=2).optimizer(learning_rate=1e-3, epochs=10, steps_per_epoch=5)
    schedule = optimizer.learning_rate if callable(optimizer.learning_rate) else optimizer._learning_rate
    rate = [float(schedule(step)) for step in (0, 5, 10, 30, 50)]
    assert rate[0] == pytest.approx(1e-3 / 20)
    assert rate[0] < rate[1] < rate[2] == pytest.approx(1e-3)  # rises over the warm-up
    assert rate[2] > rate[3] > rate[4] and rate[4] == pytest.approx(0.0, abs=1e-9)  # then decays to zero
    assert optimizer.use_ema and optimizer.weight_decay == pytest.approx(0.02)


def test_a_balanced_epoch_is_capped_for_small_datasets():
    assert Recipe(balanced_epoch=640).epoch_images(1600) == 640
    assert Recipe(balanced_epoch=640).epoch_images(24) == 96


def test_balanced_batches_draw_a_scarce_class_as_often_as_a_plentiful_one():
    items = _items({"NORMAL": 24, "DRUSEN": 3})
    dataset = balanced_dataset_build(items, input_size=75, batch_size=8, augmentation=None, seed=1)
    counts = Counter()
    for images, labels in dataset.take(12):
        assert images.shape == (8, 75, 75, 3)
        counts.update(int(i) for i in np.argmax(labels.numpy(), axis=1))
    drusen_share = counts[2] / sum(counts.values())
    assert 0.3 <= drusen_share <= 0.7, counts  # plain sampling would give 3 / 27 = 0.11


def test_batchnorm_statistics_are_measured_again_for_the_serving_weights():
    import keras

    inputs = keras.Input((4,))
    normalised = keras.layers.BatchNormalization(name="bn")(inputs)
    model = keras.Model(inputs, normalised)
    data = np.random.default_rng(0).normal(5.0, 2.0, (64, 4)).astype("float32")
    batches = [data[i : i + 16] for i in range(0, 64, 16)]
    batchnorm_recalibrate(model, batches, batches=40)
    layer = model.get_layer("bn")
    np.testing.assert_allclose(layer.moving_mean.numpy(), data.mean(axis=0), atol=0.3)
    np.testing.assert_allclose(layer.moving_variance.numpy(), data.var(axis=0), rtol=0.35)
    assert layer.momentum == 0.99  # restored


def test_the_recipe_is_the_default_and_its_parameters_are_checked():
    params = TrainingParams()
    recipe = recipe_of(params)
    assert params.recipe == "v2" and recipe.ema_momentum == 0.99 and recipe.balanced_epoch == 640
    assert recipe_of(dataclasses.replace(params, recipe="plain")) is None
    for bad in ({"recipe": "v9"}, {"label_smoothing": 0.7}, {"ema_momentum": 1.5}, {"weight_decay": -1}):
        with pytest.raises(TrainingParamsInvalid):
            dataclasses.replace(params, **bad).validate()
    signature = params.recipe_signature()
    assert "seed" not in signature and "data" not in signature and signature["recipe"] == "v2"
