"""The one preprocessing function, shared by training (tf.data) and serving.

It is written in NumPy/Pillow rather than TensorFlow ops so that a serving worker needs no TensorFlow import
(cold start), and the training pipeline calls this very function through ``tf.numpy_function``: one code path,
so the tensors seen in training and in the clinic are identical, byte for byte.

Version ``oct-gray-squash-v1``:

1. decode (JPEG/PNG bytes, a PIL image or a uint8 array) and convert to 8-bit grayscale with Pillow's
   ITU-R 601-2 luma (some B-scans are stored as RGB, the content is gray);
2. resize the *whole* B-scan to ``input_size`` x ``input_size`` with Pillow's antialiased bilinear filter.
   B-scans are 496 px high and 512-1,536 wide; squashing keeps the full lateral extent (a lesion at the edge of
   a wide scan is not cropped away) and the full depth at the same scale for every width, at the price of a
   horizontal compression that varies with width, which the network sees in training too;
3. scale to [-1, 1] exactly as ``keras.applications.inception_v3.preprocess_input`` does (x / 127.5 - 1);
4. repeat the gray channel three times, because InceptionV3 (and its ImageNet weights) expect RGB.

Change any step and ``PREPROCESSING_VERSION`` must change: it is recorded in each model card and checked when a
model is loaded.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image

PREPROCESSING_VERSION = "oct-gray-squash-v1"

ImageInput = bytes | bytearray | memoryview | Image.Image | np.ndarray


def image_decode_gray(image: ImageInput) -> Image.Image:
    """Bring any accepted input to one 8-bit grayscale PIL image, the single starting point of preprocessing."""
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
    return pil if pil.mode == "L" else pil.convert("L")


def inception_scale(pixels: np.ndarray) -> np.ndarray:
    """InceptionV3's ``preprocess_input`` ("tf" mode) in NumPy; a test pins it to the Keras function."""
    return pixels.astype(np.float32) / np.float32(127.5) - np.float32(1.0)


def image_preprocess(image: ImageInput, *, input_size: int) -> np.ndarray:
    """Return the model input for one image: float32 array of shape (input_size, input_size, 3)."""
    gray = image_decode_gray(image)
    resized = gray.resize((input_size, input_size), Image.Resampling.BILINEAR)
    scaled = inception_scale(np.asarray(resized, dtype=np.uint8))
    return np.repeat(scaled[:, :, np.newaxis], 3, axis=2)


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
