"""Shadow mode: a candidate reads new scans beside the deployed model, and nobody sees its answer.

The scans app calls ``shadow_reading_record`` after each classification; what is stored is the two labels and
the input's sha256 (no scan, no patient). The agreement report tells a clinic admin, before promotion, how
often the candidate would have said something different on this clinic's own scans.
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
    return (
        ModelVersion.objects.filter(status=ModelVersion.Status.CANDIDATE, lifecycle__shadow=True)
        .order_by("-created_at")
        .first()
    )


def _shadow_model(version: str):
    from mlcore.runtime import model_load

    with _lock:
        if version not in _loaded:
            _loaded.clear()
            _loaded[version] = model_load(version=version)
        return _loaded[version]


def shadow_reading_record(*, image_bytes: bytes, deployed_reading) -> ShadowReading | None:
    """Run the shadow candidate (if any) on the same bytes the deployed model read, and store the agreement.

    ``deployed_reading`` is the ``mlcore.runtime.Reading`` the deployed model produced. Returns None when no
    candidate is in shadow mode or it cannot load (shadowing must never break the real reading).
    Idempotent per (candidate, input checksum).
    """
    from mlcore.runtime import classify

    candidate = shadow_candidate()
    if candidate is None or candidate.version == deployed_reading.model_version:
        return None
    checksum = image_checksum(image_bytes)
    existing = ShadowReading.objects.filter(candidate=candidate, input_sha256=checksum).first()
    if existing is not None:
        return existing
    try:
        reading = classify([image_bytes], loaded=_shadow_model(candidate.version))[0]
    except ModelVersionUnavailable:
        logger.exception("mlcore: shadow candidate %s cannot load", candidate.version)
        return None
    try:
        with transaction.atomic():
            return ShadowReading.objects.create(
                candidate=candidate,
                input_sha256=checksum,
                deployed_version=deployed_reading.model_version,
                deployed_label=deployed_reading.label,
                candidate_label=reading.label,
                agrees=reading.label == deployed_reading.label,
            )
    except IntegrityError:  # the same input recorded concurrently
        return ShadowReading.objects.get(candidate=candidate, input_sha256=checksum)


def shadow_cache_clear() -> None:
    with _lock:
        _loaded.clear()
