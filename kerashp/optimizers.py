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


from kerashp.names import ADAM_HYPERPARAMETERS, OPTIMIZER_NAMES


def make_adam(
    learning_rate: float = 1e-3,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-7,
    *,
    in_variables: bool = False,
    **kwargs,
) -> keras.optimizers.Adam:
    """Builds `keras.optimizers.Adam` after checking its hyperparameters.

    `epsilon` is Keras' "epsilon hat" of Kingma & Ba (added to the square root
    of the second-moment estimate), as in PyTorch's Adam. With `in_variables`,
    beta_1, beta_2 and epsilon are held in variables that the traced train step
    reads, so `set_hyperparameters` changes them without retracing.
    """
    check_adam_hyperparameters(learning_rate, beta_1, beta_2, epsilon)
    optimizer = keras.optimizers.Adam(
        learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs
    )
    if in_variables:
        for name in ADAM_HYPERPARAMETERS:
            setattr(optimizer, name, keras.Variable(getattr(optimizer, name), dtype="float32", trainable=False,
                                                    name=name))
    return optimizer


def set_hyperparameters(optimizer: keras.optimizers.Optimizer, **values: float) -> None:
    """Assigns new values to hyperparameters held in variables (see `make_adam(in_variables=True)`)."""
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # under a LossScaleOptimizer
    for name, value in values.items():
        variable = getattr(optimizer, name)
        if not isinstance(variable, keras.Variable):
            raise TypeError(f"the optimizer's {name} is a constant, not a variable; build it with in_variables=True")
        variable.assign(value)


class CoupledWeightDecaySGD(keras.optimizers.SGD):
    """SGD with the classic, coupled L2 weight decay (PyTorch's `SGD(weight_decay=...)`).

    Each step first adds `coupled_weight_decay * w` to the gradient, then applies
    SGD with momentum to that sum: the decay goes through the momentum buffer, as
    an L2 penalty `lambda/2 * ||w||^2` in the loss would. It applies to every
    trainable variable (biases and batch-norm scales too, as in PyTorch when
    no parameter groups are given).

    Keras' own `weight_decay=` argument (on SGD, Adam, AdamW, ...) is the
    *decoupled* form of Loshchilov & Hutter: after the update, `w -= lr * wd * w`,
    outside the momentum/adaptive statistics. For plain SGD without momentum the
    two coincide; with momentum (or Adam) they differ, and AdamW's decoupled form
    is what makes weight decay work as intended with adaptive optimizers.
    Use `keras.optimizers.SGD(weight_decay=...)` or `keras.optimizers.AdamW`
    for the decoupled form; both stay available.
    """

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, coupled_weight_decay: float = 0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, momentum=momentum, **kwargs)
        if coupled_weight_decay < 0:
            raise ValueError(f"coupled_weight_decay must be >= 0, got {coupled_weight_decay}")
        self.coupled_weight_decay = coupled_weight_decay

    def update_step(self, gradient, variable, learning_rate):
        if self.coupled_weight_decay:
            gradient = keras.ops.add(
                gradient, keras.ops.multiply(keras.ops.cast(self.coupled_weight_decay, variable.dtype), variable)
            )
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "coupled_weight_decay": self.coupled_weight_decay}


def make_sgd(learning_rate: float, momentum: float = 0.9, weight_decay: float = 0.0,
             decoupled: bool = False) -> keras.optimizers.Optimizer:
    """SGD with momentum and weight decay, coupled (default, PyTorch's form) or decoupled (Keras')."""
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    if decoupled:
        return keras.optimizers.SGD(learning_rate, momentum=momentum, weight_decay=weight_decay or None)
    return CoupledWeightDecaySGD(learning_rate, momentum=momentum, coupled_weight_decay=weight_decay)




def make_optimizer(name: str, learning_rate: float, momentum: float = 0.9) -> keras.optimizers.Optimizer:
    """Builds an optimizer by name, checking the learning rate and momentum first.

    - "sgd": plain SGD (momentum ignored);
    - "sgd_momentum": SGD with heavy-ball `momentum`;
    - "rmsprop": RMSprop with `momentum` (Keras' and PyTorch's momentum on the
      scaled step; rho stays 0.9);
    - "adam": Adam with beta_1 = `momentum` (the first-moment decay plays the
      role of momentum), beta_2 0.999.
    """
    if name not in OPTIMIZER_NAMES:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZER_NAMES)}, got {name!r}")
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate)
    if name == "sgd_momentum":
        return keras.optimizers.SGD(learning_rate, momentum=momentum)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, momentum=momentum)
    return make_adam(learning_rate, beta_1=momentum)
