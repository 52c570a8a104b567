"""A corpus of images that are not retinal OCT B-scans, for measuring the OCT check (``mlcore.oct_check``).

Nothing here was used to choose the check's thresholds: those come from the OCT training images alone
(``docs/mlcore.md``). The corpus is built afresh from a seed, in kinds a clinic could plausibly upload by mistake:

* ``blank``: uniform frames at any level, and near-uniform ones with a faint gradient;
* ``noise``: uniform, Gaussian, salt-and-pepper and 1/f ("cloudy") noise;
* ``document``: pages of text lines, forms and tables, black on white and inverted;
* ``screenshot``: window-like layouts with title bars, buttons, text and panels, light and dark themes;
* ``photo``: colour "photographs" (smooth colour fields with objects and texture), and grayscale ones;
* ``fundus``: synthetic fundus photographs (orange-red disc, optic nerve head, branching vessels) in colour and
  as gray infrared images, plus crops, rotations and contrast variants of the real Spectralis infrared DICOM in
  ``../shared/dicom`` where present;
* ``enface``: en-face maps: colour-coded thickness maps (smooth blobs through a jet ramp) and gray en-face
  projections (vessel trees on a textured disc);
* ``chart``: bar and line charts;
* ``package``: the PNG/JPEG images that installed packages ship (icons, logos, diagrams) found under the
  virtualenv and ``/usr/share/doc``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SHARED_DICOM = Path(__file__).resolve().parents[1].parent / "shared" / "dicom"


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _size(rng: np.random.Generator) -> tuple[int, int]:
    return int(rng.integers(256, 1200)), int(rng.integers(256, 900))


def _blank(rng, n):
    for i in range(n):
        w, h = _size(rng)
        level = float(rng.uniform(0, 255))
        if i % 2:
            ramp = np.linspace(-1, 1, h)[:, None] * rng.uniform(2, 20) + np.zeros((h, w))
            pixels = np.clip(level + ramp, 0, 255)
        else:
            pixels = np.full((h, w), level)
        yield Image.fromarray(pixels.astype(np.uint8))


def _cloud(rng, w, h, power=2.0):
    noise = rng.normal(size=(h, w))
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    radius = np.sqrt(fx**2 + fy**2)
    radius[0, 0] = 1.0
    field = np.real(np.fft.ifft2(np.fft.fft2(noise) / radius ** (power / 2)))
    field = (field - field.min()) / (np.ptp(field) or 1.0)
    return field


def _noise(rng, n):
    for i in range(n):
        w, h = _size(rng)
        kind = i % 4
        if kind == 0:
            pixels = rng.uniform(0, 255, (h, w))
        elif kind == 1:
            pixels = rng.normal(rng.uniform(40, 200), rng.uniform(10, 60), (h, w))
        elif kind == 2:
            pixels = np.where(rng.random((h, w)) < rng.uniform(0.05, 0.5), 255.0, 0.0)
        else:
            pixels = _cloud(rng, w, h) * 255
        yield Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _text_lines(draw, rng, box, colour, line_height):
    left, top, right, bottom = box
    y = top
    while y < bottom - line_height:
        x = left
        while x < right - 40:
            word = int(rng.integers(15, 90))
            draw.rectangle([x, y, min(x + word, right), y + line_height * 0.6], fill=colour)
            x += word + int(rng.integers(6, 14))
        y += line_height


def _document(rng, n):
    for i in range(n):
        w, h = int(rng.integers(600, 1240)), int(rng.integers(800, 1754))
        invert = i % 5 == 4
        paper, ink = (0, 230) if invert else (255, 20)
        page = Image.new("L", (w, h), paper)
        draw = ImageDraw.Draw(page)
        margin = int(w * 0.08)
        draw.text((margin, margin // 2), "Referral letter - OCT Clinic " * 3, fill=ink)
        _text_lines(draw, rng, (margin, margin, w - margin, h // 2), ink, int(rng.integers(14, 30)))
        if i % 2:  # a table
            cols, rows = int(rng.integers(3, 7)), int(rng.integers(4, 12))
            top = h // 2 + 20
            for r in range(rows + 1):
                draw.line([margin, top + r * 30, w - margin, top + r * 30], fill=ink, width=2)
            for c in range(cols + 1):
                x = margin + c * (w - 2 * margin) // cols
                draw.line([x, top, x, top + rows * 30], fill=ink, width=2)
        else:
            _text_lines(draw, rng, (margin, h // 2, w - margin, h - margin), ink, int(rng.integers(14, 30)))
        yield page


def _screenshot(rng, n):
    for i in range(n):
        w, h = int(rng.integers(800, 1920)), int(rng.integers(500, 1080))
        dark = i % 2 == 1
        bg = (30, 30, 36) if dark else (245, 246, 248)
        fg = (220, 220, 220) if dark else (30, 30, 30)
        shot = Image.new("RGB", (w, h), bg)
        draw = ImageDraw.Draw(shot)
        accent = tuple(int(v) for v in rng.integers(0, 255, 3))
        draw.rectangle([0, 0, w, 48], fill=accent)
        draw.rectangle([0, 48, 220, h], fill=(45, 45, 52) if dark else (228, 230, 235))
        for k in range(int(rng.integers(4, 12))):
            y = 70 + 36 * k
            draw.text((16, y), f"Menu item {k}", fill=fg)
        for _button in range(int(rng.integers(2, 6))):
            x0, y0 = int(rng.integers(240, w - 200)), int(rng.integers(70, h - 120))
            draw.rounded_rectangle([x0, y0, x0 + 160, y0 + 40], radius=8, fill=accent)
            draw.text((x0 + 20, y0 + 12), "Button", fill=(255, 255, 255))
        _text_lines(draw, rng, (250, 120, w - 40, h - 40), fg, 24)
        yield shot


def _photo(rng, n):
    for i in range(n):
        w, h = _size(rng)
        channels = [_cloud(rng, w, h, power=rng.uniform(2.0, 3.5)) for _ in range(3)]
        base = np.stack(channels, axis=2) * rng.uniform(120, 255, 3)
        photo = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(photo)
        for _ in range(int(rng.integers(3, 15))):
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            r = int(rng.integers(10, max(11, min(w, h) // 3)))
            colour = tuple(int(v) for v in rng.integers(0, 255, 3))
            if rng.random() < 0.5:
                draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
            else:
                draw.rectangle([x - r, y - r // 2, x + r, y + r // 2], fill=colour)
        photo = photo.filter(ImageFilter.GaussianBlur(rng.uniform(0, 2)))
        yield photo.convert("L") if i % 3 == 2 else photo


def _vessels(draw, rng, x, y, angle, length, width, colour, depth=0):
    if depth > 5 or length < 8 or width < 1:
        return
    steps = 6
    for _ in range(steps):
        angle += rng.normal(0, 0.25)
        nx, ny = x + math.cos(angle) * length / steps, y + math.sin(angle) * length / steps
        draw.line([x, y, nx, ny], fill=colour, width=max(1, int(width)))
        x, y = nx, ny
    for turn in (-0.5, 0.5):
        _vessels(draw, rng, x, y, angle + turn + rng.normal(0, 0.2), length * 0.7, width * 0.7, colour, depth + 1)


def _fundus_synthetic(rng, colour: bool) -> Image.Image:
    size = int(rng.integers(512, 1024))
    yy, xx = np.mgrid[0:size, 0:size] / size - 0.5
    radius = np.sqrt(xx**2 + yy**2)
    shade = np.clip(1.0 - radius * 1.6, 0, 1) * (radius < 0.48)
    texture = _cloud(rng, size, size) * 0.3 + 0.7
    if colour:
        tint = np.array([rng.uniform(180, 250), rng.uniform(60, 120), rng.uniform(20, 60)])
        pixels = shade[..., None] * texture[..., None] * tint
    else:
        pixels = shade * texture * rng.uniform(120, 220)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    cx, cy = size * rng.uniform(0.55, 0.7), size * rng.uniform(0.4, 0.6)
    disc = size * 0.07
    draw.ellipse([cx - disc, cy - disc, cx + disc, cy + disc], fill=(255, 230, 180) if colour else 240)
    vessel = (120, 20, 20) if colour else 40
    for k in range(6):
        _vessels(draw, rng, cx, cy, k * math.pi / 3 + rng.normal(0, 0.3), size * 0.3, size * 0.012, vessel)
    return image.filter(ImageFilter.GaussianBlur(1.0))


def _fundus_real() -> list[Image.Image]:
    if not SHARED_DICOM.is_dir():
        return []
    import pydicom

    images = []
    for path in sorted(SHARED_DICOM.glob("*.dcm")):
        dataset = pydicom.dcmread(path, force=True)
        if str(getattr(dataset, "Modality", "")) != "OP":
            continue
        pixels = dataset.pixel_array
        if pixels.dtype != np.uint8:
            pixels = (pixels / max(int(pixels.max()), 1) * 255).astype(np.uint8)
        images.append(Image.fromarray(pixels))
    return images


def _fundus(rng, n):
    real = _fundus_real()
    for i in range(n):
        if real and i % 2 == 0:
            source = real[i // 2 % len(real)]
            w, h = source.size
            scale = rng.uniform(0.4, 1.0)
            cw, ch = int(w * scale), int(h * scale)
            x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            image = source.crop((x, y, x + cw, y + ch)).rotate(float(rng.uniform(-20, 20)))
            gamma = rng.uniform(0.6, 1.6)
            image = Image.fromarray((255 * (np.asarray(image, np.float32) / 255) ** gamma).astype(np.uint8))
            yield image
        else:
            yield _fundus_synthetic(rng, colour=i % 4 == 1)


def _jet(values):
    anchors = np.array([[0, 0, 130], [0, 80, 255], [0, 220, 220], [120, 255, 120], [255, 220, 0], [220, 20, 0]])
    position = np.clip(values, 0, 1) * (len(anchors) - 1)
    low = np.floor(position).astype(int).clip(0, len(anchors) - 2)
    frac = (position - low)[..., None]
    return (anchors[low] * (1 - frac) + anchors[low + 1] * frac).astype(np.uint8)


def _enface(rng, n):
    for i in range(n):
        size = int(rng.integers(256, 768))
        if i % 2 == 0:  # thickness map
            field = _cloud(rng, size, size, power=4.0)
            yy, xx = np.mgrid[0:size, 0:size] / size - 0.5
            field = 0.6 * field + 0.4 * np.exp(-(xx**2 + yy**2) * 20)
            image = Image.fromarray(_jet(field))
            draw = ImageDraw.Draw(image)
            for r in (0.1, 0.25, 0.45):
                draw.ellipse([size * (0.5 - r), size * (0.5 - r), size * (0.5 + r), size * (0.5 + r)], outline=0)
            yield image
        else:  # gray en-face projection
            image = _fundus_synthetic(rng, colour=False)
            yield image.resize((size, size))


def _chart(rng, n):
    for i in range(n):
        w, h = int(rng.integers(400, 1000)), int(rng.integers(300, 700))
        chart = Image.new("RGB", (w, h), (255, 255, 255))
        draw = ImageDraw.Draw(chart)
        draw.line([50, h - 40, w - 20, h - 40], fill=0, width=2)
        draw.line([50, 20, 50, h - 40], fill=0, width=2)
        values = rng.uniform(0.1, 1.0, int(rng.integers(4, 16)))
        step = (w - 90) / len(values)
        colour = tuple(int(v) for v in rng.integers(0, 200, 3))
        if i % 2:
            for k, v in enumerate(values):
                x = 60 + k * step
                draw.rectangle([x, h - 40 - v * (h - 80), x + step * 0.7, h - 40], fill=colour)
        else:
            points = [(60 + k * step, h - 40 - v * (h - 80)) for k, v in enumerate(values)]
            draw.line(points, fill=colour, width=3)
        yield chart


def _package_images(limit: int) -> Iterator[Image.Image]:
    roots = [Path(__file__).resolve().parents[1] / ".venv", Path("/usr/share/doc")]
    found = 0
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if found >= limit:
                return
            if path.suffix.lower() not in (".png", ".jpg", ".jpeg") or not path.is_file():
                continue
            try:
                with Image.open(path) as opened:
                    opened.load()
                    image = opened.convert("RGB")
            except Exception:  # noqa: BLE001, S112 - a package's broken image is not ours to judge
                continue
            if min(image.size) < 48:
                continue
            found += 1
            yield image


KINDS = ("blank", "noise", "document", "screenshot", "photo", "fundus", "enface", "chart")
_GENERATORS = {
    "blank": _blank,
    "noise": _noise,
    "document": _document,
    "screenshot": _screenshot,
    "photo": _photo,
    "fundus": _fundus,
    "enface": _enface,
    "chart": _chart,
}


def nonoct_corpus(*, per_kind: int = 30, packages: int = 40, seed: int = 0) -> list[tuple[str, bytes]]:
    """``(kind, PNG bytes)`` for ``per_kind`` images of each kind plus up to ``packages`` shipped images."""
    rng = np.random.default_rng(seed)
    corpus = [(kind, _png(image)) for kind in KINDS for image in _GENERATORS[kind](rng, per_kind)]
    corpus += [("package", _png(image)) for image in _package_images(packages)]
    return corpus
