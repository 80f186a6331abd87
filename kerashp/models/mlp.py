"""Fully connected networks: classifiers, regressors and a Gaussian regression head."""

from __future__ import annotations

from typing import Sequence

import keras

from kerashp import frameworks
from kerashp.frameworks import Framework
from kerashp.models.dropout import VariableDropout
from kerashp.names import OUTPUT_HEADS


def per_layer(value, count: int, what: str) -> list:
    """`value` repeated for `count` layers, or checked to have one entry per layer."""
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(f"{len(value)} values of {what} given for {count} hidden layers")
        return list(value)
    return [value] * count


def build_mlp(
    input_shape: Sequence[int],
    hidden_units: Sequence[int],
    *,
    outputs: int,
    head: str = "softmax",
    activation: str = "relu",
    dropout: float | Sequence[float] = 0.0,
    batch_norm: bool = False,
    kernel_initializer: str = "default",
    kernel_regularizer: keras.regularizers.Regularizer | None = None,
    framework: str | Framework = "keras",
    variable_dropout: bool = False,
    name: str = "mlp",
) -> keras.Model:
    """Builds a multilayer perceptron.

    Inputs of any shape are flattened. Hidden layer i is `hidden_i` (Dense with
    `kernel_initializer` and `kernel_regularizer`), then `bn_i` (batch norm, before
    the activation, when `batch_norm`), `act_i` and `dropout_i` (when its rate is
    not 0). The head `predictions` is:

    - "softmax": `outputs` class probabilities;
    - "linear": `outputs` real values (regression);
    - "gaussian": 2 values per example, the mean and the log-variance of a
      Gaussian (train with `kerashp.losses.gaussian_nll`).

    The head computes in float32 under a mixed-precision policy.

    Args:
        hidden_units: units of each hidden layer (may be empty).
        dropout: one rate for every hidden layer, or one per layer.
        kernel_initializer: the hidden layers' weights: "default" (the
            framework's), "xavier_uniform" (Keras' "glorot_uniform"),
            "kaiming_uniform" ("he_uniform"), "xavier_normal", "kaiming_normal"
            or "random_normal" (see `kerashp.frameworks`).
        framework: whose defaults the layers use where nothing is named:
            "keras" or "pytorch" (weights and biases of every Dense layer,
            batch-norm momentum and epsilon, "random_normal"'s deviation).
        variable_dropout: hold each dropout rate in a variable
            (`kerashp.models.VariableDropout`), so that models differing only in
            their rates can share one compiled train step; a layer for every hidden
            layer with a rate given, even 0 (so that the architecture does not depend
            on the rates: pass a rate of 0 for a layer that may get one later).
    """
    framework = frameworks.get(framework)
    if head not in OUTPUT_HEADS:
        raise ValueError(f"head must be one of {OUTPUT_HEADS}, got {head!r}")
    if any(units <= 0 for units in hidden_units):
        raise ValueError(f"hidden units must be positive, got {list(hidden_units)}")
    rates = per_layer(dropout, len(hidden_units), "dropout")
    if any(not 0.0 <= rate < 1.0 for rate in rates):
        raise ValueError(f"dropout rates must be in [0, 1), got {rates}")
    inputs = keras.Input(tuple(input_shape), name="features")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    for i, (units, rate) in enumerate(zip(hidden_units, rates)):
        fan_in = int(x.shape[-1])
        x = keras.layers.Dense(
            units, use_bias=not batch_norm,
            kernel_initializer=framework.kernel_initializer(kernel_initializer, fan_in=fan_in),
            bias_initializer=framework.bias_initializer(fan_in=fan_in),
            kernel_regularizer=kernel_regularizer, name=f"hidden_{i}",
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(**framework.batch_norm(), name=f"bn_{i}")(x)
        x = keras.layers.Activation(activation, name=f"act_{i}")(x)
        if variable_dropout:
            x = VariableDropout(rate, name=f"dropout_{i}")(x)
        elif rate:
            x = keras.layers.Dropout(rate, name=f"dropout_{i}")(x)
    fan_in = int(x.shape[-1])
    head_initializers = {"kernel_initializer": framework.kernel_initializer(fan_in=fan_in),
                         "bias_initializer": framework.bias_initializer(fan_in=fan_in)}
    if head == "softmax":
        predictions = keras.layers.Dense(outputs, activation="softmax", kernel_regularizer=kernel_regularizer,
                                         dtype="float32", name="predictions", **head_initializers)(x)
    else:
        predictions = keras.layers.Dense(2 if head == "gaussian" else outputs, dtype="float32", name="predictions",
                                         **head_initializers)(x)
    return keras.Model(inputs, predictions, name=name)
