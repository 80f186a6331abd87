"""Model builders: plain functions returning uncompiled Keras models."""

from kerashp.models.mobilenet_v2 import (
    DEFAULT_BN_MOMENTUM,
    KERAS_BN_MOMENTUM,
    build_mobilenet_v2_classifier,
    set_batchnorm_momentum,
)

__all__ = [
    "DEFAULT_BN_MOMENTUM",
    "KERAS_BN_MOMENTUM",
    "build_mobilenet_v2_classifier",
    "set_batchnorm_momentum",
]
