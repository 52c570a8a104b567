"""Serving: one loaded model per worker process, compiled inference, batching, and the per-process cache.

Design, and why:

* **Runtime.** A deployed version normally serves through its LiteRT export (``model.tflite``, XNNPACK on CPU):
  on the 2-core reference machine it is as fast as the compiled TensorFlow function for one scan and it starts
  in well under a second because it needs no TensorFlow import (TensorFlow alone takes ~2.8 s to import). The
  export is verified against Keras when it is made (see ``mlcore.artifacts.litert_export``). Where no export
  exists, or ``MLCORE_RUNTIME = "tensorflow"``, the ``.keras`` artifact serves through a ``tf.function`` with a
  fixed input signature, called directly (``model.predict`` pays a large per-call overhead).
* **One forward pass** returns logits and the Grad-CAM maps of every class, so explanations cost nothing extra.
* **After the fork.** Nothing here imports TensorFlow or LiteRT at import time, so a Celery parent process stays
  free of their thread pools; each child loads and warms the model in ``worker_process_init``.
* **A failed load never evicts the working model.** A new version is loaded and warmed completely before it
  replaces the cached one; if that fails the previous version keeps serving (each ``Reading`` says which version
  produced it) and the failure is retried only after ``MLCORE_RELOAD_RETRY_SECONDS``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from celery.signals import worker_process_init  # noqa: E402
from django.conf import settings  # noqa: E402

from mlcore.artifacts import ModelCard, artifact_local_path, keras_model_load, model_card_load  # noqa: E402
from mlcore.calibration import softmax  # noqa: E402
from mlcore.exceptions import ArtifactCorrupt, ModelVersionUnavailable, NoDeployedModel  # noqa: E402
from mlcore.labels import CLASSES, Urgency  # noqa: E402
from mlcore.oct_check import OctCheck, oct_check_measure  # noqa: E402
from mlcore.preprocessing import (  # noqa: E402
    PREPROCESSING_VERSION,
    VERSIONS,
    ImageInput,
    Prepared,
    gray_of,
    image_checksum,
    image_decode,
)
from mlcore.triage import Thresholds, thresholds_current, triage_assess  # noqa: E402

logger = logging.getLogger(__name__)

RUNTIMES = ("auto", "litert", "tensorflow")


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def _num_threads() -> int:
    return int(_setting("MLCORE_NUM_THREADS", None) or os.cpu_count() or 1)


def _batch_size() -> int:
    return max(1, int(_setting("MLCORE_BATCH_SIZE", 16)))


@dataclass(frozen=True)
class Reading:
    """One scan's classification, everything the scans app stores on a Prediction.

    ``model_ms`` is this image's share of the engine's forward-pass time (batch time / batch size), excluding
    decoding and resizing. ``heatmap`` is the Grad-CAM map of the predicted class at the network's resolution
    (values in [0, 1]); render it with ``mlcore.gradcam.heatmap_overlay_png``.
    """

    label: str
    probabilities: dict[str, float]
    confidence: float
    uncertainty: float
    needs_careful_review: bool
    review_reasons: tuple[str, ...]
    urgency: Urgency | None
    model_version: str
    runtime: str
    model_ms: float
    input_sha256: str
    image_size: tuple[int, int]
    preprocessing_version: str = PREPROCESSING_VERSION
    temperature: float = 1.0
    heatmap: np.ndarray | None = field(default=None, repr=False, compare=False)
    # The calibrated top probability is under the version's deferral threshold: shown without its suggestion.
    deferred: bool = False
    # False when the image is not a retinal OCT B-scan: then ``label == ""`` and ``urgency is None``.
    recognised: bool = True
    refusal_reason: str = ""
    input_box: tuple[int, int, int, int] | None = None  # the original image's part the model (and heatmap) saw
    deferral_threshold: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the heatmap array)."""
        return {
            "label": self.label,
            "probabilities": dict(self.probabilities),
            "confidence": self.confidence,
            "uncertainty": self.uncertainty,
            "needs_careful_review": self.needs_careful_review,
            "review_reasons": list(self.review_reasons),
            "urgency": str(self.urgency) if self.urgency is not None else None,
            "model_version": self.model_version,
            "runtime": self.runtime,
            "model_ms": self.model_ms,
            "input_sha256": self.input_sha256,
            "image_size": list(self.image_size),
            "preprocessing_version": self.preprocessing_version,
            "temperature": self.temperature,
            "deferred": self.deferred,
            "recognised": self.recognised,
            "refusal_reason": self.refusal_reason,
            "input_box": list(self.input_box) if self.input_box is not None else None,
            "deferral_threshold": self.deferral_threshold,
        }


