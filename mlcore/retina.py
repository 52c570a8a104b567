"""Where the retina lies in a B-scan, and the measurements that tell a B-scan from any other picture.

A retinal OCT B-scan is a dark field (vitreous above, deep choroid/sclera fading below) crossed left to right by
one bright, layered band whose depth changes smoothly across the width. Both the crop of the model's input
(``mlcore.preprocessing``) and the "is this an OCT B-scan at all" check (``mlcore.oct_check``) need that band,
so it is found once, here, on a small copy of the image (~2 ms for any scan size):

* the image is shrunk to at most 256 px wide (box filter: speckle averages out);
* pure-white registration fill (the wedges a tilted, registered scan leaves) is treated as no data;
* in each of ``STRIPS`` vertical strips the row profile is smoothed, its background (30th percentile) removed,
  and the band's depth is the centroid of the squared excess brightness;
* a quadratic through the strip depths (weighted by each strip's contrast) is the band's centre line.

The quantities it measures on the way (contrast of the band, how well the strips agree on one smooth line, how
layered the band is) are what ``mlcore.oct_check`` judges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

STRIPS = 16
WORK_WIDTH = 256
WORK_HEIGHT = 192
FILL_LEVEL = 250


@dataclass(frozen=True)
class RetinaGeometry:
    coefficients: tuple[float, float, float]  # centre line y = a x^2 + b x + c, in original pixels
    top: float  # the centre line's highest point (smallest y) over the width
    bottom: float  # its lowest point
    contrast: float  # median over strips of band peak above background, relative to the image's range
    agreement: float  # RMS distance of strip depths from the centre line, relative to the image height
    layering: float  # vertical / horizontal gradient energy within the band (layers run left to right)
    dark_fraction: float  # share of the image in the lower half of its log-intensity range (vitreous, background)
    strips_found: float  # share of strips with a band at all
    white_interior: float = 0.0  # share of pure-white pixels not in fill wedges reaching an image edge

    def centre_at(self, x: np.ndarray | float) -> np.ndarray:
        return np.polyval(self.coefficients, x)


def _work_copy(gray: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The image at a fixed WORK_WIDTH x WORK_HEIGHT, whatever its size and aspect.

    Devices sample a B-scan with different aspect ratios (a 512 x 496 Spectralis scan and the same retina
    compressed three times laterally); at one fixed shape the measurements below mean the same for both.
    """
    height, width = gray.shape
    small = Image.fromarray(gray).resize((WORK_WIDTH, WORK_HEIGHT), Image.Resampling.BOX)
    array = np.asarray(small, dtype=np.float32)
    return array, height / array.shape[0], width / array.shape[1]


def retina_locate(gray: np.ndarray) -> RetinaGeometry:
    """Find the band's centre line in an 8-bit grayscale B-scan (any size); never fails on a non-OCT image."""
    height, width = gray.shape
    small, scale_y, scale_x = _work_copy(gray)
    small_h, small_w = small.shape
    fill = small >= FILL_LEVEL
    # Saturated speckle (a bright RPE on some devices) is scattered; paper and panels are areas: keep only white
    # pixels whose neighbours are white too.
    areas = fill.copy()
    areas[1:-1, 1:-1] &= fill[:-2, 1:-1] & fill[2:, 1:-1] & fill[1:-1, :-2] & fill[1:-1, 2:]
    white_interior = float((areas & ~_edge_runs(fill)).mean())
    if fill.mean() > 0.002:
        small = np.where(fill, 0.0, small)
    bright = float(np.percentile(small, 99)) or 1.0
    dark_fraction = _dark_share(small, bright)
    span = max(bright - float(np.percentile(small, 1)), 1.0)
    window = max(3, small_h // 40)
    kernel = np.ones(window, np.float32) / window
    edges = np.linspace(0, small_w, STRIPS + 1).astype(int)
    rows = np.arange(small_h, dtype=np.float64)
    xs, depths, weights, contrasts = [], [], [], []

    for left, right in zip(edges[:-1], edges[1:], strict=True):
        if right <= left:
            continue
        profile = np.convolve(small[:, left:right].mean(axis=1), kernel, mode="same")
        background = float(np.percentile(profile, 30))
        excess = np.clip(profile - background, 0.0, None) ** 2
        total = float(excess.sum())
        peak = float(profile.max()) - background
        contrasts.append(peak / span)
        if total <= 0 or peak <= 0:
            continue
        depth = float((excess * rows).sum() / total)
        xs.append((left + right) / 2 * scale_x)
        depths.append(depth * scale_y)
        weights.append(peak)
    strips_found = len(xs) / STRIPS
    if len(xs) >= 3:
        coefficients = np.polyfit(xs, depths, 2, w=np.sqrt(weights))
        residual = np.asarray(depths) - np.polyval(coefficients, xs)
        agreement = float(np.sqrt(np.average(residual**2, weights=weights))) / height
    else:
        coefficients = np.array([0.0, 0.0, height / 2])
        agreement = 1.0
    line = np.clip(np.polyval(coefficients, np.linspace(0, width - 1, 32)), 0, height - 1)
    layering = _layering(small, np.polyval(coefficients, np.arange(small_w) * scale_x) / scale_y)
    return RetinaGeometry(
        coefficients=tuple(float(c) for c in coefficients),
        top=float(line.min()),
        bottom=float(line.max()),
        contrast=float(np.median(contrasts)) if contrasts else 0.0,
        agreement=agreement,
        layering=layering,
        dark_fraction=dark_fraction,
        strips_found=strips_found,
        white_interior=white_interior,
    )


def _edge_runs(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` in an unbroken run from any image edge along their row or column.

    A registered, tilted B-scan is padded with white wedges that reach the edge; white inside a picture
    (paper between lines of text, a white window) does not.
    """
    runs = np.zeros_like(mask)
    for flipped in (False, True):
        for axis in (0, 1):
            view = np.flip(mask, axis=axis) if flipped else mask
            run = np.cumprod(view, axis=axis).astype(bool)
            runs |= np.flip(run, axis=axis) if flipped else run
    return runs


def _dark_share(small: np.ndarray, bright: float) -> float:
    """Share of pixels in the lower half of the image's range on a log scale.

    On a log scale a device's gain adds a constant and its contrast curve (gamma) multiplies, so the position
    of a pixel between the darkest and brightest levels does not depend on either.
    """
    logs = np.log1p(small)
    low, high = float(np.percentile(logs, 1)), float(np.log1p(bright))
    if high - low < 1e-6:
        return 1.0
    return float(((logs - low) / (high - low) < 0.5).mean())


def _layering(small: np.ndarray, centre_rows: np.ndarray) -> float:
    """Mean |d/dy| over mean |d/dx| in a band around the centre line, after smoothing along x (speckle).

    Retinal layers run left to right, so a B-scan changes far more from row to row than from column to column;
    photographs, documents and noise have no such preferred direction.
    """
    small_h, small_w = small.shape
    half = max(2, small_h // 8)
    row_index = np.arange(small_h)[:, None]
    centre = np.clip(np.round(centre_rows), 0, small_h - 1)[None, :]
    band = np.abs(row_index - centre) <= half
    smooth = (small[:, :-2] + small[:, 1:-1] + small[:, 2:]) / 3.0
    dy = np.abs(np.diff(smooth, axis=0))[:, :]
    dx = np.abs(np.diff(smooth, axis=1))[:-1, :]
    mask = band[:-1, 1:-2]
    dy, dx = dy[:, :-1][mask], dx[mask]
    if dy.size == 0:
        return 0.0
    return float(dy.mean() / max(float(dx.mean()), 1e-3))
