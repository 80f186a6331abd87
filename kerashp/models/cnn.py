"""A small convolutional classifier with the knobs of the USPS CNN study."""

from __future__ import annotations

from typing import Sequence

import keras

from kerashp import frameworks
from kerashp.frameworks import Framework
from kerashp.names import CNN_ACTIVATIONS, CNN_FILTER_CHOICES  # noqa: F401  (exported)


def build_cnn(
    input_shape: Sequence[int],
    num_classes: int,
    *,
    filters: int | Sequence[int] = 64,
    num_layers: int = 2,
    activation: str = "relu",
    batch_norm: bool = False,
    dropout: float = 0.1,
    kernel_size: int = 3,
    kernel_regularizer: keras.regularizers.Regularizer | None = None,
    framework: str | Framework = "keras",
    name: str = "cnn",
    output_activation: str = "softmax",
) -> keras.Model:
    """Builds `num_layers` conv blocks and a softmax Dense head.

    Each block i (named `conv_i`, `bn_i`, `act_i`, `pool_i`, `dropout_i`) is a
    `kernel_size` x `kernel_size` convolution with "same" padding, optional batch
    normalisation (before the activation), the activation, 2x2 max pooling while
    the feature map is at least 2x2, and dropout. Then flatten and
    `Dense(num_classes, softmax)` (named `predictions`).

    Args:
        input_shape: (height, width, channels).
        num_classes: output classes.
        filters: filters of every layer, or one value per layer.
        num_layers: convolutional layers (1-4 in the USPS study).
        activation: any Keras activation name (sigmoid, tanh, relu in the study).
        batch_norm: batch normalisation after each convolution.
        dropout: dropout rate after each block (0 for none).
        kernel_regularizer: penalty on every convolution and Dense kernel.
        framework: whose defaults the layers use, "keras" or "pytorch"
            (weights and biases of every layer, batch-norm momentum and
            epsilon; see `kerashp.frameworks`).
        output_activation: the head's activation ("linear" for a loss on raw outputs).
    """
    framework = frameworks.get(framework)
    if num_layers < 1:
        raise ValueError(f"num_layers must be at least 1, got {num_layers}")
    per_layer = [filters] * num_layers if isinstance(filters, int) else list(filters)
    if len(per_layer) != num_layers:
        raise ValueError(f"{len(per_layer)} filter counts given for {num_layers} layers")
    if any(f <= 0 for f in per_layer):
        raise ValueError(f"filters must be positive, got {per_layer}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    inputs = keras.Input(tuple(input_shape), name="image")
    x = inputs
    size = min(input_shape[0], input_shape[1])
    for i, count in enumerate(per_layer):
        fan_in = kernel_size * kernel_size * int(x.shape[-1])
        x = keras.layers.Conv2D(count, kernel_size, padding="same", use_bias=not batch_norm,
                                kernel_initializer=framework.kernel_initializer(fan_in=fan_in),
                                bias_initializer=framework.bias_initializer(fan_in=fan_in),
                                kernel_regularizer=kernel_regularizer, name=f"conv_{i}")(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(**framework.batch_norm(), name=f"bn_{i}")(x)
        x = keras.layers.Activation(activation, name=f"act_{i}")(x)
        if size >= 2:
            x = keras.layers.MaxPooling2D(2, name=f"pool_{i}")(x)
            size //= 2
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    fan_in = int(x.shape[-1])
    outputs = keras.layers.Dense(num_classes, activation=output_activation, kernel_regularizer=kernel_regularizer,
                                 kernel_initializer=framework.kernel_initializer(fan_in=fan_in),
                                 bias_initializer=framework.bias_initializer(fan_in=fan_in),
                                 dtype="float32", name="predictions")(x)  # float32 under mixed precision
    return keras.Model(inputs, outputs, name=name)
