"""B-scans as other OCT devices would have produced them: fixed renditions for the benchmark, random ones for
training.

Our training scans come from one device family (Heidelberg Spectralis, 496 px deep, Kermany). A clinic's
device differs in ways that are physical, not diagnostic: the depth window and where the retina sits in it, the
lateral and axial sampling (an Optovue export is ~880 x 320), optical resolution, the contrast curve, how strong
the speckle is, lossy export, and sometimes a colour map. Each of those is one function of an 8-bit grayscale
image here, applied to the *raw* scan, before ``mlcore.preprocessing``: so training sees exactly what serving
would make of a scan from such a device (retina finding, crop and intensity normalisation included), instead of
an approximation drawn on the already-normalised input.

* ``RENDITIONS``: the benchmark's named, fixed transforms (``bench/bench_model_quality.py`` scores every test
  fold unchanged and under each; ``docs/mlcore.md`` has the table).
* ``DeviceShift`` + ``device_shift_apply``: the training augmentation, random draws from ranges that contain
  those devices; its parameters are recorded in each model card (``training_params``).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageFilter

from mlcore.retina import retina_locate


def retina_window(gray: np.ndarray, *, above: int, below: int) -> np.ndarray:
    """Rows from ``above`` px over the retina band's highest point to ``below`` px under its lowest: what a device
    with a shallower depth window (or an export cropped to the retina) shows."""
    geometry = retina_locate(gray)
    top = max(0, int(geometry.top) - above)
    bottom = min(gray.shape[0], int(np.ceil(geometry.bottom)) + below)
    if bottom - top < 16:  # no band worth the name: keep the scan as it is
        return gray
    return gray[top:bottom]


def resized(gray: np.ndarray, *, width: int, height: int) -> np.ndarray:
    return np.asarray(
        Image.fromarray(gray).resize((max(8, width), max(8, height)), Image.Resampling.BILINEAR), dtype=np.uint8
    )


def gamma_curve(gray: np.ndarray, gamma: float) -> np.ndarray:
    lut = np.clip(np.round(255.0 * (np.arange(256) / 255.0) ** gamma), 0, 255).astype(np.uint8)
    return lut[gray]


def speckle(gray: np.ndarray, *, looks: float, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative gamma-distributed speckle with ``looks`` looks (fewer looks, stronger speckle: std 1/sqrt)."""
    noise = rng.gamma(looks, 1.0 / looks, gray.shape).astype(np.float32)
    return np.clip(gray.astype(np.float32) * noise, 0, 255).astype(np.uint8)


def softened(gray: np.ndarray, *, factor: float) -> np.ndarray:
    """Lower optical/sampling resolution: down by ``factor`` and back up, then a light blur."""
    height, width = gray.shape
    small = resized(gray, width=round(width / factor), height=round(height / factor))
    back = Image.fromarray(small).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(back.filter(ImageFilter.GaussianBlur(radius=factor / 3)), dtype=np.uint8)


def jpeg_roundtrip(image: np.ndarray, *, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality))
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
        return np.asarray(decoded.convert(Image.fromarray(image).mode), dtype=np.uint8)


def colour_mapped(gray: np.ndarray, *, curves: tuple[float, float, float], gains: tuple[float, float, float]):
    """An RGB rendition through a monotone colour map (each channel its own gamma and gain): how some devices and
    viewers export B-scans. Preprocessing must bring it back to one grayscale."""
    x = np.arange(256) / 255.0
    lut = np.stack([np.clip(255.0 * gain * x**curve, 0, 255) for curve, gain in zip(curves, gains, strict=True)], 1)
    return lut.astype(np.uint8)[gray]


WARM_MAP = {"curves": (0.8, 1.0, 1.6), "gains": (1.5, 1.0, 0.6)}


def _speckle_fixed(gray: np.ndarray) -> np.ndarray:
    return speckle(gray, looks=4.0, rng=np.random.default_rng(int(gray[::7, ::7].sum()) % 2**32))


