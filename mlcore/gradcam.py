"""Grad-CAM on ``mixed10``: heatmaps, and the PNGs drawn from them at the scan's original size.

Serving gets each class's Grad-CAM map from the same forward pass as the logits (closed form for the GAP -> Dense
head, see ``mlcore.architecture``). ``gradcam_reference`` is the textbook GradientTape computation, compiled; it
is what the closed form is tested against, and it works for any head.

Two renderings: ``heatmap_layer_png`` is a transparent layer (colour ramp as RGB, evidence as alpha) that the
pages lay over the scan, so the doctor can fade it and still see the retina under it; ``heatmap_overlay_png``
bakes the heatmap into a gray copy of the scan, for places that can show only one picture.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from mlcore.preprocessing import ImageInput, image_decode_gray

OVERLAY_ALPHA = 0.45
# The colour ramp's anchors, evenly spaced from no evidence (0) to the strongest (1). The scans stylesheet's
# legend gradient repeats them; a test keeps the two equal.
COLORMAP_ANCHORS = ((0, 0, 128), (0, 96, 255), (0, 200, 120), (255, 230, 0), (230, 20, 0))
Box = tuple[int, int, int, int]


def heatmap_from_cam(cam: np.ndarray) -> np.ndarray:
    """ReLU then scale to [0, 1]: Grad-CAM keeps only evidence *for* the class; all-zero stays zero."""
    positive = np.maximum(np.asarray(cam, dtype=np.float32), 0.0)
    peak = float(positive.max()) if positive.size else 0.0
    return positive / peak if peak > 0 else positive


def gradcam_reference(model, batch: np.ndarray, class_index: int, *, layer: str = "mixed10") -> np.ndarray:
    """Grad-CAM by automatic differentiation (Selvaraju et al. 2017), compiled; returns (n, h, w) in [0, 1]."""
    import keras
    import tensorflow as tf

    cache = model.__dict__.setdefault("_mlcore_gradcam", {})
    fn = cache.get(layer)
    if fn is None:
        grad_model = keras.Model(model.inputs, [model.get_layer(layer).output, model.outputs[0]])
        size = int(model.inputs[0].shape[1])

        @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32), tf.TensorSpec([], tf.int32)])
        def fn(images, index):
            with tf.GradientTape() as tape:
                activations, logits = grad_model(images, training=False)
                score = tf.gather(logits, index, axis=1)
            grads = tape.gradient(score, activations)
            weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
            return tf.reduce_sum(weights * activations, axis=-1)

        cache[layer] = fn
    cams = fn(tf.constant(batch, tf.float32), tf.constant(class_index, tf.int32)).numpy()
    return np.stack([heatmap_from_cam(cam) for cam in cams])


def heatmap_resize(heatmap: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear upsampling of a [0, 1] heatmap to ``size`` = (width, height)."""
    image = Image.fromarray(np.asarray(heatmap, dtype=np.float32))
    return np.asarray(image.resize(size, Image.Resampling.BILINEAR), dtype=np.float32).clip(0.0, 1.0)


def heatmap_place(heatmap: np.ndarray, size: tuple[int, int], box: Box | None = None) -> np.ndarray:
    """The heatmap at the scan's ``size`` = (width, height), (height, width) in [0, 1].

    The network may have seen only a crop of the scan (``box`` = (left, top, right, bottom) in original pixels,
    None for the whole image): its map is stretched over that box and there is no evidence outside it. The box
    is clipped to the image so a crop that reaches past an edge still lines up with the pixels it came from.
    """
    width, height = size
    if box is None:
        return heatmap_resize(heatmap, (width, height))
    left, top, right, bottom = (int(round(v)) for v in box)
    full = np.zeros((height, width), dtype=np.float32)
    if right <= left or bottom <= top:
        return full
    inside = heatmap_resize(heatmap, (right - left, bottom - top))
    x0, y0, x1, y1 = max(left, 0), max(top, 0), min(right, width), min(bottom, height)
    if x1 > x0 and y1 > y0:
        full[y0:y1, x0:x1] = inside[y0 - top : y1 - top, x0 - left : x1 - left]
    return full


