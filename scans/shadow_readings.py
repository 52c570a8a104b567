"""Shadow mode's scans side: after a scan's AI reading is stored, the shadow candidate reads the same image.

mlcore never imports scans, so the glue lives here (as ``scans.classification`` is for the deployed model). The
candidate's reading is a follow-up task queued once the deployed model's readings are committed: the reading
a doctor sees never waits for the candidate, and a candidate that fails changes nothing on the scan.
"""

from __future__ import annotations

import logging

from django.db import transaction

from .models import Prediction, Scan

logger = logging.getLogger(__name__)


def scan_shadow_enqueue(*, scan_id: int) -> bool:
    """Queue the shadow reading of this scan when a candidate is in shadow mode (one cheap query otherwise)."""
    from mlcore.selectors import shadow_candidate_current

    if shadow_candidate_current() is None:
        return False
    from .tasks import shadow_read_scan

    transaction.on_commit(lambda: shadow_read_scan.delay(scan_id), robust=True)
    return True


def scan_shadow_read(*, scan_id: int) -> list:
    """Run the shadow candidate on the frames the deployed model read (its newest readings of the scan) and store
    the agreement per input; idempotent (``mlcore.shadow`` keeps one row per candidate and input)."""
    from mlcore.shadow import shadow_candidate, shadow_reading_record

    from .classification import scan_ai_images
    from .devices import scan_row_spacing_mm

    scan = Scan.objects.filter(pk=scan_id).first()
    candidate = shadow_candidate()
    if scan is None or candidate is None:
        return []
    newest = Prediction.objects.filter(scan=scan).select_related("model_version").order_by("-created_at").first()
    if newest is None or newest.model_version_id == candidate.pk:
        return []
    predictions = list(Prediction.objects.filter(scan=scan, model_version=newest.model_version).order_by("frame"))
    images = scan_ai_images(scan, [p.frame for p in predictions])
    spacing = scan_row_spacing_mm(scan)  # what the deployed model was given too (scans.classification)
    rows = []
    for prediction, image in zip(predictions, images, strict=True):
        row = shadow_reading_record(
            image_bytes=image,
            deployed_version=newest.model_version.version,
            deployed_label=prediction.label if prediction.recognised else "",
            row_spacing_mm=spacing,
        )
        if row is not None:
            rows.append(row)
    logger.info("scan %s: %d shadow reading(s) by %s", scan_id, len(rows), candidate.version)
    return rows
