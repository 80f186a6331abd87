"""Keras callbacks usable in any `model.fit`."""

from callbacks.cosine import CosineAnnealing, cosine_rate
from callbacks.gradient_norm import GradientNorm
from callbacks.timing import Timing

__all__ = ["CosineAnnealing", "GradientNorm", "Timing", "cosine_rate"]
