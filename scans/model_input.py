"""What the model saw: a reading's input, rebuilt from the stored original by the preprocessing its version used.

A doctor judging an AI reading should see the same picture the network saw: the retina found, cropped to a fixed
depth and scale, contrast normalised (``mlcore.preprocessing``). Rebuilt on request rather than stored: the
original is verified by its checksum and the preprocessing is deterministic, so the picture is exactly the
model's input (the reading's ``input_sha256`` ties the two).
"""

from __future__ import annotations

from mlcore.preprocessing import LEGACY_VERSION, image_prepare, prepared_png

from .classification import scan_ai_images
from .devices import scan_row_spacing_mm
from .models import Prediction


def prediction_model_input_png(*, prediction: Prediction) -> bytes:
    """The reading's model input as an 8-bit PNG (errors.IntegrityError when the original fails its checksum)."""
    scan = prediction.scan
    card = prediction.model_version.card or {}
    version = card.get("preprocessing_version") or LEGACY_VERSION
    input_size = int(card.get("input_size") or 299)
    (image,) = scan_ai_images(scan, [prediction.frame])  # exactly what the classification read
    prepared = image_prepare(image, input_size=input_size, version=version, row_spacing_mm=scan_row_spacing_mm(scan))
    return prepared_png(prepared)
