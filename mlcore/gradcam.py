"""Grad-CAM on ``mixed10``: heatmaps and the PNG overlay drawn at the scan's original size.

Serving gets each class's Grad-CAM map from the same forward pass as the logits (closed form for the GAP -> Dense
head, see ``mlcore.architecture``). ``gradcam_reference`` is the textbook GradientTape computation, compiled; it
is what the closed form is tested against, and it works for any head.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from mlcore.preprocessing import ImageInput, image_decode_gray

OVERLAY_ALPHA = 0.45


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


def _colormap(values: np.ndarray) -> np.ndarray:
    """A perceptually ordered blue -> green -> yellow -> red ramp, uint8 RGB, without matplotlib."""
    anchors = np.array([[0, 0, 128], [0, 96, 255], [0, 200, 120], [255, 230, 0], [230, 20, 0]], dtype=np.float32)
    position = np.clip(values, 0, 1) * (len(anchors) - 1)
    low = np.floor(position).astype(np.int32).clip(0, len(anchors) - 2)
    frac = (position - low)[..., np.newaxis]
    return (anchors[low] * (1 - frac) + anchors[low + 1] * frac).astype(np.uint8)


def heatmap_overlay(*, image: ImageInput, heatmap: np.ndarray, alpha: float = OVERLAY_ALPHA) -> Image.Image:
    """The scan in gray with the heatmap blended on top, at the scan's own size; weak evidence stays see-through."""
    gray = image_decode_gray(image)
    full = heatmap_resize(heatmap, gray.size)
    base = np.repeat(np.asarray(gray, dtype=np.float32)[..., np.newaxis], 3, axis=2)
    weight = (alpha * full)[..., np.newaxis]
    blended = base * (1 - weight) + _colormap(full).astype(np.float32) * weight
    return Image.fromarray(blended.round().astype(np.uint8))


def heatmap_overlay_png(*, image: ImageInput, heatmap: np.ndarray, alpha: float = OVERLAY_ALPHA) -> bytes:
    """PNG bytes of ``heatmap_overlay``; fast zlib level, the image is viewed once and stored."""
    buffer = io.BytesIO()
    heatmap_overlay(image=image, heatmap=heatmap, alpha=alpha).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
