"""Optimizer factories that check their hyperparameters before any training, and
PyTorch's SGD, Adam and RMSprop updates for studies mirrored from PyTorch."""

from __future__ import annotations

import math

import keras

from kerashp import compat, frameworks
from kerashp.frameworks import Framework
from kerashp.names import ADAM_HYPERPARAMETERS, OPTIMIZER_NAMES


def check_adam_hyperparameters(learning_rate: float, beta_1: float, beta_2: float, epsilon: float) -> None:
    """Raises ValueError, naming the offending value, for impossible Adam settings."""
    check_learning_rate(learning_rate)
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
    *,
    in_variables: bool = False,
    **kwargs,
) -> keras.optimizers.Adam:
    """Builds `keras.optimizers.Adam` after checking its hyperparameters.

    This is Keras' Adam: `epsilon` is the "epsilon hat" of Kingma & Ba, added
    to the square root of the second-moment estimate before its bias
    correction (PyTorch adds its epsilon after it: `TorchAdam`). With `in_variables`,
    beta_1, beta_2 and epsilon are held in variables that the traced train step
    reads, so `set_hyperparameters` changes them without retracing.
    """
    check_adam_hyperparameters(learning_rate, beta_1, beta_2, epsilon)
    optimizer = keras.optimizers.Adam(
        learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs
    )
    if in_variables:
        _hold_in_variables(optimizer, ADAM_HYPERPARAMETERS)
    return optimizer


def _hold_in_variables(optimizer: keras.optimizers.Optimizer, names) -> None:
    """Replaces the optimizer's constant hyperparameters `names` by float32 variables of
    the same values, which a traced train step reads (see `set_hyperparameters`)."""
    for name in names:
        setattr(optimizer, name, keras.Variable(float(getattr(optimizer, name)), dtype="float32", trainable=False,
                                                name=name))


def set_hyperparameters(optimizer: keras.optimizers.Optimizer, **values: float) -> None:
    """Assigns new values to hyperparameters held in variables (see `make_adam(in_variables=True)`)."""
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # under a LossScaleOptimizer
    for name, value in values.items():
        variable = getattr(optimizer, name)
        if not isinstance(variable, keras.Variable):
            raise TypeError(f"the optimizer's {name} is a constant, not a variable; build it with in_variables=True")
        variable.assign(value)


class _OwnSlots:
    """Builds only Keras' base optimizer state plus the slot variables `slot_names`
    lists as (attribute, name) pairs: one list per pair, a slot per model variable
    (the PyTorch updates below keep their own, not the Keras class's)."""

    def slot_names(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def build(self, variables):
        if self.built:
            return
        keras.optimizers.Optimizer.build(self, variables)
        for attribute, name in self.slot_names():
            setattr(self, attribute, [self.add_variable_from_reference(v, name) for v in variables])


class TorchSGD(_OwnSlots, keras.optimizers.SGD):
    """SGD exactly as PyTorch's `torch.optim.SGD` (dampening 0).

    Each step adds the coupled weight decay to the gradient (`g += wd * w`, as
    an L2 penalty `wd/2 * ||w||^2` in the loss would, and through the momentum
    buffer), then `b = momentum * b + g` and `w -= lr * b` (Nesterov:
    `w -= lr * (g + momentum * b)`). The buffer holds gradients, not steps, so
    when the learning rate changes (a schedule) the whole buffer moves at the
    new rate; Keras' SGD (`v = momentum * v - lr * g; w += v`) keeps the old
    steps in `v`. With a constant rate the two coincide. The decay applies to
    every trainable variable (biases and batch-norm scales too, as in PyTorch
    when no parameter groups are given).

    Keras' own `weight_decay=` argument (on SGD, Adam, AdamW, ...) is the
    *decoupled* form of Loshchilov & Hutter: after the update, `w -= lr * wd * w`,
    outside the momentum/adaptive statistics.
    """

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, coupled_weight_decay: float = 0.0,
                 nesterov: bool = False, **kwargs):
        super().__init__(learning_rate=learning_rate, momentum=momentum, nesterov=nesterov, **kwargs)
        if coupled_weight_decay < 0:
            raise ValueError(f"coupled_weight_decay must be >= 0, got {coupled_weight_decay}")
        self.coupled_weight_decay = coupled_weight_decay
        self._momentum_buffers = momentum > 0  # decided once: `momentum` may become a variable (in_variables)

    def slot_names(self):
        return [("buffers", "momentum")] if self._momentum_buffers else []

    def update_step(self, gradient, variable, learning_rate):
        ops = keras.ops
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        if self.coupled_weight_decay:
            gradient = ops.add(gradient, ops.multiply(ops.cast(self.coupled_weight_decay, variable.dtype), variable))
        if not self._momentum_buffers:
            self.assign_sub(variable, ops.multiply(gradient, lr))
            return
        momentum = ops.cast(self.momentum, variable.dtype)
        buffer = self.buffers[compat.optimizer_variable_index(self, variable)]
        self.assign(buffer, ops.add(ops.multiply(buffer, momentum), gradient))
        step = ops.add(gradient, ops.multiply(buffer, momentum)) if self.nesterov else buffer
        self.assign_sub(variable, ops.multiply(step, lr))

    def get_config(self):
        return {**super().get_config(), "coupled_weight_decay": self.coupled_weight_decay}


