"""Is this a retinal OCT B-scan at all? Refuse what is not, before any CNV/DME/DRUSEN/NORMAL label is given.

The classifier can only choose among four retinal diagnoses, so a fundus photo, a document or a blank frame gets
one of them, often confidently. This check runs on the same decoded image in the same pass as the
classification (``mlcore.runtime.classify``) and costs about 3 ms. It is a one-class rule: each measurement must
lie within the range real B-scans show, so it refuses kinds of image it has never seen as well.

What a B-scan looks like, and the measurement of it (``mlcore.retina`` measures the first four):

* one bright band stands out from a dark background (``contrast``);
* the band's depth, measured in 16 strips, follows one smooth line across the width (``agreement``);
* the band is layered left to right: it changes more from row to row than from column to column
  (``layering``, bounded on both sides: text and interface screenshots are *too* striped);
* much of the image is dark: vitreous above, deep tissue below (``dark_fraction``, bounded on both sides);
* speckle: OCT is grainy everywhere, so few neighbouring pixels are exactly equal (``flat``); drawings,
  documents, screenshots and smooth renderings are full of flat runs;
* no white areas inside the picture (``white_interior``): only registration fill wedges reaching an edge;
* no colour beyond a colour map: a colour-coded B-scan's colour is a function of its brightness, a photograph's
  is not (``colour_spread``: colour variation among pixels of the same brightness).

Beyond the hard bounds, an image atypical in two measurements at once (``TYPICAL``) is refused too.

The bounds are the extremes of the 1,851 real B-scans in ``../shared/oct`` (0.1st/99.9th percentiles) widened
by a margin, chosen before the non-OCT corpus of ``bench/nonoct_corpus.py`` was measured against them. The
reason shown to staff names the first failed test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from mlcore.preprocessing import ImageInput, gray_of, image_decode
from mlcore.retina import RetinaGeometry, retina_locate

OCT_CHECK_VERSION = "oct-check-v1"

MIN_CONTRAST = 0.30  # real B-scans: minimum 0.36, 0.1st percentile 0.42
MAX_AGREEMENT = 0.12  # RMS strip distance from the line / height; 99.9th percentile 0.089, maximum 0.108
LAYERING = (1.0, 6.5)  # 0.1st / 99.9th percentiles 1.15 / 4.97, extremes 1.13 / 5.57
DARK_FRACTION = (0.01, 0.85)  # 0.1st / 99.9th percentiles 0.05 / 0.71
MIN_STRIPS = 0.8  # 0.1st percentile 0.94
MAX_FLAT = 0.30  # 99.9th percentile 0.19, maximum 0.235
MAX_COLOUR_SPREAD = 0.03  # grey B-scans: 0
MIN_LEVELS = 24  # grey levels each holding >= 0.1 % of the pixels; B-scans have a continuous range (>= 60)
MIN_GRAIN = 0.25  # real B-scans: minimum 0.29; re-rendered as other devices: 0.27
MAX_WHITE_INTERIOR = 0.005  # pure white away from fill wedges; maximum 0.0009
# The typical range of each measurement: the 0.5th-99.5th percentiles over the real B-scans together with them
# re-rendered as other devices would (crop and resize, lateral compression, gamma 0.6 / 1.6, heavy speckle). One
# measurement outside it happens to real scans; two at once (0.1 % of the real scans) mark an impostor.
TYPICAL = {
    "contrast": (0.50, None),
    "agreement": (None, 0.068),
    "layering": (1.16, 4.79),
    "dark_fraction": (0.024, 0.741),
    "grain": (0.296, None),
}


@dataclass(frozen=True)
class OctCheck:
    recognised: bool
    reason: str = ""
    measurements: dict = field(default_factory=dict)


def _flat_share(gray: np.ndarray) -> float:
    """Share of pixels equal to both their right and lower neighbours (registration fill excluded)."""
    step = max(1, gray.shape[1] // 768)  # every other column of very wide scans is plenty
    g = gray[:, ::step]
    same = (g[:-1, :-1] == g[1:, :-1]) & (g[:-1, :-1] == g[:-1, 1:]) & (g[:-1, :-1] < 250)
    return float(same.mean()) if same.size else 1.0


def _grain(gray: np.ndarray) -> float:
    """Pixel-scale roughness: mean step to the next pixel over mean step to the pixel 8 further, along rows.

    Speckle makes neighbouring OCT pixels differ almost as much as distant ones (about 0.6-1); photographs,
    fundus images and smooth renderings change little from one pixel to the next.
    """
    rows = gray[:: max(1, gray.shape[0] // 128)].astype(np.int16)
    if rows.shape[1] < 10:
        return 0.0
    near = float(np.abs(np.diff(rows, axis=1)).mean())
    far = float(np.abs(rows[:, 8:] - rows[:, :-8]).mean())
    return near / far if far > 0 else 0.0


def _colour_spread(pil: Image.Image) -> float:
    """Colour variation among pixels of equal brightness, in [0, 1]; 0 for gray and for colour-mapped gray."""
    if pil.mode in ("L", "1", "I", "F", "I;16", "LA"):
        return 0.0
    rgb = pil.convert("RGB")
    if rgb.width > 128:
        rgb = rgb.resize((128, max(1, round(128 * rgb.height / rgb.width))), Image.Resampling.BOX)
    pixels = np.asarray(rgb, dtype=np.float32).reshape(-1, 3)
    luma = pixels @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    bins = np.clip((luma / 8).astype(np.int64), 0, 31)
    chroma = np.stack([pixels[:, 0] - pixels[:, 1], pixels[:, 1] - pixels[:, 2]], axis=1)
    counts = np.bincount(bins, minlength=32).astype(np.float64)
    spread = 0.0
    for axis in range(2):
        total = np.bincount(bins, weights=chroma[:, axis], minlength=32)
        squares = np.bincount(bins, weights=chroma[:, axis] ** 2, minlength=32)
        with np.errstate(invalid="ignore", divide="ignore"):
            variance = np.where(counts > 4, squares / counts - (total / counts) ** 2, 0.0)
        spread += float((np.sqrt(np.clip(variance, 0, None)) * counts).sum() / counts.sum())
    return spread / 255.0


def oct_check_measure(pil: Image.Image, gray: np.ndarray, geometry: RetinaGeometry | None = None) -> OctCheck:
    """Judge an already decoded image (serving passes what it decoded for the model, nothing is read twice)."""
    geometry = geometry or retina_locate(gray)
    measurements = {
        "contrast": round(geometry.contrast, 4),
        "agreement": round(geometry.agreement, 4),
        "layering": round(geometry.layering, 3),
        "dark_fraction": round(geometry.dark_fraction, 4),
        "strips_found": round(geometry.strips_found, 3),
        "flat": round(_flat_share(gray), 4),
        "colour_spread": round(_colour_spread(pil), 4),
        "white_interior": round(geometry.white_interior, 5),
        "grain": round(_grain(gray), 4),
        "levels": int((np.bincount(gray[::4, ::4].ravel(), minlength=256) >= 0.001 * gray[::4, ::4].size).sum()),
    }
    tests = [
        (measurements["colour_spread"] > MAX_COLOUR_SPREAD, "a colour picture, not a grey-scale B-scan"),
        (measurements["flat"] > MAX_FLAT, "no OCT speckle: a drawing, document, screenshot or blank frame"),
        (measurements["levels"] < MIN_LEVELS, "too few grey levels: a binary, posterised or drawn picture"),
        (measurements["grain"] < MIN_GRAIN, "too smooth for OCT speckle: a photograph or fundus image"),
        (measurements["white_interior"] > MAX_WHITE_INTERIOR, "white areas inside the picture: a page or drawing"),
        (measurements["strips_found"] < MIN_STRIPS, "no bright band across the width"),
        (measurements["contrast"] < MIN_CONTRAST, "no bright retina band against a dark background"),
        (measurements["agreement"] > MAX_AGREEMENT, "no continuous retina band across the width"),
        (
            not DARK_FRACTION[0] <= measurements["dark_fraction"] <= DARK_FRACTION[1],
            "not the dark background of an OCT B-scan",
        ),
        (not LAYERING[0] <= measurements["layering"] <= LAYERING[1], "no horizontally layered retina"),
    ]
    for failed, reason in tests:
        if failed:
            return OctCheck(recognised=False, reason=reason, measurements=measurements)
    atypical = [
        name
        for name, (low, high) in TYPICAL.items()
        if (low is not None and measurements[name] < low) or (high is not None and measurements[name] > high)
    ]
    if len(atypical) >= 2:
        return OctCheck(
            recognised=False,
            reason=f"unlike an OCT B-scan in {' and '.join(name.replace('_', ' ') for name in atypical)}",
            measurements=measurements,
        )
    return OctCheck(recognised=True, measurements=measurements)


def oct_check(image: ImageInput) -> OctCheck:
    """Decode and judge one image (bytes, PIL image or uint8 array)."""
    pil = image_decode(image)
    gray = np.asarray(gray_of(pil), dtype=np.uint8)
    return oct_check_measure(pil, gray)


def oct_check_describe() -> str:
    """One line for the model card: what is refused, and the bounds in force."""
    return (
        "refuses images that are not retinal OCT B-scans (colour pictures, documents, screenshots, blank or noise "
        f"frames, fundus and en-face images): band contrast >= {MIN_CONTRAST}, strip agreement <= {MAX_AGREEMENT}, "
        f"layering {LAYERING[0]}-{LAYERING[1]}, dark share {DARK_FRACTION[0]}-{DARK_FRACTION[1]}, "
        f"flat share <= {MAX_FLAT}, colour spread <= {MAX_COLOUR_SPREAD}"
    )
