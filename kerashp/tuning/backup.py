"""BackupAndRestore that survives being killed while it writes its checkpoint."""

from __future__ import annotations

import json
import logging
import os
import shutil

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
    """

    def _save_model(self):
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
