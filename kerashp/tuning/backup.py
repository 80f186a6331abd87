"""BackupAndRestore that survives being killed while it writes its checkpoint."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time

import keras

logger = logging.getLogger("kerashp")


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` with crash-safe writes.

    Keras writes the checkpoint in place, so a SIGKILL during the write leaves a
    truncated `latest.weights.h5` that fails to load and the run cannot resume
    (seen in kerashp's kill test). Here the weights and the epoch counter are
    each written to a temporary file and renamed over the old one (an atomic
    step on POSIX file systems), the weights first: a kill at any point leaves
    either the previous or the new checkpoint. If the checkpoint still cannot
    be read (e.g. made by another tool), the run starts afresh with a warning
    instead of failing.

    Args:
        backup_dir: where the checkpoint lives.
        min_interval_s: skip an epoch's checkpoint when the last one is younger
            than this (0: every epoch). For runs of many short epochs (e.g.
            2,000 epochs of a small MLP) writing weights each epoch would cost
            more than the epoch; a resumed run then repeats at most this many
            seconds of training, and repeated epochs replace their first rows
            in the history (see `kerashp.tuning.records.read_history`).
    """

    def __init__(self, backup_dir: str, min_interval_s: float = 0.0, **kwargs):
        super().__init__(backup_dir, **kwargs)
        self.min_interval_s = min_interval_s
        self._last_save = 0.0

    def on_epoch_end(self, epoch, logs=None):
        if self.min_interval_s and time.monotonic() - self._last_save < self.min_interval_s:
            self._current_epoch = epoch + 1
            self._last_batch_seen = 0
            return
        super().on_epoch_end(epoch, logs)

    def _save_model(self):
        self._last_save = time.monotonic()
        os.makedirs(self.backup_dir, exist_ok=True)
        temporary_weights = os.path.join(self.backup_dir, "saving.weights.h5")
        self.model.save_weights(temporary_weights, overwrite=True)
        os.replace(temporary_weights, self._weights_path)
        temporary_metadata = self._training_metadata_path + ".tmp"
        with open(temporary_metadata, "w") as handle:
            json.dump({"epoch": self._current_epoch, "batch": self._last_batch_seen}, handle)
        os.replace(temporary_metadata, self._training_metadata_path)

    def on_train_begin(self, logs=None):
        try:
            super().on_train_begin(logs)
        except (OSError, ValueError, json.JSONDecodeError) as error:
            logger.warning("unreadable checkpoint in %s (%s); training this run from scratch",
                           self.backup_dir, str(error).splitlines()[0])
            shutil.rmtree(self.backup_dir, ignore_errors=True)
            self.model._initial_epoch = None