def _colormap(values: np.ndarray) -> np.ndarray:
    """A perceptually ordered blue -> green -> yellow -> red ramp, uint8 RGB, without matplotlib."""
    anchors = np.array(COLORMAP_ANCHORS, dtype=np.float32)
    position = np.clip(values, 0, 1) * (len(anchors) - 1)
    low = np.floor(position).astype(np.int32).clip(0, len(anchors) - 2)
    frac = (position - low)[..., np.newaxis]
    return (anchors[low] * (1 - frac) + anchors[low + 1] * frac).astype(np.uint8)


def heatmap_layer(*, size: tuple[int, int], heatmap: np.ndarray, box: Box | None = None) -> Image.Image:
    """An RGBA layer of the scan's ``size``: the ramp's colour, alpha proportional to the evidence.

    Zero evidence is fully transparent and weak evidence nearly so, so the layer only tints where the model
    looked; how strongly it covers the scan is left to the viewer (its opacity slider), not baked in.
    """
    full = heatmap_place(heatmap, size, box)
    rgba = np.concatenate([_colormap(full), (full * 255).round().astype(np.uint8)[..., np.newaxis]], axis=2)
    return Image.fromarray(rgba)


def heatmap_layer_png(*, size: tuple[int, int], heatmap: np.ndarray, box: Box | None = None) -> bytes:
    """PNG bytes of ``heatmap_layer`` (colour type 6, RGBA); fast zlib level, like the overlay."""
    buffer = io.BytesIO()
    heatmap_layer(size=size, heatmap=heatmap, box=box).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def heatmap_overlay(
    *, image: ImageInput, heatmap: np.ndarray, alpha: float = OVERLAY_ALPHA, box: Box | None = None
) -> Image.Image:
    """The scan in gray with the heatmap blended on top, at the scan's own size; weak evidence stays see-through."""
    gray = image_decode_gray(image)
    full = heatmap_place(heatmap, gray.size, box)
    base = np.repeat(np.asarray(gray, dtype=np.float32)[..., np.newaxis], 3, axis=2)
    weight = (alpha * full)[..., np.newaxis]
    blended = base * (1 - weight) + _colormap(full).astype(np.float32) * weight
    return Image.fromarray(blended.round().astype(np.uint8))


def heatmap_overlay_png(
    *, image: ImageInput, heatmap: np.ndarray, alpha: float = OVERLAY_ALPHA, box: Box | None = None
) -> bytes:
    """PNG bytes of ``heatmap_overlay``; fast zlib level, the image is viewed once and stored."""
    buffer = io.BytesIO()
    heatmap_overlay(image=image, heatmap=heatmap, alpha=alpha, box=box).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def heatmap_layer_over_png(*, image: ImageInput, layer: bytes, opacity: float = OVERLAY_ALPHA) -> bytes:
    """PNG of a stored layer laid over the scan in gray, for places that can show one picture (the printed report).

    ``image`` may be a downscaled preview: the layer is resized to it. With the default opacity the result looks
    like ``heatmap_overlay`` did, so old and new readings print alike.
    """
    gray = image_decode_gray(image)
    with Image.open(io.BytesIO(layer)) as opened:
        rgba = np.asarray(opened.convert("RGBA").resize(gray.size, Image.Resampling.BILINEAR), dtype=np.float32)
    base = np.repeat(np.asarray(gray, dtype=np.float32)[..., np.newaxis], 3, axis=2)
    weight = opacity * rgba[..., 3:] / 255
    blended = base * (1 - weight) + rgba[..., :3] * weight
    buffer = io.BytesIO()
    Image.fromarray(blended.round().astype(np.uint8)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
