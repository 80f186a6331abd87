"""Compiled models kept in memory between runs: one per architecture for the next trial
of that architecture, and the models of runs stopped at a rung for their promotion."""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Hashable

import keras
import numpy as np

from kerashp import compat
from kerashp.models.state import seed_states


class KeptModels:
    """Compiled models kept in memory under a key, the least recently used released first.

    The tuner keeps two sets: the models of runs stopped at a pruning rung, under
    (trial, run), so that a promotion a few trials later (as ASHA makes them) trains on
    without being built and traced again; and one model per architecture key
    (`Study.architecture_key`), so that a later trial of that architecture reuses it.
    Either saves a trace (about 0.6 s per trial for the FashionMNIST grid's MLP on 2 CPU
    cores, tens of seconds for MobileNetV2). Memory stays bounded by what the models
    really hold: each counts its variables (weights and optimizer state) when kept and,
    once trained, the memory its build and first training took (`resize`: its traced
    functions, tens of MiB for a small MLP, where its variables are a few MiB); beyond
    `max_models` models or `max_bytes` in all, the least recently used goes.

    Args:
        max_models: at most this many models (default `MAX_MODELS`; 0 keeps none).
        max_bytes: at most this many bytes in all (default `MAX_BYTES`).
    """

    MAX_MODELS = 8
    MAX_BYTES = 128 * 2**20

    def __init__(self, max_models: int | None = None, max_bytes: int | None = None):
        self.max_models = self.MAX_MODELS if max_models is None else max_models
        self.max_bytes = self.MAX_BYTES if max_bytes is None else max_bytes
        self._kept: dict[Hashable, tuple[Any, keras.Model, int]] = {}  # key -> (value, its model, bytes)

    @staticmethod
    def size_of(model: keras.Model) -> int:
        """Bytes held by the model's variables and its optimizer's."""
        variables = [*model.weights, *(model.optimizer.variables if model.optimizer is not None else [])]
        return sum(math.prod(v.shape) * _itemsize(v.dtype) for v in variables)

    def put(self, key: Hashable, model: keras.Model, value: Any = None, copies: int = 1,
            footprint: int = 0) -> None:
        """Keeps `value` (default: `model` itself) under `key`, counted as `copies` times
        the model's variables (2 where `value` holds a copy of its initial state) or its
        measured `footprint`, whichever is larger; releases the least recently used beyond
        the limits (`model` itself where it alone exceeds `max_bytes`)."""
        self._kept.pop(key, None)
        size = max(copies * self.size_of(model), footprint)
        if self.max_models <= 0 or size > self.max_bytes:
            return
        self._kept[key] = (model if value is None else value, model, size)
        self._shrink()

    def resize(self, model: keras.Model, footprint: int) -> None:
        """Counts `model` as at least `footprint` bytes (measured after its first training)
        and releases the least recently used beyond the limits (`model` too where it alone
        exceeds `max_bytes`)."""
        for key, (value, kept, size) in list(self._kept.items()):
            if kept is model:
                if footprint > self.max_bytes:
                    del self._kept[key]
                else:
                    self._kept[key] = (value, kept, max(size, footprint))
        self._shrink()

    def _shrink(self) -> None:
        while len(self._kept) > self.max_models or self.nbytes > self.max_bytes:
            self._kept.pop(next(iter(self._kept)))

    @property
    def nbytes(self) -> int:
        """The bytes counted for the kept models."""
        return sum(kept[2] for kept in self._kept.values())

    def get(self, key: Hashable) -> Any:
        """What is kept under `key` (now the most recently used), or None."""
        kept = self._kept.pop(key, None)
        if kept is None:
            return None
        self._kept[key] = kept
        return kept[0]

    def take(self, key: Hashable) -> Any:
        """What is kept under `key`, no longer kept, or None."""
        kept = self._kept.pop(key, None)
        return None if kept is None else kept[0]

    def release(self, model: keras.Model) -> None:
        """Forgets every entry of `model` (it is about to train another run)."""
        for key in [key for key, kept in self._kept.items() if kept[1] is model]:
            del self._kept[key]

    def __len__(self) -> int:
        return len(self._kept)


def resident_bytes() -> int | None:
    """This process's resident memory (Linux: /proc/self/statm), None where unknown."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _itemsize(dtype) -> int:
    name = keras.backend.standardize_dtype(dtype)
    return 2 if name == "bfloat16" else np.dtype(name).itemsize


@dataclasses.dataclass
class ReusableModel:
    """A compiled model kept for the next trials with the same architecture key, with the
    initial state it was built with under `seed`."""

    key: Hashable
    seed: int
    model: keras.Model
    initial_weights: list
    initial_optimizer_state: dict[int, Any]  # id(variable) -> value, for variables that existed after compile
    initial_seed_states: list  # of the dropout (and other) seed generators, which get_weights leaves out

    @classmethod
    def capture(cls, key: Hashable, seed: int, model: keras.Model) -> "ReusableModel":
        state = {id(v): keras.ops.convert_to_numpy(v) for v in model.optimizer.variables}
        seeds = [keras.ops.convert_to_numpy(v) for v in seed_states(model)]
        return cls(key, seed, model, model.get_weights(), state, seeds)

    def reset(self) -> keras.Model:
        """The model as it was before its first trial: initial weights (batch-norm
        statistics included) and seed generator states (the same dropout masks),
        optimizer variables as after compile, slots created since (momenta, second
        moments, ...) at zero."""
        model = self.model
        model.set_weights(self.initial_weights)
        for variable, value in zip(seed_states(model), self.initial_seed_states):
            variable.assign(value)
        for variable in model.optimizer.variables:
            value = self.initial_optimizer_state.get(id(variable))
            variable.assign(value if value is not None else keras.ops.zeros(variable.shape, variable.dtype))
        compat.set_initial_epoch(model, None)  # set by BackupAndRestore when a resumed run restored an epoch
        return model
