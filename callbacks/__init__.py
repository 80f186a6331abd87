"""Keras callbacks usable in any `model.fit`."""

from callbacks.timing import Timing

__all__ = ["Timing"]
