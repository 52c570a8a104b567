"""Derived images: a normalised 8-bit grayscale preview and a small thumbnail.

Derivatives exist so pages never decode a 30 MB volume to show a picture, and so the AI and the
viewer see the same normalisation. 8-bit grayscale is shown as stored (no contrast stretch, so
staff see what the device produced); deeper images are windowed to their 0.5–99.5 percentiles.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from .limits import limit


def array_to_grayscale(frame: np.ndarray, *, photometric: str = "MONOCHROME2") -> Image.Image:
    if frame.ndim == 3 and frame.shape[-1] in (3, 4):
        if frame.dtype != np.uint8:
            frame = _window(frame.astype(np.float64))
        return Image.fromarray(np.ascontiguousarray(frame[..., :3])).convert("L")
    if frame.dtype == np.uint8:
        gray = frame
    elif frame.dtype == bool:
        gray = frame.astype(np.uint8) * 255
    else:
        gray = _window(frame.astype(np.float64))
    if photometric.upper() == "MONOCHROME1":
        gray = 255 - gray
    return Image.fromarray(np.ascontiguousarray(gray))


def pil_to_grayscale(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return array_to_grayscale(np.asarray(image))
    if image.mode == "L":
        return image.copy()
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (0, 0, 0, 255))
        image = Image.alpha_composite(background, image)
    return image.convert("L")


def _window(values: np.ndarray) -> np.ndarray:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.zeros(values.shape, dtype=np.uint8)
    low, high = np.percentile(finite, [0.5, 99.5])
    if high <= low:
        high = low + 1
    scaled = (np.clip(values, low, high) - low) / (high - low) * 255.0
    return np.nan_to_num(scaled).round().astype(np.uint8)


def _fit(image: Image.Image, max_side: int) -> Image.Image:
    if max(image.size) <= max_side:
        return image
    fitted = image.copy()
    fitted.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return fitted


def preview_png(gray: Image.Image) -> bytes:
    buffer = io.BytesIO()
    _fit(gray, limit("SCANS_PREVIEW_MAX_SIDE")).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def thumbnail_jpeg(gray: Image.Image) -> bytes:
    buffer = io.BytesIO()
    _fit(gray, limit("SCANS_THUMBNAIL_MAX_SIDE")).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def frame_png(gray: Image.Image) -> bytes:
    """A frame shown while paging a volume: full resolution, PNG so nothing is lost."""
    buffer = io.BytesIO()
    gray.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
