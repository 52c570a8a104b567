"""Decide whether a file is an image we accept, by decoding all of it.

The type comes from the content (magic bytes), then a full decode proves it: a full Pillow decode
of every frame, or a pydicom parse plus pixel decode. Limits are checked from the header *before*
decoding so a decompression bomb never gets to allocate its pixels.
"""

from __future__ import annotations

import io
import struct
import warnings as pywarnings
from dataclasses import dataclass, field

from PIL import Image, ImageFile

from . import sniffing
from .derivatives import array_to_grayscale, pil_to_grayscale
from .dicom_reading import DicomImage, dicom_read
from .errors import IntakeError
from .limits import human_bytes, limit
from .models import FileFormat

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error here, never a grey half-image

RASTER = {
    sniffing.JPEG: (FileFormat.JPEG, "JPEG", "image/jpeg", ".jpg"),
    sniffing.PNG: (FileFormat.PNG, "PNG", "image/png", ".png"),
    sniffing.TIFF: (FileFormat.TIFF, "TIFF", "image/tiff", ".tif"),
}
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError, TypeError, ZeroDivisionError)
# Raster modes deeper than 8 bits per sample: the AI reads them windowed to 8-bit grayscale, as DICOM (derivatives).
HIGH_DEPTH_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})


@dataclass
class InspectedFile:
    file_format: str
    content_type: str
    extension: str
    width: int
    height: int
    frame_count: int
    warnings: list[str] = field(default_factory=list)
    dicom: DicomImage | None = None
    raster: Image.Image | None = None

    def frame_gray(self, index: int) -> Image.Image:
        if not 0 <= index < self.frame_count:
            raise IndexError(index)
        if self.dicom is not None:
            photometric = str(self.dicom.dataset.get("PhotometricInterpretation", "MONOCHROME2"))
            return array_to_grayscale(self.dicom.pixels[index], photometric=photometric)
        if self.frame_count > 1:
            self.raster.seek(index)
        return pil_to_grayscale(self.raster)


def size_check(size: int) -> None:
    if size == 0:
        raise IntakeError("the file is empty", code="empty")
    maximum = limit("SCANS_MAX_UPLOAD_BYTES")
    if size > maximum:
        raise IntakeError(f"the file is larger than the upload limit of {human_bytes(maximum)}", code="too_large")


def inspect_file(data: bytes) -> InspectedFile:
    size_check(len(data))
    kind, label = sniffing.sniff(data[:512])
    if kind in RASTER:
        return _inspect_raster(data, kind)
    if kind in (sniffing.DICOM, sniffing.DICOM_RAW):
        dicom = dicom_read(data, has_preamble=kind == sniffing.DICOM)
        return InspectedFile(
            file_format=FileFormat.DICOM,
            content_type="application/dicom",
            extension=".dcm",
            width=int(dicom.pixels.shape[2]),
            height=int(dicom.pixels.shape[1]),
            frame_count=dicom.frame_count,
            warnings=list(dicom.warnings),
            dicom=dicom,
        )
    if kind == sniffing.ARCHIVE:
        raise IntakeError(
            f"is a {label} archive; archives are not accepted as scans (labelled datasets go through the "
            "dataset import)",
            code="archive",
        )
    if kind == sniffing.OTHER_IMAGE:
        raise IntakeError(f"is a {label} image; only JPEG, PNG, TIFF and DICOM are accepted", code="unsupported_format")
    raise IntakeError("is not a JPEG, PNG, TIFF or DICOM file (its content matches none of them)", code="unrecognised")


def _inspect_raster(data: bytes, kind: str) -> InspectedFile:
    file_format, label, content_type, extension = RASTER[kind]
    try:
        with pywarnings.catch_warnings():
            pywarnings.simplefilter("error", Image.DecompressionBombWarning)
            if kind == sniffing.PNG:
                # Pillow's decoder skips the chunk checksums of the image data: verify() checks every chunk's CRC
                # up to IEND, so a PNG damaged in transit is refused rather than stored with flipped pixels.
                Image.open(io.BytesIO(data)).verify()
            image = Image.open(io.BytesIO(data))
            if (image.format or "").upper() != label:
                raise IntakeError(f"looks like {label} but does not decode as {label}", code="corrupt")
            width, height = image.size
            _pixel_check(width, height)
            frames = int(getattr(image, "n_frames", 1) or 1)
            if frames > limit("SCANS_MAX_FRAMES"):
                raise IntakeError(f"the {label} has {frames} pages, more than the limit of {limit('SCANS_MAX_FRAMES')}")
            if width * height * frames > limit("SCANS_MAX_TOTAL_PIXELS"):
                raise IntakeError("the image has more pixels in all than the limit", code="too_many_pixels")
            for index in range(frames):
                if frames > 1:
                    image.seek(index)
                    _pixel_check(*image.size)
                    if image.size != (width, height):
                        raise IntakeError(f"the {label} pages differ in size; only uniform stacks are accepted")
                image.load()
            if frames > 1:
                image.seek(0)
    except IntakeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise IntakeError(
            "the image declares more pixels than the limit (possible decompression bomb)", code="too_many_pixels"
        ) from exc
    except _PILLOW_ERRORS as exc:
        raise IntakeError(f"the {label} data is truncated or corrupt and cannot be decoded", code="corrupt") from exc
    if width == 0 or height == 0:
        raise IntakeError("the image has no pixels", code="corrupt")
    return InspectedFile(
        file_format=file_format,
        content_type=content_type,
        extension=extension,
        width=width,
        height=height,
        frame_count=frames,
        raster=image,
    )


def raster_ai_input(data: bytes):
    """What the AI reads of a stored single-frame JPEG/PNG/TIFF: the bytes themselves when they are 8-bit (exactly
    what training reads), else the image windowed to 8-bit grayscale as its preview shows it (16-bit and float
    PNG/TIFF; the model reads 8-bit)."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            deep = opened.mode in HIGH_DEPTH_MODES
    except _PILLOW_ERRORS:
        return data  # let the reading report what is wrong with it
    return inspect_file(data).frame_gray(0) if deep else data


def _pixel_check(width: int, height: int) -> None:
    maximum = limit("SCANS_MAX_PIXELS_PER_FRAME")
    if width * height > maximum:
        raise IntakeError(
            f"the image has {width * height:,} pixels, more than the limit of {maximum:,} "
            "(possible decompression bomb)",
            code="too_many_pixels",
        )
