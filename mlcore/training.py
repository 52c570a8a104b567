"""Training: the tf.data input pipeline (through the shared preprocessing), patient-level splits, fitting.

The pipeline calls ``mlcore.preprocessing.image_preprocess`` through ``tf.numpy_function`` so that training and
serving cannot drift apart; a test checks the tensors are identical on real B-scans.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlcore.labels import CLASSES
from mlcore.preprocessing import image_preprocess


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
    """Fine-tune the classifier, then fit the calibration temperature on the validation logits.

    Class weights counter the imbalance (DRUSEN and DME are scarce). Register the result with
    ``mlcore.services.model_version_register``.
    """
    import keras

    from mlcore.architecture import classifier_build
    from mlcore.calibration import negative_log_likelihood, softmax, temperature_fit

    model = classifier_build(input_size=input_size, base_weights=base_weights)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    counts = np.bincount([CLASSES.index(y) for y in train[1]], minlength=len(CLASSES))
    class_weight = {i: float(counts.sum() / (len(CLASSES) * max(c, 1))) for i, c in enumerate(counts)}
    model.fit(
        dataset_build(*train, input_size=input_size, batch_size=batch_size, shuffle=True),
        validation_data=dataset_build(*validation, input_size=input_size, batch_size=batch_size),
        epochs=epochs,
        class_weight=class_weight,
        verbose=2,
    )
    logits = model.predict(dataset_build(validation[0], input_size=input_size, batch_size=batch_size), verbose=0)
    labels = np.array([CLASSES.index(y) for y in validation[1]])
    temperature = temperature_fit(logits, labels)
    probabilities = softmax(logits, temperature=temperature)
    metrics = {
        "validation_images": int(len(labels)),
        "validation_accuracy": float((probabilities.argmax(axis=1) == labels).mean()),
        "validation_nll_uncalibrated": negative_log_likelihood(logits, labels),
        "validation_nll_calibrated": negative_log_likelihood(logits, labels, temperature=temperature),
    }
    return TrainingResult(model=model, temperature=temperature, metrics=metrics)