class LiteRTEngine:
    """The LiteRT export, one interpreter per batch size in use (1 for single scans, ``batch_size`` for bulk).

    Separate interpreters avoid re-planning tensors (and XNNPACK re-packing) whenever the batch size changes.
    """

    name = "litert"

    def __init__(self, model: bytes | Path, *, input_size: int, num_threads: int, batch_size: int = 1):
        self.model = model
        self.input_size = input_size
        self.num_threads = num_threads
        self.batch_size = batch_size
        self._runners: dict[int, Any] = {}

    def _runner(self, n: int):
        runner = self._runners.get(n)
        if runner is None:
            try:
                from ai_edge_litert.interpreter import Interpreter
            except ImportError:  # the TensorFlow wheel ships the same interpreter, slower to import
                from tensorflow.lite import Interpreter  # type: ignore[no-redef]
            source = {"model_content": self.model} if isinstance(self.model, bytes) else {"model_path": str(self.model)}
            interpreter = Interpreter(**source, num_threads=self.num_threads)
            input_index = interpreter.get_input_details()[0]["index"]
            interpreter.resize_tensor_input(input_index, [n, self.input_size, self.input_size, 3])
            interpreter.allocate_tensors()
            # The serving graph has exactly two outputs: logits (rank 2) and Grad-CAM maps (rank 4).
            outputs = {len(d["shape"]): d["index"] for d in interpreter.get_output_details()}
            runner = (interpreter, input_index, outputs[2], outputs[4])
            self._runners[n] = runner
        return runner

    def _invoke(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        interpreter, input_index, logits_index, cams_index = self._runner(len(batch))
        interpreter.set_tensor(input_index, batch)
        interpreter.invoke()
        return interpreter.get_tensor(logits_index), interpreter.get_tensor(cams_index)

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if len(batch) in (1, self.batch_size):
            return self._invoke(batch)
        parts = [self._invoke(batch[i : i + 1]) for i in range(len(batch))]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


class TensorFlowEngine:
    """The ``.keras`` model through a compiled ``tf.function`` with a fixed signature, called directly."""

    name = "tensorflow"

    def __init__(self, model, *, num_threads: int):
        import tensorflow as tf

        from mlcore.architecture import serving_function_build

        try:  # only possible before TensorFlow's runtime starts; later calls keep the defaults
            tf.config.threading.set_intra_op_parallelism_threads(num_threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass
        self._tf = tf
        self.model = model
        self.serve = serving_function_build(model)

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = self.serve(self._tf.constant(np.asarray(batch, dtype=np.float32)))
        return out["logits"].numpy(), out["cams"].numpy()


@dataclass
class LoadedModel:
    version: str
    card: ModelCard
    engine: LiteRTEngine | TensorFlowEngine
    load_seconds: float

    @property
    def runtime(self) -> str:
        return self.engine.name


def _runtime_choice(card: ModelCard) -> str:
    runtime = _setting("MLCORE_RUNTIME", "auto")
    if runtime not in RUNTIMES:
        raise ValueError(f"MLCORE_RUNTIME must be one of {RUNTIMES}, got {runtime!r}")
    if runtime == "auto":
        return "litert" if "litert" in card.exports else "tensorflow"
    if runtime == "litert" and "litert" not in card.exports:
        raise ArtifactCorrupt(card.version, card.artifact.get("path", ""), "MLCORE_RUNTIME=litert but no export")
    return runtime


def model_load(*, version: str, storage=None) -> LoadedModel:
    """Load, check and warm one version; nothing is cached here, so a failure has no side effects."""
    started = time.perf_counter()
    card = model_card_load(version=version, storage=storage)
    runtime = _runtime_choice(card)
    if runtime == "litert":
        export = card.exports["litert"]
        path = artifact_local_path(version=version, name=export["path"], sha256=export["sha256"], storage=storage)
        engine: LiteRTEngine | TensorFlowEngine = LiteRTEngine(
            path, input_size=card.input_size, num_threads=_num_threads(), batch_size=_batch_size()
        )
        source = export["path"]
    else:
        engine = TensorFlowEngine(keras_model_load(card=card, storage=storage), num_threads=_num_threads())
        source = card.artifact.get("path", "")
    try:
        logits, cams = engine.run(np.zeros((1, card.input_size, card.input_size, 3), np.float32))
    except Exception as exc:
        raise ArtifactCorrupt(version, source, f"warm-up prediction failed: {type(exc).__name__}: {exc}") from exc
    if logits.shape != (1, len(CLASSES)) or not np.isfinite(logits).all() or cams.shape[-1] != len(CLASSES):
        raise ArtifactCorrupt(version, source, f"warm-up prediction is malformed (logits shape {logits.shape})")
    return LoadedModel(version=version, card=card, engine=engine, load_seconds=time.perf_counter() - started)


# --- the per-process cache ------------------------------------------------------------------------------------
_lock = threading.RLock()
_loaded: LoadedModel | None = None
_failed: dict[str, float] = {}  # version -> monotonic time of its last failed load


def model_cached() -> LoadedModel | None:
    return _loaded


def model_cache_clear() -> None:
    """Forget the loaded model and past failures (tests; a worker never needs this)."""
    global _loaded
    with _lock:
        _loaded = None
        _failed.clear()


def model_activate(*, version: str, storage=None) -> LoadedModel:
    """Load ``version`` and make it the serving model; on failure raise and keep the current one."""
    global _loaded
    with _lock:
        if _loaded is not None and _loaded.version == version:
            return _loaded
        try:
            candidate = model_load(version=version, storage=storage)
        except ModelVersionUnavailable:
            _failed[version] = time.monotonic()
            raise
        except Exception as exc:  # unexpected errors must not leave the cache half-changed either
            _failed[version] = time.monotonic()
            raise ArtifactCorrupt(version, "", f"{type(exc).__name__}: {exc}") from exc
        _failed.pop(version, None)
        _loaded = candidate
        logger.info(
            "mlcore: serving model %s on %s (loaded in %.2fs)", version, candidate.runtime, candidate.load_seconds
        )
        return candidate


def model_current() -> LoadedModel:
    """The model to serve now: the deployed version, or the last good one while the deployed one cannot load."""
    from mlcore.selectors import model_version_deployed

    deployed = model_version_deployed()
    with _lock:
        if deployed is None:
            raise NoDeployedModel("No model version is deployed")
        if _loaded is not None and _loaded.version == deployed.version:
            return _loaded
        retry_after = float(_setting("MLCORE_RELOAD_RETRY_SECONDS", 60))
        failed_at = _failed.get(deployed.version)
        if _loaded is not None and failed_at is not None and time.monotonic() - failed_at < retry_after:
            return _loaded
        try:
            return model_activate(version=deployed.version)
        except ModelVersionUnavailable:
            if _loaded is None:
                raise
            logger.exception(
                "mlcore: deployed model %s cannot load; still serving %s", deployed.version, _loaded.version
            )
            return _loaded


@worker_process_init.connect
def _load_after_fork(**_kwargs) -> None:
    """Each Celery child loads and warms the model once, after the fork, before its first task."""
    if not _setting("MLCORE_WARM_ON_WORKER_START", True):
        return
    try:
        model_current()
    except NoDeployedModel:
        logger.info("mlcore: no deployed model yet; classification will load one when deployed")
    except Exception:  # a worker that cannot load a model must still start and report errors per task
        logger.exception("mlcore: could not load the deployed model at worker start")


# --- inference --------------------------------------------------------------------------------------------------
def _heatmap(cams: np.ndarray, class_index: int) -> np.ndarray:
    from mlcore.gradcam import heatmap_from_cam

    return heatmap_from_cam(cams[..., class_index])


def readings_from_outputs(
    *,
    loaded: LoadedModel,
    logits: np.ndarray,
    cams: np.ndarray | None,
    checksums: Sequence[str],
    sizes: Sequence[tuple[int, int]],
    model_ms: float,
    thresholds: Thresholds | None = None,
    checks: Sequence[OctCheck] | None = None,
    boxes: Sequence[tuple[int, int, int, int] | None] | None = None,
) -> list[Reading]:
    thresholds = thresholds or thresholds_current()
    probabilities = softmax(logits, temperature=loaded.card.temperature)
    deferral_threshold = deferral_threshold_of(loaded.card)
    readings = []
    for i, p in enumerate(probabilities):
        triage = triage_assess(p, thresholds=thresholds)
        check = checks[i] if checks is not None else None
        recognised = check is None or check.recognised
        deferred = recognised and deferral_threshold is not None and triage.confidence < deferral_threshold
        reasons = triage.review_reasons
        if check is not None and not check.recognised:
            reasons = (f"not recognised as a retinal OCT B-scan: {check.reason}",)
        elif deferred:
            reasons = (f"AI unsure: confidence {triage.confidence:.2f} below {deferral_threshold:.2f}", *reasons)
        readings.append(
            Reading(
                label=triage.label if recognised else "",
                probabilities={name: float(v) for name, v in zip(CLASSES, p, strict=True)},
                confidence=triage.confidence,
                uncertainty=triage.uncertainty,
                needs_careful_review=triage.needs_careful_review or deferred or not recognised,
                review_reasons=reasons,
                urgency=triage.urgency if recognised else None,
                model_version=loaded.version,
                runtime=loaded.runtime,
                model_ms=model_ms,
                input_sha256=checksums[i],
                image_size=sizes[i],
                preprocessing_version=loaded.card.preprocessing_version,
                temperature=float(loaded.card.temperature),
                heatmap=None if cams is None or not recognised else _heatmap(cams[i], CLASSES.index(triage.label)),
                deferred=bool(deferred),
                deferral_threshold=deferral_threshold,
                recognised=recognised,
                refusal_reason="" if check is None or check.recognised else check.reason,
                input_box=boxes[i] if boxes is not None else None,
            )
        )
    return readings


def deferral_threshold_of(card: ModelCard) -> float | None:
    """The version's deferral threshold, unless the clinic switched deferral off (``MLCORE_DEFERRAL``)."""
    if not _setting("MLCORE_DEFERRAL", True):
        return None
    threshold = (card.deferral or {}).get("threshold")
    return float(threshold) if threshold is not None else None


def image_prepare_checked(
    image: ImageInput,
    *,
    input_size: int,
    version: str = PREPROCESSING_VERSION,
    row_spacing_mm: float | None = None,
) -> tuple[Prepared, OctCheck]:
    """Decode once; the model input and the OCT check share the decoded image and the located retina."""
    pil = image_decode(image)
    gray = gray_of(pil)
    prepared = VERSIONS[version](gray, input_size, row_spacing_mm)
    return prepared, oct_check_measure(pil, np.asarray(gray, dtype=np.uint8), prepared.retina)


def images_prepare(
    images: Sequence[ImageInput], *, input_size: int, version: str = PREPROCESSING_VERSION
) -> np.ndarray:
    """The serving side of preprocessing: a float32 batch, the shared preprocessing applied per image."""
    return np.stack([VERSIONS[version](gray_of(image_decode(image)), input_size, None).tensor for image in images])


def classify(
    images: Sequence[ImageInput],
    *,
    heatmaps: bool = False,
    loaded: LoadedModel | None = None,
    row_spacings_mm: Sequence[float | None] | None = None,
) -> list[Reading]:
    """Classify scans with the deployed model, in batches of ``MLCORE_BATCH_SIZE``.

    Pass file bytes where you have them: that is exactly what the training pipeline reads. PIL images and
    uint8 arrays are accepted too. ``row_spacings_mm`` (one per image, None where unknown) is the axial pixel
    spacing a DICOM header gives: preprocessing versions that use it crop a fixed physical depth.
    Raises ``NoDeployedModel`` / ``ModelVersionUnavailable``.
    """
    if not images:
        return []
    spacings = list(row_spacings_mm) if row_spacings_mm is not None else [None] * len(images)
    if len(spacings) != len(images):
        raise ValueError("row_spacings_mm needs one entry per image")
    loaded = loaded or model_current()
    size = loaded.card.input_size
    step = _batch_size()
    thresholds = thresholds_current()
    readings: list[Reading] = []
    for start in range(0, len(images), step):
        chunk = list(images[start : start + step])
        prepared = [
            image_prepare_checked(
                image, input_size=size, version=loaded.card.preprocessing_version, row_spacing_mm=spacing
            )
            for image, spacing in zip(chunk, spacings[start : start + step], strict=True)
        ]
        batch = np.stack([p.tensor for p, _check in prepared])
        began = time.perf_counter()
        logits, cams = loaded.engine.run(batch)
        model_ms = (time.perf_counter() - began) * 1000 / len(chunk)
        readings += readings_from_outputs(
            loaded=loaded,
            logits=logits,
            cams=cams if heatmaps else None,
            checksums=[image_checksum(image) for image in chunk],
            sizes=[p.size for p, _check in prepared],
            model_ms=model_ms,
            thresholds=thresholds,
            checks=[check for _p, check in prepared],
            boxes=[p.box for p, _check in prepared],
        )
    return readings


def classify_one(image: ImageInput, *, heatmap: bool = False) -> Reading:
    return classify([image], heatmaps=heatmap)[0]
