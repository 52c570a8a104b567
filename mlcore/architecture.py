"""The network: Keras InceptionV3 with a four-class logit head, and the serving graph derived from it.

The head pools two of InceptionV3's stages, ``mixed7`` (17x17 at 299 px, 6x6 at 128 px) and ``mixed10`` (8x8 /
2x2), concatenates them, and maps them with one dense layer to *logits* (no softmax: calibration divides logits by
a fitted temperature). Because each branch is global-average-pooling followed by a linear map, the class
activation map has a closed form: the logit of class c is the bias plus, for each branch, the mean over positions
of ``A(i, j) . W_branch[:, c]``. The serving graph returns, in one forward pass, the logits *and* that
decomposition per class at ``mixed7``'s resolution (``mixed10``'s share upsampled onto it), so explaining a scan
costs no backward pass, and the map is fine enough to point at a lesion at the small input sizes training from
scratch on a CPU affords (at 128 px ``mixed10`` alone is 2x2). A test checks the maps sum back to the logits.

Models built before (``mixed10`` only) keep their head; for them the map is ``mixed10``'s, which equals the
GradientTape Grad-CAM that ``mlcore.gradcam.gradcam_reference`` computes (tested).

Importing this module imports TensorFlow: serving workers on the LiteRT runtime never import it.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from mlcore.labels import CLASSES  # noqa: E402

ARCHITECTURE = "keras.applications.InceptionV3 + GAP(mixed7, mixed10) + Dropout + Dense(logits)"
CAM_LAYER = "mixed10"
FINE_CAM_LAYER = "mixed7"
LOGITS_LAYER = "logits"
MIN_INPUT_SIZE = 75  # InceptionV3's smallest accepted input


def classifier_build(
    *,
    input_size: int = 299,
    base_weights: str | None = None,
    dropout: float = 0.2,
    cam_layers: tuple[str, ...] = (FINE_CAM_LAYER, CAM_LAYER),
) -> keras.Model:
    """Build the classifier; ``base_weights`` is None, ``"imagenet"`` (Keras' own loader) or a local .h5 path.

    The base is built on our Input tensor rather than nested as a sub-model so that ``mixed10`` stays
    addressable by name for Grad-CAM and for the serving graph.
    """
    if input_size < MIN_INPUT_SIZE:
        raise ValueError(f"InceptionV3 needs an input of at least {MIN_INPUT_SIZE} px, got {input_size}")
    if base_weights not in (None, "imagenet") and not os.path.isfile(str(base_weights)):
        raise FileNotFoundError(f"Base weights file {base_weights!r} does not exist")
    inputs = keras.Input(shape=(input_size, input_size, 3), name="scan")
    base = keras.applications.InceptionV3(include_top=False, weights=base_weights, input_tensor=inputs)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(base.get_layer(CAM_LAYER).output)
    if FINE_CAM_LAYER in cam_layers:
        fine = keras.layers.GlobalAveragePooling2D(name="gap_fine")(base.get_layer(FINE_CAM_LAYER).output)
        x = keras.layers.Concatenate(name="gap_concat")([x, fine])
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    logits = keras.layers.Dense(len(CLASSES), name=LOGITS_LAYER)(x)
    return keras.Model(inputs, logits, name="oct_inceptionv3")


def serving_function_build(model: keras.Model) -> tf.types.experimental.GenericFunction:
    """A compiled ``tf.function`` with a fixed input signature returning ``(logits, class_cams)``.

    ``class_cams[b, i, j, c]`` is class c's share of its logit at position (i, j), pre-ReLU (see the module
    docstring). The signature is fixed (only the batch dimension is free) so the graph is traced once, at warm-up,
    never per request.
    """
    head = model.get_layer(LOGITS_LAYER)
    if not isinstance(model.get_layer("gap"), keras.layers.GlobalAveragePooling2D):
        raise ValueError("Closed-form class maps require the GAP -> Dense head built by classifier_build")
    two_scale = any(layer.name == "gap_fine" for layer in model.layers)
    maps = [model.get_layer(CAM_LAYER).output]
    if two_scale:
        maps.append(model.get_layer(FINE_CAM_LAYER).output)
    wrapper = keras.Model(model.inputs, [model.outputs[0], *maps])
    size = int(model.inputs[0].shape[1])
    kernel = head.kernel
    coarse_channels = int(maps[0].shape[-1])

    def share(activations, weights):
        h, w, k = activations.shape[1], activations.shape[2], activations.shape[3]
        flat = tf.reshape(activations, [-1, h * w, k])
        return tf.reshape(tf.matmul(flat, weights), [-1, h, w, len(CLASSES)]) / float(h * w)

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32, name="scan")])
    def serve(batch):
        logits, *activations = wrapper(batch, training=False)
        weights = tf.convert_to_tensor(kernel)
        coarse = share(activations[0], weights[:coarse_channels])
        if not two_scale:
            return {"logits": logits, "cams": coarse}
        fine = share(activations[1], weights[coarse_channels:])
        h, w = fine.shape[1], fine.shape[2]
        # Spread each coarse cell's share over the fine cells it covers (same total: divide by the area ratio).
        spread = tf.image.resize(coarse, [h, w], method="bilinear") * (
            float(coarse.shape[1] * coarse.shape[2]) / float(h * w)
        )
        return {"logits": logits, "cams": fine + spread}

    serve._two_outputs = wrapper  # keep the wrapper model alive with the function (the export tracks it)
    return serve
