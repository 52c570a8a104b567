"""Copy what staff and the AI need from a DICOM header into plain fields.

OPT volumes keep spacing, laterality and frame times in functional group sequences rather than at
the top level, so each value is looked for in both places.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from pydicom.dataset import Dataset
from pydicom.valuerep import DA, DT, TM

from patients.eyes import Eye


def _first_item(dataset: Dataset, *path: str):
    """Walk sequence keywords, taking the first item of each; None where anything is missing."""
    current = dataset
    for keyword in path:
        seq = current.get(keyword)
        if not seq:
            return None
        current = seq[0]
    return current


def _text(dataset: Dataset, keyword: str, max_length: int = 128) -> str:
    value = dataset.get(keyword)
    if value is None:
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        value = "\\".join(str(v) for v in value)
    return str(value).strip()[:max_length]


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def dicom_laterality(dataset: Dataset) -> Eye | None:
    for source in (
        dataset,
        _first_item(dataset, "SharedFunctionalGroupsSequence", "FrameAnatomySequence"),
        _first_item(dataset, "PerFrameFunctionalGroupsSequence", "FrameAnatomySequence"),
    ):
        if source is None:
            continue
        for keyword in ("ImageLaterality", "Laterality", "FrameLaterality"):
            eye = Eye.from_dicom_laterality(_text(source, keyword))
            if eye:
                return eye
    return None


def dicom_acquisition_datetime(dataset: Dataset) -> dt.datetime | None:
    """Aware datetime; header times without an offset are taken to be the clinic's local time."""
    candidates = [
        _text(dataset, "AcquisitionDateTime"),
        _text(
            _first_item(dataset, "PerFrameFunctionalGroupsSequence", "FrameContentSequence") or Dataset(),
            "FrameAcquisitionDateTime",
        ),
    ]
    for date_kw, time_kw in (
        ("AcquisitionDate", "AcquisitionTime"),
        ("ContentDate", "ContentTime"),
        ("SeriesDate", "SeriesTime"),
        ("StudyDate", "StudyTime"),
    ):
        if _text(dataset, date_kw):
            candidates.append(_text(dataset, date_kw) + (_text(dataset, time_kw) or ""))
    for raw in candidates:
        parsed = _parse_dt(raw)
        if parsed:
            return parsed
    return None


def _parse_dt(raw: str) -> dt.datetime | None:
    if not raw:
        return None
    try:
        value = DT(raw)
    except (ValueError, TypeError):
        try:
            value = dt.datetime.combine(DA(raw[:8]), TM(raw[8:]) if raw[8:] else dt.time())
        except (ValueError, TypeError):
            return None
    if value is None:
        return None
    value = dt.datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=value.tzinfo,
    )
    if value.tzinfo is None:
        value = value.replace(tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))
    return value


def dicom_pixel_spacing(dataset: Dataset) -> tuple[float | None, float | None, float | None]:
    """(row spacing, column spacing, slice thickness) in mm."""
    for source in (
        dataset,
        _first_item(dataset, "SharedFunctionalGroupsSequence", "PixelMeasuresSequence"),
        _first_item(dataset, "PerFrameFunctionalGroupsSequence", "PixelMeasuresSequence"),
    ):
        if source is not None and source.get("PixelSpacing"):
            spacing = list(source.PixelSpacing)
            if len(spacing) == 2:
                return _float(spacing[0]), _float(spacing[1]), _float(source.get("SliceThickness"))
    return None, None, _float(dataset.get("SliceThickness"))


def dicom_metadata_fields(dataset: Dataset, *, sop_class_name: str) -> dict:
    """Field values for DicomMetadata (never identity: no name, ID or birth date)."""
    row_mm, col_mm, thickness = dicom_pixel_spacing(dataset)
    eye = dicom_laterality(dataset)
    meta = getattr(dataset, "file_meta", None) or Dataset()
    return {
        "modality": _text(dataset, "Modality", 16),
        "sop_class_uid": _text(dataset, "SOPClassUID", 64),
        "sop_class_name": sop_class_name[:128],
        "transfer_syntax_uid": _text(meta, "TransferSyntaxUID", 64),
        "study_instance_uid": _text(dataset, "StudyInstanceUID", 64),
        "series_instance_uid": _text(dataset, "SeriesInstanceUID", 64),
        "sop_instance_uid": _text(dataset, "SOPInstanceUID", 64),
        "laterality": eye.value if eye else "",
        "acquisition_datetime": dicom_acquisition_datetime(dataset),
        "manufacturer": _text(dataset, "Manufacturer"),
        "model_name": _text(dataset, "ManufacturerModelName"),
        "rows": int(dataset.Rows),
        "columns": int(dataset.Columns),
        "number_of_frames": int(dataset.get("NumberOfFrames", 1) or 1),
        "pixel_spacing_row_mm": row_mm,
        "pixel_spacing_column_mm": col_mm,
        "slice_thickness_mm": thickness,
        "photometric_interpretation": _text(dataset, "PhotometricInterpretation", 32),
        "bits_stored": int(dataset.get("BitsStored") or 0) or None,
    }
