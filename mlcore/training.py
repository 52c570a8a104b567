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


def _item_spacing(item: TrainingItem) -> float | None:
    """The axial pixel spacing a source knows for an item (clinic DICOM scans), for preprocessing v3."""
    spacing = item.extra.get("row_spacing_mm") if item.extra else None
    return float(spacing) if spacing else None


def device_shift_loader(items: Sequence[TrainingItem], *, input_size: int, shift, seed: int):
    """``index -> model input`` that re-renders each image as a random other device would before preprocessing.

    The decoded grayscale originals are kept in memory (the cost of decoding once); every call draws a new
    rendition from its own generator (seed, call number), so parallel calls never share random state.
    """
    import itertools
    import threading

    from mlcore.device_shift import device_shift_apply
    from mlcore.preprocessing import image_decode_gray

    originals: dict[int, np.ndarray] = {}
    lock = threading.Lock()
    calls = itertools.count()

    def load(index) -> np.ndarray:
        index = int(index)
        gray = originals.get(index)
        if gray is None:
            gray = np.asarray(image_decode_gray(items[index].load()), dtype=np.uint8)
            with lock:
                originals[index] = gray
        rng = np.random.default_rng([seed, next(calls)])
        rendered = device_shift_apply(gray, shift=shift, rng=rng)
        return image_preprocess(rendered, input_size=input_size, row_spacing_mm=_item_spacing(items[index]))[:, :, :1]

    return load


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

    spacings = [_item_spacing(item) for item in items]

    def load(index) -> np.ndarray:
        index = int(index)
        return image_preprocess(loaders[index](), input_size=input_size, row_spacing_mm=spacings[index])[:, :, :1]

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


# --- The training recipe ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """How the optimiser runs, chosen by measurement for training from random weights on a few hundred scans per
    class (``bench/bench_model_quality.py``, ``docs/mlcore.md``):

    * linear warm-up then cosine decay to zero: from random weights a full learning rate on the first steps
      sends batch-norm statistics and the loss swinging; ending at zero lets the last epochs settle;
    * AdamW (decoupled weight decay): regularises a 22-million-parameter network trained on ~1,500 images;
    * label smoothing: keeps logits bounded, which the temperature fit and the deferral threshold rely on;
    * class-balanced epochs of ``balanced_epoch`` images (each class drawn equally, with augmentation): DRUSEN
      and DME are scarce, and an epoch need not pass over every plentiful CNV/NORMAL image to learn them;
    * an exponential moving average of the weights, swapped in at the end (and batch-norm statistics measured
      again for it): a from-scratch model's validation accuracy jumps from epoch to epoch, the average does not.
    """

    balanced_epoch: int | None = 640  # images per epoch, drawn equally from each class (None: one pass)
    warmup_epochs: int = 3
    weight_decay: float = 0.02
    label_smoothing: float = 0.1
    ema_momentum: float | None = 0.99

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def epoch_images(self, train_images: int) -> int:
        """Images in one balanced epoch: ``balanced_epoch``, but never more than four passes over a small set."""
        return min(int(self.balanced_epoch or train_images), 4 * train_images)

    def optimizer(self, *, learning_rate: float, epochs: int, steps_per_epoch: int):
        import keras

        warmup = min(self.warmup_epochs, max(epochs - 1, 0)) * steps_per_epoch
        decay = max(1, epochs * steps_per_epoch - warmup)
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=learning_rate / 20 if warmup else learning_rate,
            decay_steps=decay,
            alpha=0.0,
            warmup_target=learning_rate if warmup else None,
            warmup_steps=warmup,
        )
        return keras.optimizers.AdamW(
            learning_rate=schedule,
            weight_decay=self.weight_decay,
            use_ema=bool(self.ema_momentum),
            ema_momentum=self.ema_momentum or 0.99,
        )


def recipe_of(params) -> Recipe | None:
    """The ``Recipe`` a run's ``TrainingParams`` ask for (None: the plain recipe)."""
    if params.recipe == "plain":
        return None
    return Recipe(
        balanced_epoch=params.balanced_epoch,
        warmup_epochs=params.warmup_epochs,
        weight_decay=params.weight_decay,
        label_smoothing=params.label_smoothing,
        ema_momentum=params.ema_momentum,
    )


