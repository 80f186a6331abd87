"""Optimizer factories that check their hyperparameters before any training."""

from __future__ import annotations

import math

import keras


def check_adam_hyperparameters(learning_rate: float, beta_1: float, beta_2: float, epsilon: float) -> None:
    """Raises ValueError, naming the offending value, for impossible Adam settings."""
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    for name, beta in (("beta_1", beta_1), ("beta_2", beta_2)):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {beta}")
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise ValueError(f"epsilon must be positive, got {epsilon}")


def make_adam(
    learning_rate: float = 1e-3,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-7,
    **kwargs,
) -> keras.optimizers.Adam:
    """Builds `keras.optimizers.Adam` after checking its hyperparameters.

    `epsilon` is Keras' "epsilon hat" of Kingma & Ba (added to the square root
    of the second-moment estimate), as in PyTorch's Adam.
    """
    check_adam_hyperparameters(learning_rate, beta_1, beta_2, epsilon)
    return keras.optimizers.Adam(
        learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs
    )
