"""Model versions as stored artifacts: the ``.keras`` file (source of truth), its JSON card, and a derived
LiteRT flatbuffer that loads in a fraction of a second.

Everything goes through Django's ``default_storage`` (local disk, or S3 through django-storages) under
``<MLCORE_ARTIFACT_PREFIX>/<version>/``::

    model.keras    the trained Keras model (input -> logits); what training produced and what can be retrained
    model.tflite   LiteRT export of the serving graph (logits + Grad-CAM maps), derived from model.keras
    card.json      the model card, see ``ModelCard``

Loading checks each file's sha256 against the card, so a truncated upload or a swapped file is refused with
``ArtifactCorrupt`` rather than served. Keras and TensorFlow are imported only inside the functions that need them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage

from mlcore.exceptions import ArtifactCorrupt
from mlcore.labels import CLASSES, URGENCY_BY_LABEL
from mlcore.preprocessing import PREPROCESSING_VERSION
from mlcore.preprocessing import VERSIONS as PREPROCESSING_VERSIONS

CARD_SCHEMA = 1
KERAS_NAME, LITERT_NAME, CARD_NAME = "model.keras", "model.tflite", "card.json"
# An export may differ from Keras by float32 rounding only; anything larger is a conversion bug.
EXPORT_MAX_ABS_PROBABILITY_DIFF = 1e-4


@dataclass
class ModelCard:
    """What a deployment needs to know about a model, written next to it and copied into the registry row."""

    version: str
    classes: list[str] = field(default_factory=lambda: list(CLASSES))
    input_size: int = 299
    preprocessing_version: str = PREPROCESSING_VERSION
    architecture: str = "keras.applications.InceptionV3 + GAP + Dropout + Dense(logits)"
    base_weights: str | None = None
    training_data: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    temperature: float = 1.0
    thresholds: dict[str, float] = field(default_factory=dict)
    # Selective prediction (mlcore.deferral): threshold fitted on validation data, risk-coverage curve.
    deferral: dict[str, Any] = field(default_factory=dict)
    # Calibration: the temperature's effect on validation data (ECE before / after).
    calibration: dict[str, Any] = field(default_factory=dict)
    # What the OCT check (mlcore.oct_check) is and how it scored on the validation images.
    oct_check: dict[str, Any] = field(default_factory=dict)
    # The recipe's patient-grouped cross-validation on the data this version was trained on (mlcore.quality_reports).
    cross_validation: dict[str, Any] = field(default_factory=dict)
    # "clinical" or "research" / "demo": what a reading from this model may be used for.
    intended_use: str = "clinical"
    urgency: dict[str, str] = field(default_factory=lambda: {k: str(v) for k, v in URGENCY_BY_LABEL.items()})
    artifact: dict[str, Any] = field(default_factory=dict)
    exports: dict[str, dict[str, Any]] = field(default_factory=dict)
    framework: dict[str, str] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    schema: int = CARD_SCHEMA

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        known = {f.name for f in dataclasses.fields(cls)}
        card = cls(**{k: v for k, v in data.items() if k in known})
        card.validate()
        return card

    def validate(self) -> None:
        """Refuse cards this code would misread (wrong class order, other preprocessing, newer schema)."""
        problems = []
        if self.schema != CARD_SCHEMA:
            problems.append(f"card schema {self.schema} (this code reads {CARD_SCHEMA})")
        if list(self.classes) != list(CLASSES):
            problems.append(f"classes {self.classes} differ from {list(CLASSES)}")
        if self.preprocessing_version not in PREPROCESSING_VERSIONS:
            problems.append(f"preprocessing {self.preprocessing_version!r} is unknown to this code")
        if not (isinstance(self.temperature, int | float) and self.temperature > 0):
            problems.append(f"temperature {self.temperature!r} is not positive")
        if problems:
            raise ValueError("; ".join(problems))


def artifact_prefix(version: str) -> str:
    if not version or "/" in version or version.startswith("."):
        raise ValueError(f"Invalid model version name {version!r}")
    return f"{getattr(settings, 'MLCORE_ARTIFACT_PREFIX', 'mlcore/models').rstrip('/')}/{version}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _storage_write(storage: Storage, name: str, data: bytes) -> str:
    if storage.exists(name):
        storage.delete(name)
    return storage.save(name, ContentFile(data))


def model_card_save(*, card: ModelCard, storage: Storage | None = None) -> str:
    storage = storage or default_storage
    return _storage_write(storage, f"{artifact_prefix(card.version)}/{CARD_NAME}", card.to_json().encode())


def model_card_load(*, version: str, storage: Storage | None = None) -> ModelCard:
    storage = storage or default_storage
    name = f"{artifact_prefix(version)}/{CARD_NAME}"
    try:
        with storage.open(name, "rb") as handle:
            data = json.loads(handle.read().decode())
        return ModelCard.from_dict(data)
    except Exception as exc:  # any failure to read a card means the version cannot be trusted
        raise ArtifactCorrupt(version, name, f"model card unreadable: {exc}") from exc


def _cache_dir() -> Path:
    default = Path(tempfile.gettempdir()) / "octclinic-mlcore-cache"
    path = Path(getattr(settings, "MLCORE_CACHE_DIR", None) or default)
    path.mkdir(parents=True, exist_ok=True)
    return path


def artifact_local_path(*, version: str, name: str, sha256: str, storage: Storage | None = None) -> Path:
    """A verified local file for a stored artifact: loaders (Keras, LiteRT) need a path, S3 has none.

    Local storage is read in place; remote storage is downloaded once into ``MLCORE_CACHE_DIR`` keyed by
    checksum. Either way the sha256 recorded in the card must match.
    """
    storage = storage or default_storage
    try:
        local = Path(storage.path(name))
    except NotImplementedError:
        local = _cache_dir() / f"{sha256}{Path(name).suffix}"
        if not local.exists():
            try:
                with storage.open(name, "rb") as handle:
                    data = handle.read()
            except Exception as exc:
                raise ArtifactCorrupt(version, name, f"cannot download: {exc}") from exc
            partial = local.with_suffix(local.suffix + ".part")
            partial.write_bytes(data)
            os.replace(partial, local)
    if not local.is_file():
        raise ArtifactCorrupt(version, name, "file is missing")
    digest = hashlib.sha256()
    with local.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != sha256:
        raise ArtifactCorrupt(version, name, "sha256 does not match the model card")
    return local


def keras_model_load(*, card: ModelCard, storage: Storage | None = None):
    """Load the ``.keras`` source artifact (imports Keras); any failure becomes ``ArtifactCorrupt``."""
    name = card.artifact.get("path", "")
    local = artifact_local_path(
        version=card.version, name=name, sha256=card.artifact.get("sha256", ""), storage=storage
    )
    try:
        import keras

        from mlcore import architecture  # noqa: F401  (sets TF log level before Keras loads)

        model = keras.saving.load_model(local, compile=False)
    except Exception as exc:
        raise ArtifactCorrupt(card.version, name, f"Keras cannot load it: {type(exc).__name__}: {exc}") from exc
    if tuple(model.outputs[0].shape[1:]) != (len(CLASSES),) or int(model.inputs[0].shape[1]) != card.input_size:
        raise ArtifactCorrupt(card.version, name, "model input/output shapes do not match the card")
    return model


def _probe_batch(input_size: int) -> np.ndarray:
    rng = np.random.default_rng(20180222)
    return rng.uniform(-1, 1, size=(2, input_size, input_size, 3)).astype(np.float32)


def litert_export(model) -> tuple[bytes, dict[str, Any]]:
    """Convert the serving graph to LiteRT and prove it agrees with Keras on a probe batch.

    Returns the flatbuffer and the evidence recorded in the card. Raises if the export disagrees: a faster
    runtime is only worth having with no loss of accuracy.
    """
    import keras
    import tensorflow as tf

    from mlcore.architecture import serving_function_build
    from mlcore.calibration import softmax
    from mlcore.runtime import LiteRTEngine

    serve = serving_function_build(model)
    with tempfile.TemporaryDirectory(prefix="mlcore-export-") as tmp:
        archive = keras.export.ExportArchive()  # tracks Keras 3 variables, which a bare tf.Module would miss
        archive.track(serve._two_outputs)
        archive.add_endpoint("serve", serve)
        archive.write_out(tmp, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        flatbuffer = converter.convert()
    probe = _probe_batch(int(model.inputs[0].shape[1]))
    expected = serve(tf.constant(probe))
    engine = LiteRTEngine(flatbuffer, input_size=probe.shape[1], num_threads=1)
    logits, cams = engine.run(probe)
    logit_diff = float(np.abs(logits - expected["logits"].numpy()).max())
    prob_diff = float(np.abs(softmax(logits) - softmax(expected["logits"].numpy())).max())
    cam_diff = float(np.abs(cams - expected["cams"].numpy()).max())
    if prob_diff > EXPORT_MAX_ABS_PROBABILITY_DIFF or not np.isfinite(logits).all():
        raise ValueError(f"LiteRT export disagrees with Keras: max probability difference {prob_diff:.2e}")
    evidence = {
        "probe_images": int(len(probe)),
        "max_abs_logit_diff": logit_diff,
        "max_abs_probability_diff": prob_diff,
        "max_abs_cam_diff": cam_diff,
    }
    return flatbuffer, evidence


def artifact_save(*, model, card: ModelCard, export_litert: bool = True, storage: Storage | None = None) -> ModelCard:
    """Store ``model`` and its card; fill in paths, checksums, framework versions and the LiteRT export."""
    import keras
    import tensorflow as tf

    storage = storage or default_storage
    prefix = artifact_prefix(card.version)
    card.input_size = int(model.inputs[0].shape[1])
    card.framework = {"keras": keras.__version__, "tensorflow": tf.__version__}
    with tempfile.TemporaryDirectory(prefix="mlcore-save-") as tmp:
        path = Path(tmp) / KERAS_NAME
        model.save(path)
        data = path.read_bytes()
    name = _storage_write(storage, f"{prefix}/{KERAS_NAME}", data)
    card.artifact = {"path": name, "sha256": _sha256(data), "bytes": len(data), "format": "keras"}
    card.exports = {}
    if export_litert:
        flatbuffer, evidence = litert_export(model)
        lname = _storage_write(storage, f"{prefix}/{LITERT_NAME}", flatbuffer)
        card.exports["litert"] = {"path": lname, "sha256": _sha256(flatbuffer), "bytes": len(flatbuffer), **evidence}
    card.validate()
    model_card_save(card=card, storage=storage)
    return card
