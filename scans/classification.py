"""AI reading of scans: the scans side of mlcore (mlcore never imports scans, so the glue lives here).

Celery delivers at least once (``acks_late``), so ``scan_classify`` is idempotent: a reading that
already exists for the deployed version is not made again, and the unique constraint on
(scan, model version, frame) catches the race of two deliveries running at once. Files follow the
intake rule: the overlay PNG is written first and deleted if the rows are not committed.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError as DbIntegrityError
from django.db import OperationalError, transaction
from django.utils import timezone

from . import files
from .devices import scan_device_name, scan_row_spacing_mm
from .errors import IntegrityError
from .heatmaps import LAYER_EXTENSION
from .inspection import inspect_file, raster_ai_input
from .models import UNRECOGNISED, AiStatus, FileFormat, Prediction, Scan
from .review_queue_keys import scan_review_queue_refresh

logger = logging.getLogger(__name__)
STALE_QUEUED_MINUTES = 10


def _status_set(scan_id: int, status: str, error: str = "") -> None:
    with transaction.atomic():
        Scan.objects.filter(pk=scan_id).update(ai_status=status, ai_error=error[:200])
        scan_review_queue_refresh(scan_id=scan_id)


def scan_ai_frames(scan: Scan) -> list[int]:
    """The frames that get a reading: the chosen ones for a volume, frame 0 for a single image."""
    if not scan.is_volume:
        return [0]
    return sorted(set(scan.ai_frames)) or [scan.default_frame]


def scan_ai_images(scan: Scan, frames: list[int]) -> list:
    """Verified bytes for single 8-bit rasters (exactly what training reads); decoded frames otherwise (16-bit
    rasters windowed to 8 bits, as DICOM)."""
    data = files.file_read_verified(scan.original.name, scan.sha256)
    if scan.file_format != FileFormat.DICOM and scan.frame_count == 1:
        return [raster_ai_input(data)]
    inspected = inspect_file(data)
    return [inspected.frame_gray(index) for index in frames]


def scan_classify(*, scan_id: int) -> list[Prediction]:
    """Read the scan's AI frames with the deployed model and store the predictions.

    Outcome is recorded on the scan: ``classified``; ``awaiting_model`` when nothing is deployed
    (the sweeper retries once a model is); ``failed`` with a short reason otherwise. Database
    connection errors are re-raised so the task can retry them.
    """
    from mlcore import runtime
    from mlcore.exceptions import ModelVersionUnavailable, NoDeployedModel
    from mlcore.selectors import model_version_deployed

    scan = Scan.objects.filter(pk=scan_id).first()
    if scan is None:  # deleted after it was queued: nothing to read
        return []
    frames = scan_ai_frames(scan)
    deployed = model_version_deployed()
    if deployed is None:
        _status_set(scan_id, AiStatus.AWAITING_MODEL)
        return []
    done = set(Prediction.objects.filter(scan=scan, model_version=deployed).values_list("frame", flat=True))
    missing = [frame for frame in frames if frame not in done]
    if not missing:
        _status_set(scan_id, AiStatus.CLASSIFIED)
        return list(Prediction.objects.filter(scan=scan, model_version=deployed, frame__in=frames))
    try:
        images = scan_ai_images(scan, missing)
        spacing = scan_row_spacing_mm(scan)
        readings = runtime.classify(images, heatmaps=True, row_spacings_mm=[spacing] * len(images))
        return _predictions_store(scan=scan, frames=missing, images=images, readings=readings)
    except NoDeployedModel:
        _status_set(scan_id, AiStatus.AWAITING_MODEL)
    except ModelVersionUnavailable as exc:
        logger.warning("scan %s: model unavailable for AI reading: %s", scan_id, exc)
        _status_set(scan_id, AiStatus.FAILED, f"The AI model could not be loaded ({type(exc).__name__}).")
    except IntegrityError:
        logger.error("scan %s: stored original failed its integrity check during AI reading", scan_id)
        _status_set(scan_id, AiStatus.FAILED, "The stored image failed its integrity check.")
    except OperationalError:
        raise
    except Exception as exc:
        logger.exception("scan %s: AI reading failed", scan_id)
        _status_set(scan_id, AiStatus.FAILED, f"Internal error during AI reading ({type(exc).__name__}).")
    return []


def _predictions_store(*, scan: Scan, frames: list[int], images: list, readings: list) -> list[Prediction]:
    from mlcore.gradcam import heatmap_layer_png
    from mlcore.models import ModelVersion

    stored: list[str] = []
    try:
        overlays = []
        for _image, reading in zip(images, readings, strict=True):
            if reading.heatmap is None:  # e.g. an image not recognised as OCT: no class to explain
                overlays.append(None)
                continue
            # A transparent layer at the scan's size that the viewer lays over the scan (see scans.heatmaps).
            png = heatmap_layer_png(size=reading.image_size, heatmap=reading.heatmap, box=reading.input_box)
            overlay = files.file_store(prefix=files.HEATMAPS, extension=LAYER_EXTENSION, data=png)
            stored.append(overlay.name)
            overlays.append(overlay)
        versions = {v.version: v for v in ModelVersion.objects.filter(version__in={r.model_version for r in readings})}
        device = scan_device_name(scan)
        with transaction.atomic():
            predictions = [
                Prediction.objects.create(
                    scan=scan,
                    model_version=versions[reading.model_version],
                    frame=frame,
                    probabilities=dict(reading.probabilities),
                    # A refused image is no diagnosis: no label, and an urgency that ranks it last in the queue.
                    label=reading.label if reading.recognised else "",
                    confidence=reading.confidence,
                    uncertainty=reading.uncertainty,
                    needs_careful_review=reading.needs_careful_review,
                    review_reasons=list(reading.review_reasons),
                    urgency=str(reading.urgency) if reading.recognised and reading.urgency else UNRECOGNISED,
                    deferred=reading.deferred,
                    recognised=reading.recognised,
                    refusal_reason=reading.refusal_reason[:200],
                    heatmap=overlay.name if overlay else "",
                    heatmap_sha256=overlay.sha256 if overlay else "",
                    model_ms=reading.model_ms,
                    input_sha256=reading.input_sha256,
                    device=device,
                )
                for frame, reading, overlay in zip(frames, readings, overlays, strict=True)
            ]
            Scan.objects.filter(pk=scan.pk).update(ai_status=AiStatus.CLASSIFIED, ai_error="")
            scan_review_queue_refresh(scan_id=scan.pk)
    except DbIntegrityError:
        # Another delivery of the same task stored these readings first: theirs stand, ours go.
        for name in stored:
            files.file_delete_quietly(name)
        _status_set(scan.pk, AiStatus.CLASSIFIED)
        return list(Prediction.objects.filter(scan=scan, frame__in=frames))
    except BaseException:
        for name in stored:
            files.file_delete_quietly(name)
        raise
    logger.info("scan %s: %d AI reading(s) stored", scan.pk, len(predictions))
    return predictions


def scan_classification_enqueue(*, scan: Scan) -> None:
    """Mark the scan queued and send the task once the surrounding transaction commits."""
    from .tasks import classify_scan

    Scan.objects.filter(pk=scan.pk).update(
        ai_status=AiStatus.QUEUED, ai_error="", ai_queued_at=timezone.now(), review_pending=False
    )
    scan.ai_status, scan.ai_error, scan.review_pending = AiStatus.QUEUED, "", False
    scan_id = scan.pk
    # robust: a broker outage must not undo the upload; the sweeper re-sends stale queued scans.
    transaction.on_commit(lambda: classify_scan.delay(scan_id), robust=True)


def scan_classification_retry(*, scan: Scan, user) -> Scan:
    """Staff asked for another try after a failure (e.g. once a broken model was replaced)."""
    scan_classification_enqueue(scan=scan)
    logger.info("scan %s: AI reading re-queued by user %s", scan.pk, getattr(user, "pk", None))
    return scan


def scans_classification_requeue(*, stale_minutes: int = STALE_QUEUED_MINUTES) -> list[int]:
    """Re-queue scans whose task was lost (queued too long) and, once a model is deployed, those waiting for one.

    Run by the beat sweeper because mlcore cannot notify scans when a model is deployed.
    """
    from django.db.models import Q

    from mlcore.selectors import model_version_deployed

    cutoff = timezone.now() - dt.timedelta(minutes=stale_minutes)
    stale = Q(ai_status=AiStatus.QUEUED) & (
        Q(ai_queued_at__lt=cutoff) | Q(ai_queued_at__isnull=True, uploaded_at__lt=cutoff)
    )
    if model_version_deployed() is not None:
        stale |= Q(ai_status=AiStatus.AWAITING_MODEL)
    ids = list(Scan.objects.filter(stale).values_list("pk", flat=True))
    for scan in Scan.objects.filter(pk__in=ids).only("pk"):
        scan_classification_enqueue(scan=scan)
    if ids:
        logger.info("AI sweeper re-queued %d scan(s)", len(ids))
    return ids
