"""Training: the tf.data input pipeline (through the shared preprocessing), patient-level splits, fitting.

The pipeline calls ``mlcore.preprocessing.image_preprocess`` through ``tf.numpy_function`` so that training and
serving cannot drift apart; a test checks the tensors are identical on real B-scans.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlcore.labels import CLASSES
from mlcore.preprocessing import image_preprocess
from mlcore.training_sources import TrainingItem


def dataset_build(
    paths: Sequence[str | Path],
    labels: Sequence[str] | None = None,
    *,
    input_size: int,
    batch_size: int = 16,
    shuffle: bool = False,
    seed: int = 0,
):
    """A ``tf.data.Dataset`` of (image, one-hot label) batches, or images alone when ``labels`` is None."""
    import tensorflow as tf

    def load(path: bytes) -> np.ndarray:
        return image_preprocess(Path(path.decode()).read_bytes(), input_size=input_size)

    def to_tensor(path):
        image = tf.numpy_function(load, [path], tf.float32, stateful=False)
        image.set_shape((input_size, input_size, 3))
        return image

    images = tf.data.Dataset.from_tensor_slices([str(p) for p in paths])
    if labels is not None:
        indices = [CLASSES.index(label) for label in labels]
        targets = tf.data.Dataset.from_tensor_slices(tf.one_hot(indices, len(CLASSES)))
        dataset = tf.data.Dataset.zip((images, targets))
        if shuffle:
            dataset = dataset.shuffle(len(indices), seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.map(lambda p, y: (to_tensor(p), y), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        dataset = images.map(to_tensor, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def patient_split_of(patient_id: str, *, validation: float = 0.15, test: float = 0.15) -> str:
    """ "train", "validation" or "test", fixed per patient by a hash: no patient's images straddle two splits."""
    bucket = int(hashlib.sha256(patient_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if bucket < test:
        return "test"
    return "validation" if bucket < test + validation else "train"


@dataclass
class TrainingResult:
    model: object
    temperature: float
    metrics: dict


def model_train(
    *,
    train: tuple[Sequence[str], Sequence[str]],
    validation: tuple[Sequence[str], Sequence[str]],
    input_size: int = 299,
    base_weights: str | None = "imagenet",
    epochs: int = 5,
    batch_size: int = 16,
    learning_rate: float = 1e-4,
) -> TrainingResult:
    """Fine-tune the classifier on image files, then fit the calibration temperature on the validation logits.

    Kept for callers with plain paths; the lifecycle uses ``model_train_items`` (any source, augmentation,
    progress, cancellation). Register the result with ``mlcore.services.model_version_register``.
    """
    from mlcore.training_sources import TrainingItem as Item

    def items(paths, labels):
        return [Item(key=str(p), label=y, load=Path(p).read_bytes) for p, y in zip(paths, labels, strict=True)]

    return model_train_items(
        train_items=items(*train),
        validation_items=items(*validation),
        input_size=input_size,
        base_weights=base_weights,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        augment=False,
    )


# --- Item pipeline with OCT augmentation ---------------------------------------------------------------


@dataclass(frozen=True)
class Augmentation:
    """Augmentation suited to OCT B-scans: the retina may sit a little higher or lower and tilt a few degrees,
    left/right eyes mirror each other, devices differ in contrast, and speckle noise is intrinsic to OCT.
    No vertical flips or large rotations: the layer order (vitreous above, choroid below) is diagnostic."""

    shift: float = 0.06  # fraction of the image
    rotation_degrees: float = 5.0
    horizontal_flip: bool = True
    contrast: float = 0.2  # factor drawn from [1 - c, 1 + c]
    speckle: float = 0.1  # std of multiplicative noise

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def augmentation_layer(augmentation: Augmentation, *, seed: int = 0):
    """A graph function (image batch in [-1, 1]) -> augmented batch, applied inside tf.data."""
    import math

    import tensorflow as tf

    generator = tf.random.Generator.from_seed(seed)

    def apply(images):
        batch = tf.shape(images)[0]
        size = tf.cast(tf.shape(images)[1], tf.float32)
        if augmentation.horizontal_flip:
            flip = generator.uniform([batch, 1, 1, 1]) < 0.5
            images = tf.where(flip, tf.reverse(images, axis=[2]), images)
        # Shift + rotation as one projective transform per image (fill: black, i.e. -1).
        angle = generator.uniform([batch], -1.0, 1.0) * augmentation.rotation_degrees * math.pi / 180
        dx = generator.uniform([batch], -1.0, 1.0) * augmentation.shift * size
        dy = generator.uniform([batch], -1.0, 1.0) * augmentation.shift * size
        cos, sin = tf.cos(angle), tf.sin(angle)
        cx = cy = (size - 1) / 2
        a0, a1, b0, b1 = cos, -sin, sin, cos
        a2 = cx - a0 * cx - a1 * cy - dx
        b2 = cy - b0 * cx - b1 * cy - dy
        zeros = tf.zeros_like(angle)
        transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
        images = (
            tf.raw_ops.ImageProjectiveTransformV3(
                images=images + 1.0,
                transforms=transforms,
                output_shape=tf.shape(images)[1:3],
                fill_value=0.0,
                interpolation="BILINEAR",
                fill_mode="CONSTANT",
            )
            - 1.0
        )
        if augmentation.contrast:
            factor = generator.uniform([batch, 1, 1, 1], 1 - augmentation.contrast, 1 + augmentation.contrast)
            mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
            images = (images - mean) * factor + mean
        if augmentation.speckle:
            noise = generator.normal(tf.shape(images[..., :1]), stddev=augmentation.speckle)
            images = (images + 1.0) * (1.0 + noise) - 1.0
        return tf.clip_by_value(images, -1.0, 1.0)

    return apply


def items_dataset_build(
    items: Sequence[TrainingItem],
    *,
    input_size: int,
    batch_size: int = 16,
    labels: bool = True,
    shuffle: bool = False,
    augmentation: Augmentation | None = None,
    cache: bool = True,
    seed: int = 0,
):
    """A ``tf.data.Dataset`` over items with loaders, preprocessed by the *serving* function.

    The preprocessed image (one channel; the three channels are copies) is cached after the first epoch, so
    later epochs cost only augmentation and the model; decoding runs in parallel with training.
    """
    import tensorflow as tf

    loaders = [item.load for item in items]

    def load(index) -> np.ndarray:
        return image_preprocess(loaders[int(index)](), input_size=input_size)[:, :, :1]

    def to_tensor(index):
        image = tf.numpy_function(load, [index], tf.float32, stateful=False)
        image.set_shape((input_size, input_size, 1))
        return image

    indices = tf.data.Dataset.range(len(items))
    dataset = indices.map(to_tensor, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if labels:
        targets = tf.one_hot([CLASSES.index(item.label) for item in items], len(CLASSES))
        dataset = tf.data.Dataset.zip((dataset, tf.data.Dataset.from_tensor_slices(targets)))
    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(len(items), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    augment = augmentation_layer(augmentation, seed=seed) if augmentation else None

    def finish(images):
        if augment is not None:
            images = augment(images)
        return tf.repeat(images, 3, axis=3)

    if labels:
        dataset = dataset.map(lambda x, y: (finish(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        dataset = dataset.map(finish, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


# --- Fitting with progress and cancellation ------------------------------------------------------------


class TrainingCancelled(Exception):
    """Raised after ``fit`` stopped because someone asked to cancel."""


@dataclass
class EpochProgress:
    epoch: int
    epochs: int
    loss: float | None
    metrics: dict
    eta_seconds: float | None
    seconds: float


def progress_callback_build(
    *,
    epochs: int,
    on_epoch: Callable[[EpochProgress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    check_every: int = 5,
):
    """A Keras callback reporting each epoch (with ETA) and polling ``should_cancel`` every few batches."""
    import keras

    class Progress(keras.callbacks.Callback):
        cancelled = False

        def on_train_begin(self, logs=None):
            self.started = time.monotonic()
            self.train_seconds: list[float] = []  # per epoch, training batches only (no validation pass)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_started = time.monotonic()
            self.last_batch_end = self.epoch_started

        def on_test_begin(self, logs=None):
            self.train_seconds.append(self.last_batch_end - self.epoch_started)

        def on_train_batch_end(self, batch, logs=None):
            self.last_batch_end = time.monotonic()
            if should_cancel is not None and batch % check_every == 0 and should_cancel():
                self.cancelled = True
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            if len(self.train_seconds) <= epoch:  # no validation data: the epoch was all training
                self.train_seconds.append(self.last_batch_end - self.epoch_started)
            logs = {k: float(v) for k, v in (logs or {}).items()}
            elapsed = time.monotonic() - self.started
            done = epoch + 1
            eta = elapsed / done * (epochs - done)
            if on_epoch is not None:
                on_epoch(
                    EpochProgress(
                        epoch=done,
                        epochs=epochs,
                        loss=logs.get("loss"),
                        metrics={k: v for k, v in logs.items() if k.startswith("val_")},
                        eta_seconds=eta,
                        seconds=elapsed,
                    )
                )
            if should_cancel is not None and should_cancel():
                self.cancelled = True
                self.model.stop_training = True

    return Progress()


@dataclass
class ItemsTrainingResult(TrainingResult):
    history: dict = field(default_factory=dict)
    seconds: float = 0.0
    images_per_second: float = 0.0  # whole fit, validation passes and the first (decoding) epoch included
    steady_images_per_second: float | None = None  # training batches only, epochs after the first (cached)


def model_train_items(
    *,
    train_items: Sequence[TrainingItem],
    validation_items: Sequence[TrainingItem],
    input_size: int = 299,
    base_weights: str | None = None,
    fine_tune_depth: int | None = None,
    epochs: int = 5,
    batch_size: int = 16,
    learning_rate: float = 1e-4,
    class_weights: dict[str, float] | None = None,
    augment: bool | Augmentation = True,
    on_epoch: Callable[[EpochProgress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    seed: int = 0,
    verbose: int = 0,
    bn_momentum: float = 0.9,
    patience: int | None = None,
) -> ItemsTrainingResult:
    """Train the classifier (class-weighted loss, OCT augmentation), then fit the calibration temperature.

    ``fine_tune_depth``: with pre-trained base weights, how many of the base's last layers train (None: all).
    The weights of the epoch with the lowest validation loss are kept (``patience`` epochs without improvement
    stop early; default: never).
    Raises ``TrainingCancelled`` if ``should_cancel`` turned true; nothing is registered here.
    """
    import keras

    from mlcore.architecture import classifier_build
    from mlcore.calibration import negative_log_likelihood, softmax, temperature_fit

    if not train_items:
        raise ValueError("The training split is empty")
    keras.utils.set_random_seed(seed)
    model = classifier_build(input_size=input_size, base_weights=base_weights)
    if base_weights is None:
        # From scratch on a few thousand images there are only a few hundred steps: with Keras' default momentum
        # (0.99) the batch-norm moving statistics are still near their initial values when training ends, and the
        # model in inference mode predicts one class. 0.9 lets them follow the data within ~50 steps.
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = bn_momentum
    if fine_tune_depth is not None and base_weights is not None:
        head = {"gap", "head_dropout", "logits"}
        base_layers = [layer for layer in model.layers if layer.name not in head and layer.weights]
        for layer in base_layers[: max(len(base_layers) - fine_tune_depth, 0)]:
            layer.trainable = False
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    if class_weights is None:
        from mlcore.datasets import class_weights_of

        class_weights = class_weights_of([item.label for item in train_items])
    augmentation = augment if isinstance(augment, Augmentation) else Augmentation() if augment else None
    train_ds = items_dataset_build(
        train_items, input_size=input_size, batch_size=batch_size, shuffle=True, augmentation=augmentation, seed=seed
    )
    val_ds = (
        items_dataset_build(validation_items, input_size=input_size, batch_size=batch_size)
        if validation_items
        else None
    )
    progress = progress_callback_build(epochs=epochs, on_epoch=on_epoch, should_cancel=should_cancel)
    callbacks = [progress]
    best = None
    if val_ds is not None:
        # Keep the epoch with the lowest validation loss (the test split is never looked at); with a small
        # validation split from-scratch training swings from epoch to epoch.
        best = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience or epochs, restore_best_weights=True, verbose=0
        )
        callbacks.append(best)
    started = time.monotonic()
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=epochs,
        class_weight={i: float(class_weights.get(c, 1.0)) or 1.0 for i, c in enumerate(CLASSES)},
        callbacks=callbacks,
        shuffle=False,  # the dataset shuffles itself
        verbose=verbose,
    )
    seconds = time.monotonic() - started
    if progress.cancelled:
        raise TrainingCancelled("Training was cancelled")
    metrics: dict = {"train_images": len(train_items), "epochs": epochs}
    if best is not None and best.best_weights is not None:
        metrics["best_epoch"] = int(best.best_epoch) + 1  # weights restored from this epoch
    temperature = 1.0
    if validation_items:
        logits = model.predict(
            items_dataset_build(validation_items, input_size=input_size, batch_size=batch_size, labels=False),
            verbose=0,
        )
        labels = np.array([CLASSES.index(item.label) for item in validation_items])
        temperature = temperature_fit(logits, labels)
        probabilities = softmax(logits, temperature=temperature)
        metrics |= {
            "validation_images": int(len(labels)),
            "validation_accuracy": float((probabilities.argmax(axis=1) == labels).mean()),
            "validation_nll_uncalibrated": negative_log_likelihood(logits, labels),
            "validation_nll_calibrated": negative_log_likelihood(logits, labels, temperature=temperature),
        }
    return ItemsTrainingResult(
        model=model,
        temperature=temperature,
        metrics=metrics,
        history={k: [float(v) for v in vals] for k, vals in history.history.items()},
        seconds=seconds,
        images_per_second=len(train_items) * epochs / seconds if seconds else 0.0,
        steady_images_per_second=(
            len(train_items) * (len(progress.train_seconds) - 1) / sum(progress.train_seconds[1:])
            if len(progress.train_seconds) > 1 and sum(progress.train_seconds[1:]) > 0
            else None
        ),
    )
