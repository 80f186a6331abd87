"""Losses the studies share, written with `keras.ops` so they run on every backend."""

from __future__ import annotations

import math

import keras

LOG_2PI = math.log(2.0 * math.pi)


@keras.saving.register_keras_serializable(package="kerashp")
def gaussian_nll(y_true, y_pred):
    """Negative log-likelihood of `y_true` under N(mean, exp(log_variance)).

    `y_pred[..., 0]` is the predicted mean and `y_pred[..., 1]` the predicted
    log-variance (a linear output, so any real value is a valid variance).
    Per example:

        0.5 * (log_variance + (y - mean)^2 / exp(log_variance) + log(2 pi))

    With the log-variance fixed at 0 (variance 1) this is
    `0.5 * (y - mean)^2 + 0.5 * log(2 pi)`: half the squared error plus a
    constant, so the Gaussian head generalises MSE regression.
    """
    y_true = keras.ops.reshape(keras.ops.cast(y_true, y_pred.dtype), (-1,))
    mean = y_pred[..., 0]
    log_variance = y_pred[..., 1]
    squared_error = keras.ops.square(y_true - mean)
    return 0.5 * (log_variance + squared_error * keras.ops.exp(-log_variance) + LOG_2PI)


@keras.saving.register_keras_serializable(package="kerashp")
def gaussian_mean_squared_error(y_true, y_pred):
    """Squared error of the Gaussian head's mean (`y_pred[..., 0]`), a metric beside `gaussian_nll`."""
    y_true = keras.ops.reshape(keras.ops.cast(y_true, y_pred.dtype), (-1,))
    return keras.ops.square(y_true - y_pred[..., 0])


@keras.saving.register_keras_serializable(package="kerashp")
def sparse_categorical_mse(y_true, y_pred):
    """Mean squared error between class probabilities and one-hot integer labels.

    The "MSE on one-hot targets" loss of older classification papers (PyTorch's
    `MSELoss` against `one_hot(labels)`): the mean over classes of
    `(p_c - [c == label])^2`.
    """
    num_classes = keras.ops.shape(y_pred)[-1]
    labels = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
    one_hot = keras.ops.one_hot(labels, num_classes, dtype=y_pred.dtype)
    return keras.ops.mean(keras.ops.square(y_pred - one_hot), axis=-1)


from kerashp.names import CLASSIFICATION_LOSSES


def classification_loss(name: str):
    """The loss for integer labels: "mse" (the softmax probabilities against one-hot
    targets), "cross_entropy", or "mse_outputs" (the network's raw outputs against one-hot
    targets: PyTorch's `MSELoss` on a `Linear` output; build the head without softmax,
    see `output_activation`)."""
    if name in ("mse", "mse_outputs"):
        return sparse_categorical_mse
    if name == "cross_entropy":
        return keras.losses.SparseCategoricalCrossentropy()
    raise ValueError(f"loss must be one of {', '.join(CLASSIFICATION_LOSSES)}, got {name!r}")


def output_activation(loss: str) -> str:
    """The output layer's activation a classification loss expects: linear for "mse_outputs",
    else softmax (the predicted class is the largest output either way)."""
    return "linear" if loss == "mse_outputs" else "softmax"


def make_penalty(kind: str, strength: float) -> keras.regularizers.Regularizer | None:
    """A weight penalty: "none", "l1" or "l2" (strength * sum |w| or strength * sum w^2)."""
    if kind == "none":
        return None
    if not (math.isfinite(strength) and strength > 0):
        raise ValueError(f"penalty strength must be positive, got {strength}")
    if kind == "l1":
        return keras.regularizers.L1(strength)
    if kind == "l2":
        return keras.regularizers.L2(strength)
    raise ValueError(f"penalty must be none, l1 or l2, got {kind!r}")
