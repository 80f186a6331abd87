"""AtomicBackupAndRestore: resumes from its checkpoint, survives an unreadable one."""

import json

import keras
import numpy as np
import pytest

from kerashp.tuning.backup import AtomicBackupAndRestore, CheckpointCost


def fit(backup_dir, epochs, stop_after=None, **options):
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
                  callbacks=[history, AtomicBackupAndRestore(str(backup_dir), **options), Interrupt()])
    except KeyboardInterrupt:
        pass
    return history.epoch


def test_checkpoint_is_written_atomically_and_resumed(tmp_path):
    backup = tmp_path / "backup"
    assert fit(backup, epochs=5, stop_after=2) == [0, 1]
    assert sorted(p.name for p in backup.iterdir()) == ["epoch_000002.weights.h5", "training_metadata.json"]
    assert json.loads((backup / "training_metadata.json").read_text()) == {
        "epoch": 2, "batch": 0, "weights": "epoch_000002.weights.h5", "seed_states": []}
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


def test_a_kill_between_weights_and_epoch_resumes_from_the_committed_checkpoint(tmp_path, monkeypatch):
    from kerashp.tuning import backup as backup_module

    backup = tmp_path / "backup"
    assert fit(backup, epochs=5, stop_after=2) == [0, 1]
    committed = (backup / "epoch_000002.weights.h5").read_bytes()

    def killed(path, payload):  # the process dies after epoch 3's weights, before its manifest
        raise KeyboardInterrupt

    monkeypatch.setattr(backup_module.records, "write_json_atomic", killed)
    assert fit(backup, epochs=5) == [2]
    assert (backup / "epoch_000003.weights.h5").exists()
    assert (backup / "epoch_000002.weights.h5").read_bytes() == committed
    monkeypatch.undo()
    assert fit(backup, epochs=5) == [2, 3, 4]  # epoch 3 trained again: weights and epoch count agree


def test_a_checkpoint_in_keras_own_layout_still_resumes(tmp_path):
    backup = tmp_path / "backup"
    assert fit(backup, epochs=5, stop_after=2) == [0, 1]
    (backup / "epoch_000002.weights.h5").rename(backup / "latest.weights.h5")
    (backup / "training_metadata.json").write_text('{"epoch": 2, "batch": 0}')  # written before the manifest
    assert fit(backup, epochs=5) == [2, 3, 4]


@pytest.mark.parametrize("interval", [0.0, 3600.0])
def test_a_resumed_model_with_dropout_draws_the_uninterrupted_runs_masks(tmp_path, interval):
    """Weights alone would restart the dropout layer's seed generator: the checkpoint keeps its state
    (also where the interval skipped every epoch's checkpoint: the stage's end is saved all the same)."""
    x = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)

    def train(epochs, backup_dir, keep):
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dropout(0.5), keras.layers.Dense(2, activation="softmax")])
        model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=epochs, verbose=0, shuffle=False,
                  callbacks=[AtomicBackupAndRestore(str(backup_dir), min_interval_s=interval,
                                                    delete_checkpoint=not keep)])
        return model

    uninterrupted = train(4, tmp_path / "a", keep=False)
    train(2, tmp_path / "b", keep=True)  # stops after 2 epochs, keeping its checkpoint (as a rung does)
    assert len(json.loads((tmp_path / "b" / "training_metadata.json").read_text())["seed_states"]) == 1
    resumed = train(4, tmp_path / "b", keep=False)
    for ours, theirs in zip(resumed.get_weights(), uninterrupted.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_the_last_epoch_of_a_finishing_run_is_not_saved_and_a_kill_there_repeats_only_it(tmp_path, monkeypatch):
    # Its checkpoint would be deleted when the run ends: saving it cost a weights file per run
    # for nothing. Killed after that epoch but before the run ended, the run repeats that one epoch.
    from kerashp.tuning import backup as backup_module

    saved = []
    original = backup_module.AtomicBackupAndRestore.write_checkpoint.__func__

    def recording(cls, model, backup_dir, epoch, batch=0):
        saved.append(epoch)
        original(cls, model, backup_dir, epoch, batch)

    monkeypatch.setattr(backup_module.AtomicBackupAndRestore, "write_checkpoint", classmethod(recording))
    backup = tmp_path / "backup"
    assert fit(backup, epochs=3) == [0, 1, 2]
    assert saved == [1, 2] and not backup.exists()
    saved.clear()
    assert fit(backup, epochs=3, stop_after=3) == [0, 1, 2]  # killed after the last epoch
    assert saved == [1, 2] and backup.exists()
    assert fit(backup, epochs=3) == [2]


def test_the_automatic_interval_skips_checkpoints_younger_than_twenty_times_their_writing_time(tmp_path):
    # Writing a checkpoint "took" 10 s: the next may come 200 s later, so none of these
    # millisecond epochs is checkpointed and a kill resumes from the start of fit.
    backup = tmp_path / "backup"
    slow = CheckpointCost(seconds=10.0)
    assert AtomicBackupAndRestore(str(backup), min_interval_s=None, cost=slow).interval_s() == pytest.approx(200.0)
    assert fit(backup, epochs=5, stop_after=3, min_interval_s=None, cost=slow) == [0, 1, 2]
    assert not (backup / "training_metadata.json").exists()
    assert fit(backup, epochs=5, min_interval_s=None, cost=slow) == [0, 1, 2, 3, 4]  # trained again from epoch 1
    # Nothing measured yet: the first epoch is checkpointed, and what that took is kept for the next runs.
    fresh = CheckpointCost()
    assert fit(tmp_path / "fresh", epochs=5, stop_after=1, min_interval_s=None, cost=fresh) == [0]
    assert json.loads((tmp_path / "fresh" / "training_metadata.json").read_text())["epoch"] == 1
    assert 0 < fresh.seconds < 10


def test_a_negative_interval_is_refused(tmp_path):
    with pytest.raises(ValueError, match="min_interval_s must be at least 0"):
        AtomicBackupAndRestore(str(tmp_path), min_interval_s=-1.0)
