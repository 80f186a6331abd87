"""Keras callbacks usable in any `model.fit`."""

from callbacks.cosine import CosineAnnealing, cosine_rate
from callbacks.evaluate_each_epoch import EvaluateEachEpoch
from callbacks.gradient_norm import GradientNorm
from callbacks.step_decay import StepDecay, step_decay_rate
from callbacks.tensorboard_events import EpochScalars, EventWriter
from callbacks.timing import Timing

__all__ = ["CosineAnnealing", "EpochScalars", "EvaluateEachEpoch", "EventWriter", "GradientNorm", "StepDecay", "Timing", "cosine_rate",
           "step_decay_rate"]