def device_shift_of(params):
    """The device renditions a run's ``TrainingParams`` ask for (None: train on the scans as they are).

    Only the balanced-epoch recipe re-renders (the plain one caches its preprocessed epoch)."""
    if not getattr(params, "device_shift", False) or params.recipe == "plain" or not params.balanced_epoch:
        return None
    from mlcore.device_shift import DeviceShift

    return DeviceShift()


def batchnorm_recalibrate(model, images, *, batches: int = 40) -> None:
    """Re-estimate every batch-norm layer's moving statistics for the model's current weights.

    Runs the network in training mode (no gradient) over un-augmented training images with momentum 0.8, so
    after ``batches`` batches the statistics are those of these weights (0.8^40 of the old ones remain).
    """
    import keras

    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = 0.8
    try:
        seen = 0
        while seen < batches:
            before = seen
            for batch in images:
                model(batch, training=True)
                seen += 1
                if seen >= batches:
                    break
            if seen == before:
                return
    finally:
        for layer, momentum in zip(layers, saved, strict=True):
            layer.momentum = momentum


def balanced_dataset_build(
    items: Sequence[TrainingItem],
    *,
    input_size: int,
    batch_size: int,
    augmentation: Augmentation | None = None,
    seed: int = 0,
    device_shift=None,
):
    """An endless ``tf.data.Dataset`` of batches drawing every class present equally often.

    Each class's preprocessed images are cached once (the first pass decodes them) and repeated, shuffled; the
    classes are interleaved at random with equal weights. Use ``steps_per_epoch`` to bound an epoch.
    With ``device_shift`` (a ``mlcore.device_shift.DeviceShift``) the decoded originals are kept instead and
    every draw is re-rendered as another device would, then preprocessed like a clinic scan.
    """
    import tensorflow as tf

    per_class = []
    for class_index, name in enumerate(CLASSES):
        members = [item for item in items if item.label == name]
        if not members:
            continue
        if device_shift is not None:
            load = device_shift_loader(
                members, input_size=input_size, shift=device_shift, seed=seed * 101 + class_index
            )

            def to_tensor(index, load=load):
                image = tf.numpy_function(load, [index], tf.float32, stateful=True)
                image.set_shape((input_size, input_size, 1))
                return image

            indices = tf.data.Dataset.range(len(members)).repeat().shuffle(len(members), seed=seed + class_index)
            target = tf.one_hot(CLASSES.index(name), len(CLASSES))
            dataset = indices.map(to_tensor, num_parallel_calls=tf.data.AUTOTUNE).map(
                lambda x, target=target: (tf.repeat(x, 3, axis=2), target)
            )
            per_class.append(dataset)
            continue
        dataset = items_dataset_build(members, input_size=input_size, batch_size=1, labels=True, cache=False)
        per_class.append(dataset.unbatch().cache().repeat().shuffle(min(len(members), 512), seed=seed))
    # The images still carry three identical channels here; keep one for augmentation, as the plain pipeline does.
    mixed = tf.data.Dataset.sample_from_datasets(per_class, seed=seed, stop_on_empty_dataset=False)
    mixed = mixed.map(lambda x, y: (x[..., :1], y)).batch(batch_size, drop_remainder=True)
    augment = augmentation_layer(augmentation, seed=seed) if augmentation else None

    def finish(images):
        if augment is not None:
            images = augment(images)
        return tf.repeat(images, 3, axis=3)

    return mixed.map(lambda x, y: (finish(x), y), num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


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
    deferral: dict = field(default_factory=dict)  # mlcore.deferral.deferral_fit on the validation split
    calibration: dict = field(default_factory=dict)  # the temperature and ECE before/after, on validation
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
    recipe: Recipe | None = None,
    device_shift=None,
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
    from mlcore.deferral import deferral_fit
    from mlcore.evaluation import metrics_compute

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
    steps_per_epoch = max(1, -(-len(train_items) // batch_size))
    if recipe is not None and recipe.balanced_epoch:
        steps_per_epoch = max(1, recipe.epoch_images(len(train_items)) // batch_size)
    if recipe is None:  # the plain recipe of earlier versions: constant-rate Adam, best validation epoch kept
        optimizer = keras.optimizers.Adam(learning_rate)
        loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    else:
        optimizer = recipe.optimizer(learning_rate=learning_rate, epochs=epochs, steps_per_epoch=steps_per_epoch)
        loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=recipe.label_smoothing)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    if class_weights is None:
        from mlcore.datasets import class_weights_of

        class_weights = class_weights_of([item.label for item in train_items])
    augmentation = augment if isinstance(augment, Augmentation) else Augmentation() if augment else None
    fit_extra: dict = {
        "class_weight": {i: float(class_weights.get(c, 1.0)) or 1.0 for i, c in enumerate(CLASSES)},
    }
    if recipe is not None and recipe.balanced_epoch:
        train_ds = balanced_dataset_build(
            train_items,
            input_size=input_size,
            batch_size=batch_size,
            augmentation=augmentation,
            seed=seed,
            device_shift=device_shift,
        )
        fit_extra = {"steps_per_epoch": steps_per_epoch}  # every batch is class-balanced: no class weights
        images_per_epoch = steps_per_epoch * batch_size
    else:
        images_per_epoch = len(train_items)
        train_ds = items_dataset_build(
            train_items,
            input_size=input_size,
            batch_size=batch_size,
            shuffle=True,
            augmentation=augmentation,
            seed=seed,
        )
    val_ds = (
        items_dataset_build(validation_items, input_size=input_size, batch_size=batch_size)
        if validation_items
        else None
    )
    progress = progress_callback_build(epochs=epochs, on_epoch=on_epoch, should_cancel=should_cancel)
    callbacks = [progress]
    best = None
    if val_ds is not None and recipe is None:
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
        callbacks=callbacks,
        **fit_extra,
        shuffle=False,  # the dataset shuffles itself
        verbose=verbose,
    )
    seconds = time.monotonic() - started
    if progress.cancelled:
        raise TrainingCancelled("Training was cancelled")
    if recipe is not None and recipe.ema_momentum:
        # fit() swapped the averaged weights in at its end; the batch-norm statistics still describe the raw
        # weights' activations, so they are measured again for the weights that will serve.
        batchnorm_recalibrate(
            model, items_dataset_build(train_items, input_size=input_size, batch_size=batch_size, labels=False)
        )
    metrics: dict = {"train_images": len(train_items), "epochs": epochs}
    if recipe is not None:
        metrics["recipe"] = recipe.as_dict()
    if device_shift is not None and recipe is not None and recipe.balanced_epoch:
        metrics["device_shift"] = device_shift.as_dict()
    if best is not None and best.best_weights is not None:
        metrics["best_epoch"] = int(best.best_epoch) + 1  # weights restored from this epoch
    temperature = 1.0
    deferral: dict = {}
    calibration: dict = {}
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
        deferral = deferral_fit(probabilities, labels)
        calibration = {
            "method": "temperature scaling on the validation split",
            "temperature": float(temperature),
            "ece_before": metrics_compute(softmax(logits), labels)["ece"],
            "ece_after": metrics_compute(probabilities, labels)["ece"],
            "validation_n": int(len(labels)),
        }
    return ItemsTrainingResult(
        deferral=deferral,
        calibration=calibration,
        model=model,
        temperature=temperature,
        metrics=metrics,
        history={k: [float(v) for v in vals] for k, vals in history.history.items()},
        seconds=seconds,
        images_per_second=images_per_epoch * epochs / seconds if seconds else 0.0,
        steady_images_per_second=(
            images_per_epoch * (len(progress.train_seconds) - 1) / sum(progress.train_seconds[1:])
            if len(progress.train_seconds) > 1 and sum(progress.train_seconds[1:]) > 0
            else None
        ),
    )