class TorchAdam(_OwnSlots, keras.optimizers.Adam):
    """Adam exactly as PyTorch's `torch.optim.Adam`: epsilon added after the bias
    correction, `w -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps)`.

    Keras' Adam adds its epsilon ("epsilon hat" of Kingma & Ba) before the
    correction, `w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)`,
    which is PyTorch's update with `eps * sqrt(1 - b2^t)`: a smaller epsilon in
    the first steps. PyTorch's default epsilon is 1e-8 (Keras: 1e-7).
    """

    def __init__(self, learning_rate=1e-3, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs)

    def slot_names(self):
        return [("first_moments", "momentum"), ("second_moments", "velocity")]

    def update_step(self, gradient, variable, learning_rate):
        ops = keras.ops
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        index = compat.optimizer_variable_index(self, variable)
        m, v = self.first_moments[index], self.second_moments[index]
        self.assign(m, ops.add(ops.multiply(m, beta_1), ops.multiply(gradient, 1 - beta_1)))
        self.assign(v, ops.add(ops.multiply(v, beta_2), ops.multiply(ops.square(gradient), 1 - beta_2)))
        correction_1 = 1 - ops.power(beta_1, step)
        correction_2 = 1 - ops.power(beta_2, step)
        denominator = ops.add(ops.sqrt(ops.divide(v, correction_2)), ops.cast(self.epsilon, dtype))
        self.assign_sub(variable, ops.divide(ops.multiply(m, ops.divide(lr, correction_1)), denominator))


class TorchRMSprop(_OwnSlots, keras.optimizers.RMSprop):
    """RMSprop exactly as PyTorch's `torch.optim.RMSprop` (not centered):
    `s = alpha * s + (1 - alpha) * g^2`, then `w -= lr * g / (sqrt(s) + eps)`,
    or with momentum `b = momentum * b + g / (sqrt(s) + eps)`, `w -= lr * b`.

    Keras' RMSprop puts epsilon inside the square root (`sqrt(s + eps)`) and its
    defaults are rho 0.9, epsilon 1e-7; PyTorch's are alpha 0.99, eps 1e-8.
    """

    def __init__(self, learning_rate=1e-2, rho: float = 0.99, momentum: float = 0.0, epsilon: float = 1e-8,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, rho=rho, momentum=momentum, epsilon=epsilon, **kwargs)
        self._momentum_buffers = momentum > 0  # decided once: `momentum` may become a variable (in_variables)

    def slot_names(self):
        return [("square_averages", "velocity")] + ([("buffers", "momentum")] if self._momentum_buffers else [])

    def update_step(self, gradient, variable, learning_rate):
        ops = keras.ops
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        rho = ops.cast(self.rho, dtype)
        index = compat.optimizer_variable_index(self, variable)
        square = self.square_averages[index]
        self.assign(square, ops.add(ops.multiply(square, rho), ops.multiply(ops.square(gradient), 1 - rho)))
        scaled = ops.divide(gradient, ops.add(ops.sqrt(square), ops.cast(self.epsilon, dtype)))
        if self._momentum_buffers:
            buffer = self.buffers[index]
            self.assign(buffer, ops.add(ops.multiply(buffer, ops.cast(self.momentum, dtype)), scaled))
            scaled = buffer
        self.assign_sub(variable, ops.multiply(scaled, lr))


