"""Reads of scans: lists for pages, verified file reads, timeline entries, de-identified exports."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient
from patients.timeline import TimelineEntry

from . import files
from .derivatives import frame_png
from .inspection import inspect_file
from .models import FileFormat, LabelledImage, Prediction, Scan

FILE_KINDS = ("original", "preview", "thumbnail", "deidentified")


def patient_scans_list(*, patient: Patient) -> QuerySet[Scan]:
    """One query whatever the number of scans (the gallery is checked for N+1)."""
    return Scan.objects.filter(patient=patient).select_related("dicom").defer("warnings")


def scan_get(*, uuid) -> Scan:
    return Scan.objects.select_related("patient", "appointment", "dicom", "uploaded_by").get(uuid=uuid)


def scans_of_eye(*, patient: Patient, eye: str) -> QuerySet[Scan]:
    return Scan.objects.filter(patient=patient, eye=eye).order_by("-acquired_on", "-uploaded_at", "-pk")


@dataclass(frozen=True)
class ScanFile:
    handle: object  # file object at offset 0, already verified
    content_type: str
    download_name: str


def scan_file_open(*, scan: Scan, kind: str) -> ScanFile:
    """Open one of a scan's files after proving its sha256; raises errors.IntegrityError otherwise."""
    if kind not in FILE_KINDS:
        raise ValueError(kind)
    name = getattr(scan, kind).name
    if not name:
        raise FileNotFoundError(kind)
    checksum = scan.sha256 if kind == "original" else getattr(scan, f"{kind}_sha256")
    handle = files.file_open_verified(name, checksum)
    if kind == "original":
        content_type, extension = scan.content_type, files_extension(name)
    elif kind == "preview":
        content_type, extension = "image/png", ".png"
    elif kind == "thumbnail":
        content_type, extension = "image/jpeg", ".jpg"
    else:
        content_type, extension = "application/dicom", ".dcm"
    # The download name is generated too: the uploaded name may carry PHI.
    return ScanFile(handle=handle, content_type=content_type, download_name=f"scan-{scan.pk}-{kind}{extension}")


def files_extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot > name.rfind("/") else ""


def scan_frame_png(*, scan: Scan, index: int) -> bytes:
    """One frame of a volume rendered like the preview (decoded from the verified original)."""
    if not 0 <= index < scan.frame_count:
        raise IndexError(index)
    data = files.file_read_verified(scan.original.name, scan.sha256)
    return frame_png(inspect_file(data).frame_gray(index))


def scan_export_bytes(*, scan: Scan) -> tuple[bytes, str]:
    """What leaves the clinical record: the de-identified DICOM copy; raster images as stored.

    (Raster scans carry no header identity; their pixels are what the clinic uploaded.)
    """
    if scan.file_format == FileFormat.DICOM:
        return files.file_read_verified(scan.deidentified.name, scan.deidentified_sha256), "application/dicom"
    return files.file_read_verified(scan.original.name, scan.sha256), scan.content_type


def labelled_images_for_training(*, labels: list[str] | None = None, split: str | None = None):
    queryset = LabelledImage.objects.all()
    if labels:
        queryset = queryset.filter(label__in=labels)
    if split is not None:
        queryset = queryset.filter(split=split)
    return queryset


def labelled_image_read(*, image: LabelledImage) -> bytes:
    return files.file_read_verified(image.file.name, image.sha256)


def _scan_when(scan: Scan) -> dt.datetime:
    try:
        dicom = scan.dicom
    except Scan.dicom.RelatedObjectDoesNotExist:
        dicom = None
    if dicom is not None and dicom.acquisition_datetime and dicom.acquisition_datetime.date() == scan.acquired_on:
        return dicom.acquisition_datetime
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    if timezone.localtime(scan.uploaded_at, zone).date() == scan.acquired_on:
        return scan.uploaded_at
    return dt.datetime.combine(scan.acquired_on, dt.time(0, 0), tzinfo=zone)


def scan_timeline_entries(patient: Patient) -> list[TimelineEntry]:
    """Timeline source for patients.timeline (one query for any number of scans, at most one more for the model
    provenance of their readings). Each classified scan says what the AI made of it and which model did."""
    from .review_selectors import decision_text, scans_with_decision

    scans = list(
        scans_with_decision(patient_scans_list(patient=patient).select_related("queue_prediction__model_version"))
    )
    predictions_with_provenance(scan.queue_prediction for scan in scans)
    entries = []
    for scan in scans:
        kind = "OCT volume" if scan.is_volume else "Scan"
        decided = f" · doctor: {decision_text(scan)}" if scan.decision_code else ""
        reading = scan.queue_prediction  # the most pressing reading: what the queue showed the doctor
        if reading is not None:
            said = reading.outcome_text or f"{reading.label} ({reading.urgency})"
            decided = f" · AI: {said}{decided}"
        entries.append(
            TimelineEntry(
                when=_scan_when(scan),
                kind="scan",
                title=f"{kind} {scan.eye}",
                url=reverse("scans:detail", kwargs={"uuid": scan.uuid}),
                detail=f"{scan.get_file_format_display()}, {scan.width}×{scan.height}"
                + (f", {scan.frame_count} frames" if scan.is_volume else "")
                + decided,
                status=scan.ai_status,
                eye=scan.eye,
                extra={
                    "scan_uuid": str(scan.uuid),
                    "ai_status_label": scan.get_ai_status_display(),
                    "decision": scan.decision_code or "",
                    "decision_label": scan.decision_label or "",
                    "ai_outcome": reading.outcome if reading is not None else "",
                    "provenance": reading.provenance if reading is not None else None,
                },
            )
        )
    return entries


def scan_predictions_current(*, scan: Scan) -> list[Prediction]:
    """The newest model version's readings of the scan's AI frames (what the scan page shows)."""
    from .classification import scan_ai_frames

    frames = scan_ai_frames(scan)
    newest = scan.predictions.filter(frame__in=frames).order_by("-created_at", "-pk").first()
    if newest is None:
        return []
    return predictions_with_provenance(
        scan.predictions.filter(model_version_id=newest.model_version_id, frame__in=frames)
        .select_related("model_version")
        .order_by("frame")
    )


def predictions_with_provenance(predictions) -> list:
    """The readings, each with ``provenance`` (``mlcore.selectors.model_version_provenance`` of its model version):
    every place that shows a reading says which model made it and whether that model may be used clinically.
    At most one query per call however many readings (select their ``model_version`` with them)."""
    from mlcore.selectors import model_versions_provenance

    predictions = list(predictions)
    present = [p for p in predictions if p is not None]
    by_version = model_versions_provenance(model_versions=[p.model_version for p in present])
    for prediction in present:
        prediction.provenance = by_version.get(prediction.model_version_id)
    return predictions


def prediction_heatmap_open(*, prediction: Prediction):
    """The overlay PNG after proving its sha256 (errors.IntegrityError otherwise)."""
    if not prediction.heatmap.name:
        raise FileNotFoundError("heatmap")
    return files.file_open_verified(prediction.heatmap.name, prediction.heatmap_sha256)