# The benchmark's device renditions (fixed; the speckle's noise is seeded by the image, so a rerun agrees).
RENDITIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "crop ±100 px → 880×320": lambda g: resized(retina_window(g, above=100, below=100), width=880, height=320),
    "lateral ×1/3": lambda g: resized(g, width=g.shape[1] // 3, height=g.shape[0]),
    "gamma 0.6": lambda g: gamma_curve(g, 0.6),
    "gamma 1.6": lambda g: gamma_curve(g, 1.6),
    "heavy speckle (4 looks)": _speckle_fixed,
    "half sampling (÷2 both axes)": lambda g: resized(g, width=g.shape[1] // 2, height=g.shape[0] // 2),
    "JPEG q60": lambda g: jpeg_roundtrip(g, quality=60),
    "RGB colour map": lambda g: colour_mapped(g, **WARM_MAP),
}


@dataclass(frozen=True)
class DeviceShift:
    """Random device renditions for training; each field is recorded in the model card.

    ``probability`` of an image being re-rendered at all (the rest stay as the source device made them); within a
    rendition each step has its own chance. Ranges contain the benchmark's renditions but are drawn at random,
    so no test fold's scan is ever seen in any form.
    """

    probability: float = 0.6
    window: float = 0.5  # chance of a new depth window: above/below the band drawn from window_px
    window_px: tuple[int, int] = (40, 220)
    lateral_scale: tuple[float, float] = (0.3, 1.8)  # width factor, log-uniform
    axial_scale: tuple[float, float] = (0.6, 1.3)  # height factor, log-uniform
    resample: float = 0.5  # chance of the scale change above
    gamma: tuple[float, float] = (0.5, 1.9)  # log-uniform
    gamma_chance: float = 0.5
    looks: tuple[float, float] = (3.0, 30.0)  # speckle strength (fewer looks, stronger)
    speckle_chance: float = 0.4
    blur_factor: tuple[float, float] = (1.2, 2.2)
    blur_chance: float = 0.3
    jpeg_quality: tuple[int, int] = (35, 95)
    jpeg_chance: float = 0.3
    colour_chance: float = 0.15

    def as_dict(self) -> dict:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict) -> DeviceShift:
        known = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]))))


def device_shift_apply(gray: np.ndarray, *, shift: DeviceShift, rng: np.random.Generator) -> np.ndarray:
    """One random device rendition of an 8-bit grayscale B-scan (uint8; RGB when a colour map was drawn)."""
    if rng.random() >= shift.probability:
        return gray
    image = gray
    if rng.random() < shift.window:
        low, high = shift.window_px
        scale = image.shape[0] / 496  # the ranges are in Spectralis pixels
        image = retina_window(
            image, above=int(rng.integers(low, high) * scale), below=int(rng.integers(low, high) * scale)
        )
    if rng.random() < shift.resample:
        height, width = image.shape
        image = resized(
            image,
            width=round(width * _log_uniform(rng, shift.lateral_scale)),
            height=round(height * _log_uniform(rng, shift.axial_scale)),
        )
    if rng.random() < shift.blur_chance:
        image = softened(image, factor=float(rng.uniform(*shift.blur_factor)))
    if rng.random() < shift.gamma_chance:
        image = gamma_curve(image, _log_uniform(rng, shift.gamma))
    if rng.random() < shift.speckle_chance:
        image = speckle(image, looks=_log_uniform(rng, shift.looks), rng=rng)
    if rng.random() < shift.colour_chance:
        curves = tuple(float(c) for c in rng.uniform(0.6, 1.7, 3))
        gains = tuple(float(g) for g in rng.uniform(0.6, 1.6, 3))
        image = colour_mapped(image, curves=curves, gains=gains)
    if rng.random() < shift.jpeg_chance:
        image = jpeg_roundtrip(image, quality=int(rng.integers(*shift.jpeg_quality)))
    return image