def make_sgd(learning_rate: float, momentum: float = 0.9, weight_decay: float = 0.0,
             decoupled: bool | None = None, *, framework: str | Framework = "keras") -> keras.optimizers.Optimizer:
    """SGD with momentum and weight decay after checking them.

    Args:
        framework: "keras" (the default): `keras.optimizers.SGD` with Keras'
            decoupled `weight_decay`; "pytorch": `TorchSGD`, PyTorch's
            momentum form with coupled weight decay.
        decoupled: override the framework's weight-decay form (True: Keras'
            decoupled decay; False: coupled, in PyTorch's SGD).
    """
    check_learning_rate(learning_rate)
    check_momentum(momentum)
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    framework = frameworks.get(framework)
    if decoupled is None:
        decoupled = framework.name == "keras"
    if decoupled:
        return keras.optimizers.SGD(learning_rate, momentum=momentum, weight_decay=weight_decay or None)
    return TorchSGD(learning_rate, momentum=momentum, coupled_weight_decay=weight_decay)


def check_learning_rate(learning_rate: float) -> None:
    """Raises ValueError unless the learning rate is positive and finite."""
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")


def check_momentum(momentum: float) -> None:
    """Raises ValueError unless 0 <= momentum < 1."""
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")


def momentum_name(name: str) -> str:
    """The attribute that holds `make_optimizer`'s `momentum` in optimizer `name`
    ("beta_1" for Adam, "momentum" otherwise)."""
    return "beta_1" if name == "adam" else "momentum"


def momentum_in_variable(name: str, framework: str | Framework = "keras") -> bool:
    """Whether `make_optimizer(name, ..., framework=framework, in_variables=True)` holds
    the momentum in a variable: PyTorch's updates (`TorchSGD`, `TorchRMSprop`,
    `TorchAdam`) and Keras' Adam read it only as a tensor; Keras' SGD and RMSprop
    branch on its value in Python, so it stays a constant of their traced step
    (and plain "sgd" has none)."""
    return name != "sgd" and (frameworks.get(framework).name == "pytorch" or name == "adam")


def make_optimizer(name: str, learning_rate: float, momentum: float = 0.9, *,
                   framework: str | Framework = "keras", in_variables: bool = False) -> keras.optimizers.Optimizer:
    """Builds an optimizer by name with a framework's constants, checking the
    learning rate and momentum first.

    - "sgd": plain SGD (momentum ignored);
    - "sgd_momentum": SGD with heavy-ball `momentum`;
    - "rmsprop": RMSprop with `momentum` on the scaled step; Keras: rho 0.9,
      epsilon 1e-7 inside the square root; PyTorch (`TorchRMSprop`): alpha
      0.99, epsilon 1e-8 outside it;
    - "adam": Adam with beta_1 = `momentum` (the first-moment decay plays the
      role of momentum), beta_2 0.999; Keras: epsilon 1e-7 before the bias
      correction; PyTorch (`TorchAdam`): 1e-8 after it.

    Args:
        framework: "keras" or "pytorch" (see `kerashp.frameworks`).
        in_variables: hold the momentum (Adam's beta_1) in a variable where the
            optimizer allows it (`momentum_in_variable`), so that `set_hyperparameters`
            changes it in a compiled model without retracing (the learning rate is
            always a variable). For Keras' Adam, beta_2 and epsilon too.
    """
    optimizer = _make_optimizer(name, learning_rate, momentum, framework=framework)
    if in_variables and momentum_in_variable(name, framework):
        keras_adam = isinstance(optimizer, keras.optimizers.Adam) and not isinstance(optimizer, TorchAdam)
        _hold_in_variables(optimizer, ADAM_HYPERPARAMETERS if keras_adam else (momentum_name(name),))
    return optimizer


def _make_optimizer(name: str, learning_rate: float, momentum: float, *,
                    framework: str | Framework) -> keras.optimizers.Optimizer:
    if name not in OPTIMIZER_NAMES:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZER_NAMES)}, got {name!r}")
    check_learning_rate(learning_rate)
    check_momentum(momentum)
    framework = frameworks.get(framework)
    torch = framework.name == "pytorch"
    if name == "sgd":
        return TorchSGD(learning_rate) if torch else keras.optimizers.SGD(learning_rate)
    if name == "sgd_momentum":
        return TorchSGD(learning_rate, momentum=momentum) if torch else keras.optimizers.SGD(learning_rate,
                                                                                           momentum=momentum)
    if name == "rmsprop":
        if torch:
            return TorchRMSprop(learning_rate, rho=framework.rmsprop_rho, momentum=momentum,
                                epsilon=framework.rmsprop_epsilon)
        return keras.optimizers.RMSprop(learning_rate, momentum=momentum)
    if torch:
        check_adam_hyperparameters(learning_rate, momentum, 0.999, framework.adam_epsilon)
        return TorchAdam(learning_rate, beta_1=momentum, beta_2=0.999, epsilon=framework.adam_epsilon)
    return make_adam(learning_rate, beta_1=momentum)
