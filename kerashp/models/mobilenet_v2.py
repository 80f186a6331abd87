"""MobileNetV2 classifier: `keras.applications.MobileNetV2` with a small head."""

from __future__ import annotations

import keras

from kerashp import compat

# Keras' MobileNetV2 hard-codes BatchNormalization(momentum=0.999).
from kerashp.names import DEFAULT_BN_MOMENTUM, KERAS_BN_MOMENTUM  # noqa: F401  (exported)


def set_batchnorm_momentum(model: keras.Model, momentum: float) -> int:
    """Sets `momentum` on every BatchNormalization layer of `model`; returns how many.

    BatchNormalization reads `momentum` when its moving averages are updated,
    so this must run before the train step is traced (i.e. before `fit`).
    """
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"batch-norm momentum must be in [0, 1), got {momentum}")
    count = 0
    for layer in compat.flatten_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum
            count += 1
    return count


def build_mobilenet_v2_classifier(
    input_shape: tuple[int, int, int] = (32, 32, 3),
    num_classes: int = 10,
    *,
    weights: str | None = None,
    alpha: float = 1.0,
    bn_momentum: float | None = DEFAULT_BN_MOMENTUM,
    name: str = "mobilenet_v2_classifier",
) -> keras.Model:
    """Builds MobileNetV2 (no top) + GlobalAveragePooling2D + Dense softmax.

    Args:
        input_shape: image shape, e.g. (32, 32, 3) for CIFAR.
        num_classes: units of the softmax layer.
        weights: None (random initialisation, no download), "imagenet" (needs
            network access once) or a path to a weights file for the base.
        alpha: width multiplier of MobileNetV2.
        bn_momentum: momentum of the moving mean/variance of every batch-norm
            layer (default 0.9). Keras' MobileNetV2 hard-codes 0.999: the moving
            statistics average roughly the last 1,000 steps. Trained from
            scratch with Adam, the weights (and so each layer's batch
            statistics) move much faster than that, so the inference-mode
            network used for validation normalises with stale statistics and
            predicts near chance for epochs while training accuracy climbs.
            On 20,000 CIFAR-10 images (3 epochs, same seed, hence identical
            training: train accuracy 0.23/0.35/0.42), validation accuracy per
            epoch was 0.09/0.12/0.12 with 0.999, 0.09/0.13/0.36 with 0.99 and
            0.30/0.37/0.40 with 0.9, which tracks the statistics within ~10
            steps (`benchmarks/bn_momentum.py`). Pass None to
            keep Keras' own 0.999 (`KERAS_BN_MOMENTUM`), e.g. when fine-tuning
            ImageNet weights, whose statistics are already right.
        name: model name.
    """
    base = keras.applications.MobileNetV2(
        input_shape=input_shape, include_top=False, weights=weights, alpha=alpha
    )
    if bn_momentum is not None:
        set_batchnorm_momentum(base, bn_momentum)
    features = keras.layers.GlobalAveragePooling2D(name="global_pool")(base.output)
    outputs = keras.layers.Dense(num_classes, activation="softmax", dtype="float32", name="predictions")(features)
    return keras.Model(base.input, outputs, name=name)
