"""Which Grad-CAM heatmap the scan viewer lays over the image, and in which form it was stored.

New readings store a transparent layer (``mlcore.gradcam.heatmap_layer_png``) that the pages put over the scan;
readings stored before that hold the scan with the heatmap baked in, which can only be shown beside the scan.
The two are told apart by the stored name (``LAYER_EXTENSION``), which costs nothing at render time: reading
each PNG's header would mean a storage round trip per reading on every page view (S3 in production).
"""

from __future__ import annotations

from collections.abc import Iterable

from .models import Prediction

LAYER_EXTENSION = ".layer.png"


def heatmap_is_layer(prediction: Prediction) -> bool:
    return prediction.heatmap.name.endswith(LAYER_EXTENSION)


def heatmap_shown(prediction: Prediction | None) -> bool:
    """A heatmap worth showing: stored, and for a reading that names a class.

    An unrecognised image has no class to explain, and a deferred reading is shown without its suggestion: a map
    labelled "evidence for <class>" would hand the doctor the very suggestion the deferral withholds.
    """
    if prediction is None or not prediction.heatmap.name:
        return False
    return getattr(prediction, "recognised", True) and not getattr(prediction, "deferred", False)


def frame_heatmap(predictions: Iterable[Prediction], frame_index: int) -> Prediction | None:
    """The reading of the frame on screen (0-based) whose heatmap the viewer shows; None if it has none."""
    return next((p for p in predictions if p.frame == frame_index and heatmap_shown(p)), None)
