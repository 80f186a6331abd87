"""KerasTuner's hyperparameters as Optuna's distributions (one mapping, used by the export
and by the Optuna proposers): `Choice` -> categorical, `Boolean` -> categorical of False and
True, `Int` and `Float` -> int and float distributions with the same bounds, step and log
scale (Optuna allows no step on a log scale: the step is dropped there), `Fixed` -> none."""

from __future__ import annotations

from typing import Any


def distribution(entry: dict[str, Any]) -> Any:
    """The Optuna distribution of one entry of a KerasTuner space as trial.json stores it
    (`{"class_name": "Float", "config": {...}}`); None for `Fixed`, a kind Optuna has no
    distribution for, or an entry of another shape."""
    from optuna import distributions as dist

    kind, config = entry.get("class_name"), entry.get("config", {})
    try:
        if kind == "Choice":
            return dist.CategoricalDistribution(list(config["values"]))
        if kind == "Boolean":
            return dist.CategoricalDistribution([False, True])
        log = config.get("sampling") == "log"
        if kind == "Int":
            return dist.IntDistribution(int(config["min_value"]), int(config["max_value"]), log=log,
                                        step=1 if log else int(config.get("step") or 1))
        if kind == "Float":
            step = None if log or not config.get("step") else float(config["step"])
            return dist.FloatDistribution(float(config["min_value"]), float(config["max_value"]), log=log, step=step)
    except (KeyError, TypeError, ValueError):
        return None
    return None


def hyperparameter_distribution(hp: Any) -> Any:
    """The Optuna distribution of a `keras_tuner` hyperparameter object (see `distribution`)."""
    return distribution({"class_name": type(hp).__name__, "config": hp.get_config()})
