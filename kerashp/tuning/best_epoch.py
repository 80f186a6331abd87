"""`--restore-best-weights`: each run ends with the weights of its best epoch, as
Keras' `EarlyStopping(restore_best_weights=True)` leaves a model, so that its test
figures and saved weights are those of the epoch the search ranks it by.

A search ranks a run by the best value of its objective over its epochs
(`best_<objective>`, KerasTuner's convention). Without this option the test pass
and `final.weights.h5` use the run's last epoch; where the validation accuracy
jumps from epoch to epoch the two can differ by points. With it, `BestEpochWeights`
writes the run's weights at each epoch that improves its objective (the first
epoch of the best value, the one `records.summarize_history` names as
`best_epoch`), and `restored_best_weights` loads them for the test pass. A run
stopped at a pruning rung gets its last epoch's weights back afterwards: a
promotion continues from where it stopped, its best epoch so far kept on disk.

Everything survives a kill: the weights are written whole and renamed into place,
and a resumed run takes its best value so far from the epochs its history holds
before the epoch it resumes at.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import pathlib
from typing import Iterator

import keras

from kerashp.storage import records
from kerashp.storage.weights import best_epoch_weights_path, remove_best_epoch_weights

logger = logging.getLogger("kerashp")


class BestEpochWeights(keras.callbacks.Callback):
    """Saves the model's weights at each epoch that improves `monitor`, replacing
    the previous best epoch's file (`best-epoch-NNNN.weights.h5` in `directory`).

    Args:
        directory: the run's directory (its `history.csv` gives the best value of
            the epochs before a resumed run's first).
        monitor: the logged metric (the study's objective).
        mode: "max" or "min".
    """

    def __init__(self, directory: pathlib.Path, monitor: str, mode: str = "max"):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.directory, self.monitor, self.mode = pathlib.Path(directory), monitor, mode
        self.best: float | None = None
        self._started = False

    def _better(self, value: float) -> bool:
        return self.best is None or (value > self.best if self.mode == "max" else value < self.best)

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        if self._started:
            return
        self._started = True  # the epochs logged before this fit's first (a resumed run)
        for row in records.history_rows(self.directory / records.HISTORY_FILE):
            value = row.get(self.monitor)
            logged = row.get("epoch", math.inf) <= epoch  # rows of the epochs this fit redoes do not count
            if logged and isinstance(value, (int, float)) and math.isfinite(value) and self._better(value):
                self.best = float(value)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(float(value)) or not self._better(float(value)):
            return
        self.best = float(value)
        path = best_epoch_weights_path(self.directory, epoch + 1)
        partial = path.with_name(f"partial-{path.name}")  # Keras wants the .weights.h5 ending
        self.model.save_weights(str(partial))
        os.replace(partial, path)
        remove_best_epoch_weights(self.directory, keep=epoch + 1)


@contextlib.contextmanager
def restored_best_weights(model: keras.Model, directory: pathlib.Path, best_epoch: int | None, epochs: int,
                          keep: bool) -> Iterator[int]:
    """Within the block, `model` holds the weights of its run's best epoch; yields that
    epoch (`epochs`, the last, where those are the weights it has or the file is missing).

    Args:
        model: the run's model after its last epoch.
        directory: the run's directory.
        best_epoch: the run's best epoch (`summary["best_epoch"]`), 1-based.
        epochs: the epochs it has trained.
        keep: keep the best epoch's weights in the model after the block (a run at its
            full length); else the last epoch's come back (a run a promotion may continue).
    """
    if best_epoch is None or best_epoch >= epochs:
        yield epochs
        return
    path = best_epoch_weights_path(directory, best_epoch)
    if not path.exists():
        logger.warning("%s is missing: the test figures of this run are those of its last epoch (%d)", path, epochs)
        yield epochs
        return
    last = None if keep else model.get_weights()
    model.load_weights(str(path))
    try:
        yield best_epoch
    finally:
        if last is not None:
            model.set_weights(last)


__all__ = ["BestEpochWeights", "restored_best_weights"]
