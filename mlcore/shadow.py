"""Shadow mode: a candidate reads new scans beside the deployed model, and nobody sees its answer.

After each classification the scans app queues a follow-up task (``scans.tasks.shadow_read_scan``, only while a
candidate is in shadow mode) that calls ``shadow_reading_record`` with the same image the deployed model read and
that model's stored label: the deployed reading is stored first and never waits for the candidate. What is stored
is the two labels and the input's sha256 (no scan, no patient). The agreement report (overall and per label,
``selectors.shadow_agreement_report``) tells a clinic admin, before promotion, how often the candidate would have
said something different on this clinic's own scans, and the gate uses it (``mlcore.gating``).
"""

from __future__ import annotations

import logging
import threading

from django.db import IntegrityError, transaction

from mlcore.exceptions import ModelVersionUnavailable
from mlcore.models import ModelVersion, ShadowReading
from mlcore.preprocessing import image_checksum

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_loaded: dict[str, object] = {}  # version -> runtime.LoadedModel (only the current shadow is kept)


def shadow_candidate() -> ModelVersion | None:
    from mlcore.selectors import shadow_candidate_current

    return shadow_candidate_current()


def _shadow_model(version: str):
    from mlcore.runtime import model_load

    with _lock:
        if version not in _loaded:
            _loaded.clear()
            _loaded[version] = model_load(version=version)
        return _loaded[version]


def shadow_reading_record(
    *,
    image_bytes,
    deployed_reading=None,
    deployed_version: str | None = None,
    deployed_label: str | None = None,
    row_spacing_mm: float | None = None,
) -> ShadowReading | None:
    """Run the shadow candidate (if any) on the same image the deployed model read, and store the agreement.

    ``image_bytes`` is what ``runtime.classify`` read (file bytes, or a decoded frame). The deployed side is either
    ``deployed_reading`` (the ``mlcore.runtime.Reading``) or its stored ``deployed_version`` and ``deployed_label``
    ("" for an image it did not recognise as OCT); ``row_spacing_mm`` is the axial spacing the deployed model was
    given, so both read the same input. Returns None when no candidate is in shadow mode or it cannot load
    (shadowing must never break the real reading). Idempotent per (candidate, input checksum).
    """
    from mlcore.runtime import classify

    if deployed_reading is not None:
        deployed_version = deployed_reading.model_version
        deployed_label = deployed_reading.label if deployed_reading.recognised else ""
    candidate = shadow_candidate()
    if candidate is None or candidate.version == deployed_version:
        return None
    checksum = image_checksum(image_bytes)
    existing = ShadowReading.objects.filter(candidate=candidate, input_sha256=checksum).first()
    if existing is not None:
        return existing
    try:
        reading = classify([image_bytes], loaded=_shadow_model(candidate.version), row_spacings_mm=[row_spacing_mm])[0]
    except ModelVersionUnavailable:
        logger.exception("mlcore: shadow candidate %s cannot load", candidate.version)
        return None
    candidate_label = reading.label if reading.recognised else ""
    try:
        with transaction.atomic():
            return ShadowReading.objects.create(
                candidate=candidate,
                input_sha256=checksum,
                deployed_version=deployed_version,
                deployed_label=deployed_label or "",
                candidate_label=candidate_label,
                agrees=candidate_label == (deployed_label or ""),
            )
    except IntegrityError:  # the same input recorded concurrently
        return ShadowReading.objects.get(candidate=candidate, input_sha256=checksum)


def shadow_cache_clear() -> None:
    with _lock:
        _loaded.clear()
