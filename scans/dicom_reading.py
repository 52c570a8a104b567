"""Reading DICOM at intake: which files we accept, and how we read the ones that are almost DICOM.

Ophthalmic clinics send Ophthalmic Tomography volumes (OPT), Ophthalmic Photography (OP) and Secondary
Capture screenshots. Device exports also produce files that are *almost* DICOM: no preamble, no SOP
class, or no transfer syntax in the meta header. Those are read only where the pixel data can be
proved to be plain uncompressed data of the declared size; anything else is refused with the reason.
"""

from __future__ import annotations

import io
import math
import struct
import warnings as pywarnings
from dataclasses import dataclass, field

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from .errors import IntakeError
from .limits import limit

OPT = "1.2.840.10008.5.1.4.1.1.77.1.5.4"
SUPPORTED_SOP_CLASSES = {
    OPT: "Ophthalmic Tomography Image Storage",
    "1.2.840.10008.5.1.4.1.1.77.1.5.1": "Ophthalmic Photography 8 Bit Image Storage",
    "1.2.840.10008.5.1.4.1.1.77.1.5.2": "Ophthalmic Photography 16 Bit Image Storage",
    "1.2.840.10008.5.1.4.1.1.7": "Secondary Capture Image Storage",
    "1.2.840.10008.5.1.4.1.1.7.2": "Multi-frame Grayscale Byte Secondary Capture Image Storage",
    "1.2.840.10008.5.1.4.1.1.7.3": "Multi-frame Grayscale Word Secondary Capture Image Storage",
    "1.2.840.10008.5.1.4.1.1.7.4": "Multi-frame True Color Secondary Capture Image Storage",
}
# Files without a SOP class are accepted only when their modality says they are an eye image.
NONSTANDARD_MODALITIES = {"OCT", "OPT", "OP", "OT"}
_PARSE_ERRORS = (InvalidDicomError, EOFError, ValueError, struct.error, OSError, KeyError, TypeError, IndexError)


@dataclass
class DicomImage:
    dataset: Dataset
    pixels: np.ndarray  # (frames, rows, columns) or (frames, rows, columns, 3)
    sop_class_name: str
    warnings: list[str] = field(default_factory=list)

    @property
    def frame_count(self) -> int:
        return int(self.pixels.shape[0])


