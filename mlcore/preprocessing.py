"""The one preprocessing function, shared by training (tf.data) and serving, in versions.

It is written in NumPy/Pillow rather than TensorFlow ops so that a serving worker needs no TensorFlow import
(cold start), and the training pipeline calls this very function through ``tf.numpy_function``: one code path,
so the tensors seen in training and in the clinic are identical, byte for byte.

Every model card records the version it was trained with and serving uses that version, so a model trained
before a change keeps reading scans exactly as it learned to.

Version ``oct-retina-align-v3`` (current): as v2, except where the scan's axial pixel spacing is known (DICOM
Pixel Spacing): then step 3 keeps a fixed *physical* depth, ``ABOVE_MM`` over and ``BELOW_MM`` under the band (the
same depths v2 keeps on a 496-row Spectralis scan at 3.87 um per row), so a device with a deeper or shallower
window, or finer or coarser axial sampling, shows the retina at the same scale. Without a spacing (JPEG/PNG/TIFF,
most training images) it is v2, byte for byte. Colour and colour-mapped scans (RGB, palette) become grayscale by
luma in step 1; ``mlcore.device_shift`` renders scans as other devices would for training and the benchmark.

Version ``oct-retina-box-v2``:

1. decode (JPEG/PNG bytes, a PIL image or a uint8 array) to 8-bit grayscale with Pillow's ITU-R 601-2 luma;
2. find the retina (``mlcore.retina.retina_locate``): the bright layered band's centre line across the width,
   from intensity profiles of vertical strips; registration fill (pure white wedges) is ignored;
3. crop the rows from ``ABOVE`` x height above the band's highest point to ``BELOW`` x height below its lowest
   point (full width), so the retina sits at the same place and nearly the same scale whatever the device's
   depth window or where the operator left the retina in it;
4. resize the crop to ``input_size`` x ``input_size`` (antialiased bilinear);
5. stretch intensities so the crop's 1st and 99.5th percentiles map to -1 and 1: devices differ in gain and
   contrast curve, a fixed /127.5 would hand the network those differences;
6. repeat the gray channel three times, because InceptionV3 (and its ImageNet weights) expect RGB.

Version ``oct-gray-squash-v1`` (models trained before): steps 1, 4 on the whole scan, then x / 127.5 - 1.

Change any step and add a version: it is recorded in each model card and checked when a model is loaded.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from mlcore.retina import RetinaGeometry, retina_locate

PREPROCESSING_VERSION = "oct-retina-align-v3"
BOX_V2_VERSION = "oct-retina-box-v2"
LEGACY_VERSION = "oct-gray-squash-v1"

ABOVE = 0.30  # of the image height, kept above the band's centre line (inner retina, raised lesions)
BELOW = 0.22  # kept below it (RPE, choroid)
LOW_PERCENTILE, HIGH_PERCENTILE = 1.0, 99.5
# v3 with a known axial spacing: the same depths in millimetres (Spectralis: 496 rows x 3.87 um = 1.92 mm).
ABOVE_MM = 0.576
BELOW_MM = 0.422
# Axial spacings outside this range are not an OCT B-scan's (a fundus photo's 11 um is lateral): ignored.
AXIAL_SPACING_MM = (0.0005, 0.02)

ImageInput = bytes | bytearray | memoryview | Image.Image | np.ndarray


def image_decode(image: ImageInput) -> Image.Image:
    """Any accepted input as a PIL image in its own mode (colour kept, for the OCT check's colour test)."""
    if isinstance(image, bytes | bytearray | memoryview):
        with Image.open(io.BytesIO(bytes(image))) as opened:
            opened.load()
            pil = opened.copy()
    elif isinstance(image, Image.Image):
        pil = image
    elif isinstance(image, np.ndarray):
        array = image
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[:, :, 0]
        if array.dtype != np.uint8:
            raise ValueError(f"Arrays must be uint8 images, got {array.dtype}")
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
            raise ValueError(f"Array of shape {array.shape} is not an image")
        pil = Image.fromarray(array)
    else:
        raise TypeError(f"Unsupported image type {type(image).__name__}")
    if pil.mode == "I;16" or pil.mode == "I":
        raise ValueError("16-bit images are not supported: export B-scans as 8-bit")
    return pil


def gray_of(pil: Image.Image) -> Image.Image:
    return pil if pil.mode == "L" else pil.convert("L")


def image_decode_gray(image: ImageInput) -> Image.Image:
    """Bring any accepted input to one 8-bit grayscale PIL image, the single starting point of preprocessing."""
    return gray_of(image_decode(image))


def inception_scale(pixels: np.ndarray) -> np.ndarray:
    """InceptionV3's ``preprocess_input`` ("tf" mode) in NumPy; a test pins it to the Keras function."""
    return pixels.astype(np.float32) / np.float32(127.5) - np.float32(1.0)


@dataclass(frozen=True)
class Prepared:
    """One image ready for the network, with where its input came from in the original scan."""

    tensor: np.ndarray  # (input_size, input_size, 3) float32 in [-1, 1]
    box: tuple[int, int, int, int]  # (left, top, right, bottom) of the original image the tensor shows
    size: tuple[int, int]  # the original (width, height)
    retina: RetinaGeometry | None  # None for the legacy version


def _three_channels(plane: np.ndarray) -> np.ndarray:
    return np.repeat(plane[:, :, np.newaxis], 3, axis=2)


def _legacy(gray: Image.Image, input_size: int, row_spacing_mm: float | None = None) -> Prepared:
    resized = gray.resize((input_size, input_size), Image.Resampling.BILINEAR)
    tensor = _three_channels(inception_scale(np.asarray(resized, dtype=np.uint8)))
    return Prepared(tensor=tensor, box=(0, 0, *gray.size), size=gray.size, retina=None)


def axial_spacing_usable(row_spacing_mm: float | None) -> bool:
    return row_spacing_mm is not None and AXIAL_SPACING_MM[0] <= float(row_spacing_mm) <= AXIAL_SPACING_MM[1]


def retina_box(
    geometry: RetinaGeometry, size: tuple[int, int], *, row_spacing_mm: float | None = None
) -> tuple[int, int, int, int]:
    """The crop around the band: full width, from ABOVE over its top to BELOW under its bottom, in the image
    (in millimetres, ABOVE_MM / BELOW_MM, when a usable axial spacing is given)."""
    width, height = size
    if axial_spacing_usable(row_spacing_mm):
        above, below = ABOVE_MM / float(row_spacing_mm), BELOW_MM / float(row_spacing_mm)
    else:
        above, below = ABOVE * height, BELOW * height
    top = int(np.floor(geometry.top - above))
    bottom = int(np.ceil(geometry.bottom + below))
    # A window cut off by the image edge is moved, not shrunk, so the scale stays the same where possible.
    if top < 0:
        bottom, top = min(height, bottom - top), 0
    if bottom > height:
        top, bottom = max(0, top - (bottom - height)), height
    return 0, top, width, bottom


def intensity_normalise(pixels: np.ndarray) -> np.ndarray:
    """Map the 1st..99.5th percentile to [-1, 1] (clipped); a flat image maps to -1 rather than dividing by 0."""
    low, high = np.percentile(pixels, [LOW_PERCENTILE, HIGH_PERCENTILE])
    span = max(float(high - low), 1.0)
    scaled = (pixels.astype(np.float32) - np.float32(low)) * np.float32(2.0 / span) - np.float32(1.0)
    return np.clip(scaled, -1.0, 1.0, out=scaled)


def _retina_box_v2(gray: Image.Image, input_size: int, row_spacing_mm: float | None = None) -> Prepared:
    return _retina_align_v3(gray, input_size, None)


def _retina_align_v3(gray: Image.Image, input_size: int, row_spacing_mm: float | None = None) -> Prepared:
    pixels = np.asarray(gray, dtype=np.uint8)
    geometry = retina_locate(pixels)
    box = retina_box(geometry, gray.size, row_spacing_mm=row_spacing_mm)
    crop = gray.crop(box).resize((input_size, input_size), Image.Resampling.BILINEAR)
    tensor = _three_channels(intensity_normalise(np.asarray(crop, dtype=np.uint8)))
    return Prepared(tensor=tensor, box=box, size=gray.size, retina=geometry)


# (grayscale image, input size, axial spacing in mm or None) -> Prepared
VERSIONS: dict[str, Callable[[Image.Image, int, float | None], Prepared]] = {
    PREPROCESSING_VERSION: _retina_align_v3,
    BOX_V2_VERSION: _retina_box_v2,
    LEGACY_VERSION: _legacy,
}


def image_prepare(
    image: ImageInput, *, input_size: int, version: str = PREPROCESSING_VERSION, row_spacing_mm: float | None = None
) -> Prepared:
    """The model input for one image, with its geometry (the heatmap is drawn back into ``box``)."""
    try:
        function = VERSIONS[version]
    except KeyError:
        raise ValueError(f"Unknown preprocessing version {version!r}") from None
    return function(image_decode_gray(image), input_size, row_spacing_mm)


def image_preprocess(
    image: ImageInput, *, input_size: int, version: str = PREPROCESSING_VERSION, row_spacing_mm: float | None = None
) -> np.ndarray:
    """Return the model input for one image: float32 array of shape (input_size, input_size, 3)."""
    return image_prepare(image, input_size=input_size, version=version, row_spacing_mm=row_spacing_mm).tensor


def prepared_png(prepared: Prepared) -> bytes:
    """What the model saw, as an 8-bit grayscale PNG (shown beside the scan with the AI's explanation)."""
    plane = np.clip((prepared.tensor[:, :, 0] + 1.0) * 127.5, 0, 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(plane).save(buffer, format="PNG")
    return buffer.getvalue()


def image_size(image: ImageInput) -> tuple[int, int]:
    """(width, height) of the original image, for heatmaps drawn at the scan's own size."""
    if isinstance(image, np.ndarray):
        return int(image.shape[1]), int(image.shape[0])
    if isinstance(image, Image.Image):
        return image.size
    with Image.open(io.BytesIO(bytes(image))) as opened:
        return opened.size


def image_checksum(image: ImageInput) -> str:
    """sha256 of what the caller handed in: the file bytes, or the raw pixels plus shape for decoded images.

    It lets a stored prediction be tied to the exact input it was computed from.
    """
    digest = hashlib.sha256()
    if isinstance(image, bytes | bytearray | memoryview):
        digest.update(bytes(image))
    else:
        array = np.ascontiguousarray(np.asarray(image))
        digest.update(f"{array.dtype}:{array.shape}:".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
