"""Dropout whose rate is a variable, so that a compiled model's rate can change in place."""

from __future__ import annotations

import keras
from keras import ops


class VariableDropout(keras.layers.Layer):
    """Dropout (inverted: kept units scaled by `1 / (1 - rate)`) with its rate in a
    non-trainable variable.

    Keras' `Dropout` holds its rate as a Python number, a constant of every traced
    train step; this layer's `rate` is a variable the step reads, so that trials
    differing only in their dropout rates can share one compiled model
    (`Study.architecture_key`): assign the rate (`layer.rate.assign(0.3)`, or copy
    a freshly built twin's weights with `kerashp.models.copy_initial_state`) and
    nothing is traced again. The rate is one of the layer's weights, so checkpoints
    and `get_weights` carry it. Masks are drawn from the layer's own seed generator,
    one uniform draw per call, as Keras' `Dropout` draws them.

    Args:
        rate: the initial fraction of units dropped, in [0, 1).
        seed: seed of the layer's seed generator (None: drawn from Keras' global seed).
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.rate = self.add_weight(shape=(), initializer=keras.initializers.Constant(rate), trainable=False,
                                    name="rate")
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        if not training:
            return inputs
        rate = ops.cast(self.rate, inputs.dtype)
        draws = keras.random.uniform(ops.shape(inputs), dtype=inputs.dtype, seed=self.seed_generator)
        kept = ops.cast(ops.greater_equal(draws, rate), inputs.dtype)
        scale = ops.divide(1.0, ops.subtract(1.0, rate))
        return ops.multiply(ops.multiply(inputs, scale), kept)  # in the order of TensorFlow's dropout

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": float(ops.convert_to_numpy(self.rate)), "seed": self.seed}