def dicom_read(data: bytes, *, has_preamble: bool) -> DicomImage:
    notes: list[str] = []
    dataset = _parse(data, has_preamble=has_preamble, notes=notes)
    if not any(k in dataset for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        if "Rows" in dataset and "Columns" in dataset:
            # pydicom stops quietly at end of file; image attributes without pixels mean a cut-off file.
            raise IntakeError("the DICOM file ends before its pixel data (the file is truncated)", code="truncated")
        raise IntakeError(
            "the DICOM file has no pixel data (the file is truncated, or it is not an image)", code="no_pixels"
        )
    if "PixelData" not in dataset:
        raise IntakeError("the DICOM file holds floating-point pixel data, which is not supported")
    sop_class_name = _check_sop_class(dataset, notes)
    transfer_syntax = _transfer_syntax(dataset, notes)
    rows, columns, frames = _check_geometry(dataset)
    pixels = _decode(dataset, transfer_syntax)
    pixels = _as_frames(pixels, frames=frames, samples=int(dataset.get("SamplesPerPixel", 1) or 1))
    if pixels.shape[1] != rows or pixels.shape[2] != columns:
        raise IntakeError("the DICOM pixel data does not match its declared size")
    if str(dataset.get("BurnedInAnnotation", "")).upper() == "YES":
        notes.append("The file says text is burned into the image; de-identification cannot remove it.")
    return DicomImage(dataset=dataset, pixels=pixels, sop_class_name=sop_class_name, warnings=notes)


def _parse(data: bytes, *, has_preamble: bool, notes: list[str]) -> Dataset:
    try:
        with pywarnings.catch_warnings():
            pywarnings.simplefilter("ignore")
            dataset = pydicom.dcmread(io.BytesIO(data), force=not has_preamble)
            # Values are converted lazily; touch them all now so a malformed element fails here.
            for element in dataset.iterall():
                element.value  # noqa: B018
    except _PARSE_ERRORS as exc:
        raise IntakeError("is not a readable DICOM file (the header is truncated or malformed)") from exc
    if not any(k in dataset for k in ("SOPClassUID", "Modality", "Rows", "StudyInstanceUID", "SOPInstanceUID")):
        raise IntakeError("is not a readable DICOM file (no recognisable DICOM attributes after the header)")
    if not has_preamble:
        if "Rows" not in dataset or "Columns" not in dataset:
            raise IntakeError("is not a DICOM file (no DICOM header and no image attributes)")
        notes.append("The file has no DICOM preamble; it was read as a bare DICOM dataset.")
    return dataset


def _check_sop_class(dataset: Dataset, notes: list[str]) -> str:
    sop_class = str(dataset.get("SOPClassUID", "") or "")
    if sop_class:
        if sop_class not in SUPPORTED_SOP_CLASSES:
            name = UID(sop_class).name if UID(sop_class).is_valid else "unknown"
            raise IntakeError(
                f"DICOM SOP class {name} ({sop_class}) is not accepted; only ophthalmic tomography, "
                "ophthalmic photography and secondary capture images are",
                code="unsupported_sop_class",
            )
        return SUPPORTED_SOP_CLASSES[sop_class]
    modality = str(dataset.get("Modality", "") or "").upper()
    if modality not in NONSTANDARD_MODALITIES:
        raise IntakeError(
            f"the DICOM file has no SOP class and its modality ({modality or 'none'}) is not an eye image",
            code="unsupported_sop_class",
        )
    notes.append(f"Non-standard DICOM: no SOP class; accepted as an image by its modality {modality}.")
    return f"Non-standard ({modality})"


def _transfer_syntax(dataset: Dataset, notes: list[str]) -> UID:
    meta = getattr(dataset, "file_meta", None)
    if meta is None:
        dataset.file_meta = meta = pydicom.dataset.FileMetaDataset()
    uid = meta.get("TransferSyntaxUID")
    if uid:
        uid = UID(str(uid))
        if not uid.is_transfer_syntax:
            raise IntakeError(f"the DICOM transfer syntax {uid} is unknown", code="unsupported_transfer_syntax")
        return uid
    # Almost DICOM: no transfer syntax. Only safe if the data was parsed little endian and the pixel
    # data has exactly the size of uncompressed frames (no encapsulation).
    implicit, little = dataset.original_encoding
    expected = _uncompressed_length(dataset)
    actual = len(dataset.PixelData)
    if not little or expected is None or actual not in (expected, expected + 1):
        raise IntakeError(
            "the DICOM file has no transfer syntax and its pixel data is not plain uncompressed data; "
            "it cannot be read safely",
            code="unsupported_transfer_syntax",
        )
    uid = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    meta.TransferSyntaxUID = uid
    notes.append(f"The DICOM file had no transfer syntax; its uncompressed pixel data was read as {uid.name}.")
    return uid


def _uncompressed_length(dataset: Dataset) -> int | None:
    try:
        rows, columns = int(dataset.Rows), int(dataset.Columns)
        bits = int(dataset.BitsAllocated)
        samples = int(dataset.get("SamplesPerPixel", 1) or 1)
        frames = int(dataset.get("NumberOfFrames", 1) or 1)
    except (AttributeError, TypeError, ValueError):
        return None
    return math.ceil(rows * columns * samples * frames * bits / 8)


def _check_geometry(dataset: Dataset) -> tuple[int, int, int]:
    try:
        rows, columns = int(dataset.Rows), int(dataset.Columns)
        frames = int(dataset.get("NumberOfFrames", 1) or 1)
        samples = int(dataset.get("SamplesPerPixel", 1) or 1)
    except (AttributeError, TypeError, ValueError) as exc:
        raise IntakeError("the DICOM image attributes (rows, columns, frames) are missing or invalid") from exc
    if rows <= 0 or columns <= 0 or frames <= 0:
        raise IntakeError("the DICOM image has zero rows, columns or frames")
    if samples not in (1, 3):
        raise IntakeError(f"the DICOM image has {samples} samples per pixel; only 1 or 3 are supported")
    if frames > limit("SCANS_MAX_FRAMES"):
        raise IntakeError(f"the DICOM volume has {frames} frames, more than the limit of {limit('SCANS_MAX_FRAMES')}")
    if rows * columns > limit("SCANS_MAX_PIXELS_PER_FRAME"):
        raise IntakeError(
            f"the image has {rows * columns:,} pixels per frame, more than the limit of "
            f"{limit('SCANS_MAX_PIXELS_PER_FRAME'):,} (possible decompression bomb)",
            code="too_many_pixels",
        )
    if rows * columns * frames > limit("SCANS_MAX_TOTAL_PIXELS"):
        raise IntakeError(
            f"the volume has {rows * columns * frames:,} pixels in all, more than the limit of "
            f"{limit('SCANS_MAX_TOTAL_PIXELS'):,}",
            code="too_many_pixels",
        )
    return rows, columns, frames


def _decode(dataset: Dataset, transfer_syntax: UID) -> np.ndarray:
    try:
        with pywarnings.catch_warnings():
            pywarnings.simplefilter("ignore")
            return dataset.pixel_array
    except (NotImplementedError, RuntimeError, ImportError) as exc:
        if transfer_syntax.is_compressed:
            raise IntakeError(
                f"the DICOM transfer syntax {transfer_syntax.name} ({transfer_syntax}) is not supported: "
                "its pixel data cannot be decoded here",
                code="unsupported_transfer_syntax",
            ) from exc
        raise IntakeError("the DICOM pixel data cannot be decoded") from exc
    except (ValueError, AttributeError, TypeError, EOFError, struct.error, OSError, KeyError) as exc:
        raise IntakeError(
            "the DICOM pixel data is truncated or does not match the image size", code="truncated"
        ) from exc


def _as_frames(pixels: np.ndarray, *, frames: int, samples: int) -> np.ndarray:
    """pydicom drops the frame axis for one frame; put it back so every caller sees (frames, ...)."""
    if frames == 1:
        pixels = pixels[np.newaxis, ...]
    expected_ndim = 4 if samples == 3 else 3
    if pixels.ndim != expected_ndim or pixels.shape[0] != frames:
        raise IntakeError("the DICOM pixel data does not match its declared number of frames")
    return pixels
