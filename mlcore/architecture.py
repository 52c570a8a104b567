"""The network: Keras InceptionV3 with a four-class logit head, and the serving graph derived from it.

The head is global-average-pooling -> dropout -> dense *logits* (no softmax) because calibration divides logits
by a fitted temperature before the softmax. Because the head is GAP followed by one dense layer, the Grad-CAM
of ``mixed10`` has a closed form: d logit_c / d A_k(i, j) = W[k, c] / (h * w), so the Grad-CAM weights are the
dense kernel itself. The serving graph therefore returns, in one forward pass, the logits *and* the per-class
Grad-CAM maps; explaining a scan costs no backward pass (``mlcore.gradcam`` holds the GradientTape reference
that tests compare it to).

Importing this module imports TensorFlow: serving workers on the LiteRT runtime never import it.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from mlcore.labels import CLASSES  # noqa: E402

ARCHITECTURE = "keras.applications.InceptionV3 + GAP + Dropout + Dense(logits)"
CAM_LAYER = "mixed10"
LOGITS_LAYER = "logits"
MIN_INPUT_SIZE = 75  # InceptionV3's smallest accepted input


def classifier_build(*, input_size: int = 299, base_weights: str | None = None, dropout: float = 0.2) -> keras.Model:
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
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    logits = keras.layers.Dense(len(CLASSES), name=LOGITS_LAYER)(x)
    return keras.Model(inputs, logits, name="oct_inceptionv3")


def serving_function_build(model: keras.Model) -> tf.types.experimental.GenericFunction:
    """A compiled ``tf.function`` with a fixed input signature returning ``(logits, class_cams)``.

    ``class_cams[b, i, j, c]`` is the pre-ReLU Grad-CAM map of class c (see module docstring). The signature
    is fixed (only the batch dimension is free) so the graph is traced once, at warm-up, never per request.
    """
    head = model.get_layer(LOGITS_LAYER)
    if not isinstance(model.get_layer("gap"), keras.layers.GlobalAveragePooling2D):
        raise ValueError("Closed-form Grad-CAM requires the GAP -> Dense head built by classifier_build")
    two_outputs = keras.Model(model.inputs, [model.outputs[0], model.get_layer(CAM_LAYER).output])
    size = int(model.inputs[0].shape[1])
    kernel = head.kernel

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32, name="scan")])
    def serve(batch):
        logits, activations = two_outputs(batch, training=False)
        h, w, k = activations.shape[1], activations.shape[2], activations.shape[3]
        flat = tf.reshape(activations, [-1, h * w, k])
        cams = tf.reshape(tf.matmul(flat, tf.convert_to_tensor(kernel)), [-1, h, w, len(CLASSES)]) / float(h * w)
        return {"logits": logits, "cams": cams}

    serve._two_outputs = two_outputs  # keep the wrapper model alive with the function
    return serve
