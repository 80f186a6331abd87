"""Model builders: plain functions returning uncompiled Keras models."""

from kerashp.models.cnn import build_cnn
from kerashp.models.dropout import VariableDropout
from kerashp.models.mlp import build_mlp
from kerashp.models.mobilenet_v2 import (
    DEFAULT_BN_MOMENTUM,
    KERAS_BN_MOMENTUM,
    build_mobilenet_v2_classifier,
    set_batchnorm_momentum,
)
from kerashp.models.state import copy_initial_state, seed_states

__all__ = [
    "DEFAULT_BN_MOMENTUM",
    "KERAS_BN_MOMENTUM",
    "VariableDropout",
    "build_cnn",
    "build_mlp",
    "build_mobilenet_v2_classifier",
    "copy_initial_state",
    "seed_states",
    "set_batchnorm_momentum",
]
