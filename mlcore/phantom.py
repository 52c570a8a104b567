"""Phantom OCT B-scans for the demo and the tests: drawn, not real, and labelled as such wherever shown.

A B-scan here is a gently curved stack of retinal layers (bright nerve fibre layer, darker nuclear layers, the
bright RPE band, choroid below) with a foveal dip, under speckle noise. Each class draws its hallmark:

* NORMAL: the layers alone;
* DME: dark, rounded intraretinal fluid pockets (cysts) and a thickened retina;
* DRUSEN: small dome-shaped bumps lifting the RPE;
* CNV: a bright, irregular lesion under the retina pushing the layers up, with subretinal fluid above it.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from mlcore.labels import CLASSES

WIDTH, HEIGHT = 256, 160


def _layers(rng: np.random.Generator, width: int, height: int, *, thick: float = 1.0):
    x = np.arange(width)
    tilt = rng.uniform(-0.05, 0.05)
    top = (
        height * rng.uniform(0.28, 0.38) + tilt * (x - width / 2) + 6 * np.sin(x / width * np.pi * rng.uniform(0.5, 1))
    )
    fovea = -8 * np.exp(-(((x - width * rng.uniform(0.4, 0.6)) / (width * 0.08)) ** 2))
    top = top - fovea  # the foveal pit dips down
    thickness = height * 0.3 * thick
    return top, thickness


def phantom_bscan(label: str, *, seed: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """One uint8 grayscale B-scan of class ``label``."""
    if label not in CLASSES:
        raise ValueError(f"unknown class {label!r}")
    rng = np.random.default_rng(seed)
    top, thickness = _layers(rng, width, height, thick=1.25 if label == "DME" else 1.0)
    y = np.arange(height)[:, None]
    depth = (y - top[None, :]) / thickness  # 0 at the inner surface, 1 at the RPE
    image = np.full((height, width), 18.0)
    bands = [(0.0, 0.12, 170), (0.12, 0.35, 90), (0.35, 0.5, 60), (0.5, 0.62, 110), (0.62, 0.9, 55), (0.9, 1.0, 220)]
    for lo, hi, value in bands:
        image[(depth >= lo) & (depth < hi)] = value
    image[(depth >= 1.0) & (depth < 1.45)] = 120  # choroid
    pil = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    rpe = top + thickness
    if label == "DME":
        for _ in range(rng.integers(3, 7)):
            cx = rng.uniform(0.25, 0.75) * width
            cy = np.interp(cx, np.arange(width), top) + thickness * rng.uniform(0.3, 0.7)
            r = rng.uniform(4, 11)
            draw.ellipse((cx - r * 1.3, cy - r, cx + r * 1.3, cy + r), fill=12)
    elif label == "DRUSEN":
        for _ in range(rng.integers(3, 8)):
            cx = rng.uniform(0.15, 0.85) * width
            cy = np.interp(cx, np.arange(width), rpe)
            r = rng.uniform(4, 10)
            draw.pieslice((cx - r * 1.6, cy - r * 2, cx + r * 1.6, cy), 180, 360, fill=200)
            draw.pieslice((cx - r * 1.2, cy - r * 1.5, cx + r * 1.2, cy + 1), 180, 360, fill=140)
    elif label == "CNV":
        cx = rng.uniform(0.3, 0.7) * width
        cy = np.interp(cx, np.arange(width), rpe) - rng.uniform(2, 8)  # lifts the RPE into the retina
        w, h = rng.uniform(20, 45), rng.uniform(10, 20)
        points = [
            (cx + w * np.cos(a) * rng.uniform(0.7, 1.1), cy - h * abs(np.sin(a)) * rng.uniform(0.6, 1.2))
            for a in np.linspace(0, 2 * np.pi, 14)
        ]
        draw.polygon(points, fill=235)
        draw.ellipse((cx - w * 0.7, cy - h * 2.2, cx + w * 0.7, cy - h * 1.1), fill=10)  # subretinal fluid
    pil = pil.filter(ImageFilter.GaussianBlur(1.0))
    array = np.asarray(pil, dtype=np.float64)
    speckle = rng.gamma(shape=4.0, scale=0.25, size=array.shape)  # multiplicative, mean 1
    array = array * speckle + rng.normal(0, 6, size=array.shape)
    return np.clip(array, 0, 255).astype(np.uint8)


def phantom_png(label: str, *, seed: int, size: tuple[int, int] | None = None) -> bytes:
    """The phantom B-scan as PNG bytes; ``size`` (width, height) scales it, for seeds and tests that want small
    images that still look like an OCT B-scan."""
    image = Image.fromarray(phantom_bscan(label, seed=seed))
    if size is not None:
        image = image.resize(size, Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def phantom_folder_write(root: str | Path, *, per_class: int, patients_per_class: int | None = None) -> Path:
    """Write ``CLASS/CLASS-PATIENT-N.png`` phantoms (Kermany-style names, so the by-patient split applies)."""
    root = Path(root)
    patients = patients_per_class or max(per_class // 2, 1)
    for c, label in enumerate(CLASSES):
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            patient = 1000 * (c + 1) + i % patients
            path = folder / f"{label}-{patient}-{i}.png"
            if not path.exists():
                path.write_bytes(phantom_png(label, seed=c * 100_000 + i))
    return root
