"""BackupAndRestore that survives being killed while it writes its checkpoint."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import pathlib
import shutil
import time

import keras

from kerashp import compat
from kerashp.models.state import seed_states
from kerashp.storage import layout, records

logger = logging.getLogger("kerashp")


@dataclasses.dataclass
class CheckpointCost:
    """What the last checkpoint took to write (seconds; 0: none written yet)."""

    seconds: float = 0.0


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` whose checkpoint survives a kill at any byte.

    Keras writes the weights in place and the epoch counter in a second file,
    so a SIGKILL can leave a truncated `latest.weights.h5`, or new weights with
    the previous epoch count (the resumed run then trains one epoch more than
    it reports). Here each checkpoint's weights go to a file named by its epoch
    (`epoch_000007.weights.h5`, written to a temporary name and renamed), and
    the manifest (`layout.CHECKPOINT_MANIFEST`) (epoch, batch, weights file, the
    random seed generators' states, which `save_weights` leaves out), flushed
    to disk and renamed into place last, commits it: a kill at any point leaves
    the previous checkpoint or the new one, weights and epoch together. Older
    weight files are removed after the commit. A checkpoint that still cannot
    be read (e.g. made by another tool) restarts the run with a warning.

    Args:
        backup_dir: where the checkpoint lives.
        min_interval_s: skip an epoch's checkpoint when the last one is younger
            than this (0: every epoch). For runs of many short epochs (e.g.
            2,000 epochs of a small MLP) writing weights each epoch would cost
            more than the epoch; a resumed run then repeats at most this many
            seconds of training, and repeated epochs replace their first rows
            in the history (see `kerashp.storage.records.read_history`).
            None: chosen from what the last checkpoint took to write, so that
            checkpoints take at most `AUTO_SHARE` of the training time (an
            epoch's is skipped while the last one, or the start of `fit`, is
            younger than that writing time over `AUTO_SHARE`): every epoch where
            epochs take seconds, about every second for a small MLP's sub-second
            epochs. The interval counts from the start of `fit` (where the run
            resumes from if killed before its first checkpoint).
        cost: where the writing time is kept, shared by the callbacks of a
            search's runs so that each run's first epochs know it (None: this
            callback's own, measured at its first checkpoint).
    """

    WEIGHTS_PATTERN = "epoch_{:06d}.weights.h5"
    AUTO_SHARE = 0.05

    def __init__(self, backup_dir: str, min_interval_s: float | None = 0.0, cost: CheckpointCost | None = None,
                 **kwargs):
        super().__init__(backup_dir, **kwargs)
        if min_interval_s is not None and min_interval_s < 0:
            raise ValueError(f"min_interval_s must be at least 0 (or None: automatic), got {min_interval_s}")
        self.min_interval_s = min_interval_s
        self.cost = cost if cost is not None else CheckpointCost()
        self._last_save = -math.inf  # when the last checkpoint began, or fit (monotonic seconds)

    def interval_s(self) -> float:
        """The least time between two checkpoints now (seconds)."""
        if self.min_interval_s is not None:
            return self.min_interval_s
        return self.cost.seconds / self.AUTO_SHARE

    def on_epoch_end(self, epoch, logs=None):
        # Not saved: epochs within the interval of the last save, and the last epoch of a
        # run whose checkpoint is deleted when it ends (a kill before the run's summary is
        # written repeats that one epoch, exactly: the pipeline and seed states are restored).
        last = self.delete_checkpoint and self.params and epoch + 1 >= int(self.params.get("epochs") or 0) > 0
        if last or time.monotonic() - self._last_save < self.interval_s():
            self._current_epoch = epoch + 1
            self._last_batch_seen = 0
            return
        super().on_epoch_end(epoch, logs)

    @staticmethod
    def committed_epoch(backup_dir: str | pathlib.Path) -> int:
        """The epoch a run resumes at from the checkpoint in `backup_dir` (0: none, or unreadable)."""
        return layout.committed_epoch(backup_dir)

    @classmethod
    def write_checkpoint(cls, model: keras.Model, backup_dir: str | pathlib.Path, epoch: int, batch: int = 0) -> None:
        """Commits `model`'s weights and optimizer state as the checkpoint of `epoch`
        finished epochs in `backup_dir` (the layout this callback restores)."""
        directory = pathlib.Path(backup_dir)
        directory.mkdir(parents=True, exist_ok=True)
        weights_name = cls.WEIGHTS_PATTERN.format(epoch)
        temporary_weights = directory / "saving.weights.h5"
        try:
            model.save_weights(str(temporary_weights), overwrite=True)
            os.replace(temporary_weights, directory / weights_name)
        except BaseException:
            temporary_weights.unlink(missing_ok=True)  # no partial file (a full disk, a kill is not caught)
            raise
        states = [keras.ops.convert_to_numpy(variable).tolist() for variable in seed_states(model)]
        records.write_json_atomic(  # the commit point
            directory / layout.CHECKPOINT_MANIFEST,
            {"epoch": epoch, "batch": batch, "weights": weights_name, "seed_states": states},
        )
        for stale in [*directory.glob("epoch_*.weights.h5"), directory / "latest.weights.h5"]:
            if stale.name != weights_name:
                stale.unlink(missing_ok=True)

    @staticmethod
    def load_checkpoint(model: keras.Model, backup_dir: str | pathlib.Path) -> int:
        """Loads the committed checkpoint in `backup_dir` into `model` (weights and
        optimizer state) and returns its epoch (Keras' own layout, `latest.weights.h5`,
        where the manifest names no file)."""
        manifest = json.loads((pathlib.Path(backup_dir) / layout.CHECKPOINT_MANIFEST).read_text())
        weights = pathlib.Path(backup_dir) / manifest.get("weights", "latest.weights.h5")
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)  # its variables must exist to load
        model.load_weights(str(weights))
        variables, states = seed_states(model), manifest.get("seed_states")
        if states is not None:
            if len(states) != len(variables):
                raise ValueError(f"the checkpoint holds {len(states)} random seed states, the model {len(variables)}")
            for variable, state in zip(variables, states):
                variable.assign(keras.ops.convert_to_tensor(state, dtype=variable.dtype))
        return int(manifest["epoch"])

    def _save_model(self):
        self._last_save = time.monotonic()
        self._saved_epoch = self._current_epoch
        self.write_checkpoint(self.model, self.backup_dir, self._current_epoch, self._last_batch_seen)
        self.cost.seconds = time.monotonic() - self._last_save

    def on_train_end(self, logs=None):
        # A stage of a pruned search ends at a rung: its last epoch must be in the
        # checkpoint a promotion continues from, even where `min_interval_s` skipped it.
        if not self.delete_checkpoint and self._current_epoch > getattr(self, "_saved_epoch", -1) \
                and self._current_epoch > self.committed_epoch(self.backup_dir):
            self._save_model()
        super().on_train_end(logs)

    def _load_model(self):
        """Restores the weights and epoch the manifest names."""
        manifest_path = pathlib.Path(self._training_metadata_path)
        if not manifest_path.exists():
            if any(pathlib.Path(self.backup_dir).glob("*.weights.h5")):
                logger.warning("weights without a committed epoch in %s (a kill before the first "
                               "checkpoint was complete); training this run from scratch", self.backup_dir)
                shutil.rmtree(self.backup_dir, ignore_errors=True)
            return
        epoch = self.load_checkpoint(self.model, self.backup_dir)
        compat.set_initial_epoch(self.model, epoch)
        self._current_epoch = epoch

    def on_train_begin(self, logs=None):
        if not self.model.built:  # a usage error, not an unreadable checkpoint: raise it
            raise ValueError(f"{type(self).__name__} needs a built model before fit(); {self.model.name} is not built")
        try:
            self._load_model()
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as error:
            logger.warning("unreadable checkpoint in %s (%s); training this run from scratch",
                           self.backup_dir, str(error).splitlines()[0] if str(error) else type(error).__name__)
            shutil.rmtree(self.backup_dir, ignore_errors=True)
            compat.set_initial_epoch(self.model, None)
        self._last_save = time.monotonic()  # a kill before the first checkpoint resumes from here
