"""Fingerprints of what a study's trials were trained with: the model its `build` makes and
the data it loaded, so that a rerun after either changed is refused instead of served the
old numbers (see `kerashp.tuning.study_dir.check_definition`).

A fingerprint is a short hash and a few readable facts (layers, parameters, optimizer; rows
and shapes), so that a refusal can say what changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import numpy as np

from kerashp.data.splits import DataSplits


def data_fingerprint(data: DataSplits) -> dict[str, Any]:
    """What the loaded splits hold: their sizes, shapes and a hash of every array's bytes
    (the data trained on, whatever its source: a file replaced under the same name counts).
    About a second per GiB."""
    digest = hashlib.blake2b(digest_size=12)
    facts: dict[str, Any] = {}
    for name in ("train", "validation", "test"):
        split = getattr(data, name)
        if split is None:
            continue
        for array in (split.features, split.labels):
            array = np.ascontiguousarray(array)
            digest.update(f"{name}{array.dtype}{array.shape}".encode())
            digest.update(memoryview(array).cast("B"))
        facts[name] = len(split)
    facts["shape"] = list(data.input_shape)
    return {"hash": digest.hexdigest(), **facts}


def _without_names(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_names(item) for key, item in value.items() if key != "name"}
    if isinstance(value, list):
        return [_without_names(item) for item in value]
    return value


def model_fingerprint(model) -> dict[str, Any]:
    """The architecture and compile settings of a built, compiled Keras model: every layer's
    configuration (its automatic name left out: `dense_3` in one process is `dense` in
    another), the optimizer's configuration, the loss and the metrics."""
    import keras

    from kerashp import compat

    layers = list(compat.flatten_layers(model, include_self=False))
    text = json.dumps(_without_names(model.get_config()), sort_keys=True, default=str)
    # Functional models name their layers in the wiring too: their positions instead.
    positions = {model.name: "<model>"}
    for index, layer in enumerate(layers):
        positions.setdefault(layer.name, f"<layer {index}>")
    pattern = "|".join(re.escape(name) for name in sorted(positions, key=len, reverse=True))
    text = re.sub(f'"({pattern})"', lambda match: f'"{positions[match.group(1)]}"', text)
    compiled = compat.compile_arguments(model) if model.compiled else {}
    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    optimizer_config = _without_names(optimizer.get_config()) if optimizer is not None else None

    def serialize(value: Any) -> Any:
        try:
            return keras.saving.serialize_keras_object(value)
        except (TypeError, ValueError, AttributeError):
            return repr(value)

    settings = {"optimizer": [type(optimizer).__name__, optimizer_config],
                "loss": _without_names(serialize(compiled.get("loss"))),
                "metrics": _without_names(serialize(compiled.get("metrics")))}
    digest = hashlib.blake2b(digest_size=12)
    digest.update(text.encode())
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return {"hash": digest.hexdigest(), "layers": len(layers), "parameters": int(model.count_params()),
            "optimizer": type(optimizer).__name__ if optimizer is not None else None}


def describe_change(kind: str, before: dict[str, Any], now: dict[str, Any]) -> str:
    """One phrase naming how a fingerprint changed ("the model (layers 3 -> 4, parameters
    2,000 -> 2,100)"), for the refusal."""
    facts = [f"{key} {before.get(key)!r} -> {now.get(key)!r}".replace("'", "")
             for key in now if key != "hash" and before.get(key) != now.get(key)]
    return f"the {kind} ({', '.join(facts) if facts else 'same sizes, other content'})"
