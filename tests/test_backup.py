"""AtomicBackupAndRestore: resumes from its checkpoint, survives an unreadable one."""

import json

import keras
import numpy as np

from kerashp.tuning.backup import AtomicBackupAndRestore


def fit(backup_dir, epochs, stop_after=None):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.1), "mse")
    x, y = np.ones((8, 3), np.float32), np.full((8, 1), 2.0, np.float32)

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if stop_after is not None and epoch + 1 == stop_after:
                raise KeyboardInterrupt

    history = keras.callbacks.History()
    try:
        model.fit(x, y, epochs=epochs, verbose=0,
                  callbacks=[history, AtomicBackupAndRestore(str(backup_dir)), Interrupt()])
    except KeyboardInterrupt:
        pass
    return history.epoch


def test_checkpoint_is_written_atomically_and_resumed(tmp_path):
    backup = tmp_path / "backup"
    assert fit(backup, epochs=5, stop_after=2) == [0, 1]
    assert sorted(p.name for p in backup.iterdir()) == ["latest.weights.h5", "training_metadata.json"]
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == 2
    assert fit(backup, epochs=5) == [2, 3, 4]  # resumed after the last saved epoch
    assert not backup.exists()  # deleted once training finished


def test_truncated_checkpoint_restarts_instead_of_failing(tmp_path, caplog):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "latest.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 88)  # a write cut short
    (backup / "training_metadata.json").write_text('{"epoch": 3, "batch": 0}')
    with caplog.at_level("WARNING", logger="kerashp"):
        assert fit(backup, epochs=2) == [0, 1]
    assert "unreadable checkpoint" in caplog.text
