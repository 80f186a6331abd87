"""Oracles whose next trial follows from the trials on disk, so a rerun resumes exactly."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import keras_tuner
from keras_tuner.engine import trial as trial_module

CONFIG_KEY = "config"


class NamedConfigOracle(keras_tuner.Oracle):
    """Runs named configurations, each exactly once, in the order given.

    KerasTuner's `GridSearchOracle` keeps its position in memory only, so a
    reloaded grid can raise `KeyError` or stop early (keras-tuner #1055). Here
    the next configuration is always the first one in `names` that no trial in
    the project has taken yet (finished, failed or interrupted), so the order
    survives any number of restarts and a configuration never runs twice.
    An interrupted trial is resumed first: KerasTuner's `reload` queues it for
    retry under the same trial id (and thus the same trial directory, where
    `BackupAndRestore` finds its last epoch).

    Args:
        configs: all configurations of the study, name -> hyperparameter values.
        names: the configurations to run now (a subset of `configs`, in order).
        objective: forwarded to `keras_tuner.Oracle`.
    """

    def __init__(
        self,
        configs: Mapping[str, Mapping[str, Any]],
        names: Sequence[str] | None = None,
        **kwargs,
    ):
        kwargs.setdefault("max_consecutive_failed_trials", 10**6)  # a failed config must not stop the study
        super().__init__(**kwargs)
        self.configs = {name: dict(values) for name, values in configs.items()}
        self.names = list(names) if names is not None else list(self.configs)
        unknown = [name for name in self.names if name not in self.configs]
        if unknown:
            raise ValueError(f"unknown configurations {unknown}; known: {list(self.configs)}")

    def taken_names(self) -> set[str]:
        """Configurations that already have a trial (of any status) in the project."""
        return {
            trial.hyperparameters.values.get(CONFIG_KEY)
            for trial in self.trials.values()
        }

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        taken = self.taken_names()
        for name in self.names:
            if name not in taken:
                return {
                    "status": trial_module.TrialStatus.RUNNING,
                    "values": {CONFIG_KEY: name, **self.configs[name]},
                }
        return {"status": trial_module.TrialStatus.STOPPED}

    def end_trial(self, trial):
        super().end_trial(trial)
        # KerasTuner saves before it drops the trial from `ongoing_trials`; save
        # again so that a reload never sees a finished trial as interrupted.
        self.save()

    def reload(self):
        super().reload()
        finished = (trial_module.TrialStatus.COMPLETED, trial_module.TrialStatus.FAILED)
        self._retry_queue = [
            trial_id for trial_id in self._retry_queue if self.trials[trial_id].status not in finished
        ]

    def _record_values(self, trial):
        # The configuration name is part of the values; hash them as they are.
        self._tried_so_far.add(self._compute_values_hash(trial.hyperparameters.values))
        self._id_to_hash[trial.trial_id] = self._compute_values_hash(trial.hyperparameters.values)
