"""The defaults of the framework a study's original was written in.

A study mirrored from a PyTorch original should differ from it only in the
hyperparameter it studies, not in the constants each framework picks when a
script names none. `Study.original_framework` ("keras" or "pytorch") selects
the defaults that kerashp's model builders and optimizer factories use;
`--defaults keras|pytorch` (`defaults=` in `kerashp.run`) overrides it.

    framework = frameworks.get("pytorch")
    framework.adam_epsilon            # 1e-8 (Keras: 1e-7)
    framework.kernel_initializer("random_normal", fan_in=784)   # N(0, 1)
    framework.bias_initializer(fan_in=784)                      # U(-1/28, 1/28)

| default                         | Keras 3                     | PyTorch 2                          |
|---------------------------------|-----------------------------|------------------------------------|
| Dense / Conv kernel             | Glorot uniform              | U(+-1/sqrt(fan_in))                |
| Dense / Conv bias               | zeros                       | U(+-1/sqrt(fan_in))                |
| "random_normal" weights         | N(0, 0.05)                  | N(0, 1) (`init.normal_`)           |
| "xavier_normal", "kaiming_normal" | truncated normal          | untruncated normal                 |
| batch norm momentum (Keras')    | 0.99                        | 0.9 (PyTorch's `momentum=0.1`)     |
| batch norm epsilon              | 1e-3                        | 1e-5                               |
| Adam epsilon                    | 1e-7, before bias correction | 1e-8, after bias correction       |
| RMSprop decay, epsilon          | rho 0.9, 1e-7 inside sqrt   | alpha 0.99, 1e-8 outside sqrt      |
| SGD momentum                    | v = mu v - lr g             | b = mu b + g, w -= lr b            |
| SGD weight decay                | decoupled (w -= lr wd w)    | coupled (g += wd w)                |

docs/replication.md gives the source of each entry. PyTorch's batch norm updates
its running variance with the unbiased batch variance and Keras' with the
biased one; that difference (a factor n/(n-1) on a batch of n) is not mirrored.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

FRAMEWORKS = ("keras", "pytorch")

# Initialiser names a study may give, and their Keras spellings.
INITIALIZER_NAMES = ("default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
                     "random_normal")
KERAS_SPELLINGS = {"glorot_uniform": "xavier_uniform", "glorot_normal": "xavier_normal",
                   "he_uniform": "kaiming_uniform", "he_normal": "kaiming_normal"}


@dataclasses.dataclass(frozen=True)
class Framework:
    """The defaults of one framework (see the module docstring for the table).

    Attributes:
        name: "keras" or "pytorch".
        batch_norm_momentum: moving-average momentum in Keras' convention
            (the weight of the old value).
        batch_norm_epsilon: added to the variance.
        adam_epsilon: Adam's epsilon.
        rmsprop_rho: RMSprop's decay of the squared gradients (PyTorch: alpha).
        rmsprop_epsilon: RMSprop's epsilon.
        normal_stddev: standard deviation of "random_normal" weights.
    """

    name: str
    batch_norm_momentum: float
    batch_norm_epsilon: float
    adam_epsilon: float
    rmsprop_rho: float
    rmsprop_epsilon: float
    normal_stddev: float

    def kernel_initializer(self, name: str = "default", *, fan_in: int | None = None) -> Any:
        """A Keras initializer for a Dense or convolution kernel.

        Args:
            name: one of `INITIALIZER_NAMES` (Keras' names glorot_/he_ are
                accepted too); "default" is the framework's own layer default.
            fan_in: inputs per output unit (units of the previous layer, or
                kernel height x width x input channels of a convolution; for a
                depthwise convolution, kernel height x width). Needed for
                PyTorch's default, which is a uniform distribution of bound
                1/sqrt(fan_in).
        """
        import keras

        name = KERAS_SPELLINGS.get(name, name)
        if name not in INITIALIZER_NAMES:
            raise ValueError(f"initializer must be one of {', '.join(INITIALIZER_NAMES)}, got {name!r}")
        torch = self.name == "pytorch"
        if name == "default":
            if not torch:
                return keras.initializers.GlorotUniform()
            return keras.initializers.RandomUniform(-fan_in_bound(fan_in), fan_in_bound(fan_in))
        if name == "random_normal":
            return keras.initializers.RandomNormal(0.0, self.normal_stddev)
        if name == "xavier_uniform":
            return keras.initializers.GlorotUniform()
        if name == "kaiming_uniform":
            return keras.initializers.HeUniform()
        distribution = "untruncated_normal" if torch else "truncated_normal"
        if name == "xavier_normal":
            return keras.initializers.VarianceScaling(1.0, "fan_avg", distribution)
        return keras.initializers.VarianceScaling(2.0, "fan_in", distribution)

    def bias_initializer(self, *, fan_in: int) -> Any:
        """The initializer of a Dense or convolution bias: zeros in Keras,
        uniform of bound 1/sqrt(fan_in) in PyTorch."""
        import keras

        if self.name == "keras":
            return keras.initializers.Zeros()
        return keras.initializers.RandomUniform(-fan_in_bound(fan_in), fan_in_bound(fan_in))

    def batch_norm(self, **kwargs: Any) -> dict[str, float]:
        """Keyword arguments of `keras.layers.BatchNormalization` (given ones win)."""
        return {"momentum": self.batch_norm_momentum, "epsilon": self.batch_norm_epsilon, **kwargs}


def fan_in_bound(fan_in: int | None) -> float:
    """1/sqrt(fan_in), PyTorch's bound for default weights and biases."""
    if not fan_in or fan_in <= 0:
        raise ValueError(f"PyTorch's default initialisation needs the layer's fan_in, got {fan_in!r}")
    return 1.0 / math.sqrt(fan_in)


KERAS = Framework("keras", batch_norm_momentum=0.99, batch_norm_epsilon=1e-3, adam_epsilon=1e-7,
                  rmsprop_rho=0.9, rmsprop_epsilon=1e-7, normal_stddev=0.05)
PYTORCH = Framework("pytorch", batch_norm_momentum=0.9, batch_norm_epsilon=1e-5, adam_epsilon=1e-8,
                    rmsprop_rho=0.99, rmsprop_epsilon=1e-8, normal_stddev=1.0)
_BY_NAME = {"keras": KERAS, "pytorch": PYTORCH}


def get(framework: str | Framework) -> Framework:
    """The `Framework` named "keras" or "pytorch" (a `Framework` is returned as is)."""
    if isinstance(framework, Framework):
        return framework
    if framework not in _BY_NAME:
        raise ValueError(f"framework defaults must be one of {', '.join(FRAMEWORKS)}, got {framework!r}")
    return _BY_NAME[framework]
