"""A built model's initial state: its weights and the states of its random seed
generators, copied from a freshly built twin (for `Study.reconfigure`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras


def seed_states(model: keras.Model) -> list:
    """The states of the model's random seed generators (dropout masks, noise), in
    model order. `get_weights` and `save_weights` leave them out, so a model restored
    from weights alone draws other dropout masks than the one it stands for."""
    return [variable for variable in model.variables if variable.path.endswith("seed_generator_state")]


def copy_initial_state(model: keras.Model, source: keras.Model) -> None:
    """Gives `model` the weights (batch-norm statistics included) and the seed
    generator states of `source`, a model of the same architecture.

    For a study whose trials share one compiled model (`Study.architecture_key`)
    but differ in their initialisation: `reconfigure` builds the trial's network
    again, uncompiled (cheap: nothing is traced), under the seed the tuner has
    just set, and copies it in, so the reused model starts exactly where a freshly
    built one would.

    Raises:
        ValueError: the two models' weights or seed generators do not match.
    """
    weights = source.get_weights()
    if [w.shape for w in weights] != [tuple(v.shape) for v in model.weights]:
        raise ValueError("copy_initial_state: the two models have different weights (not the same architecture)")
    model.set_weights(weights)
    targets, sources = seed_states(model), seed_states(source)
    if len(targets) != len(sources):
        raise ValueError(f"copy_initial_state: {len(targets)} seed generators against the source's {len(sources)}")
    for target, value in zip(targets, sources):
        target.assign(value)
