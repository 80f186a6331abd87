"""Packed trials (`--pack K`): K models in one compiled step train exactly as they would
one by one, and a packed study leaves the same trials, tables and logs."""

import json
import logging
import os
import pathlib
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from kerashp.cli import main
from kerashp.tuning.backup import AtomicBackupAndRestore
from kerashp.tuning.packing import PackedOptimizer, pack_models, repeat_targets, replica_logs, replicas
from tiny_study import TinyStudy, synthetic_splits

ROOT = pathlib.Path(__file__).resolve().parents[1]
EPOCHS = 3
OPTIMIZERS = (  # different optimizer types and hyperparameters, one per replica
    lambda: keras.optimizers.Adam(1e-2, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
    lambda: keras.optimizers.Adam(1e-2, beta_1=0.5, beta_2=0.99, epsilon=1e-3),
    lambda: keras.optimizers.SGD(0.1, momentum=0.9),
)


def small_model(make_optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.BatchNormalization(), keras.layers.Dense(3, activation="softmax")])
    model.compile(make_optimizer(), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def batches():
    train = synthetic_splits().train
    return tf.data.Dataset.from_tensor_slices((train.features, train.labels)).batch(32)


def test_packed_models_train_exactly_as_they_do_alone():
    alone_losses, alone_accuracy, alone_weights = [], [], []
    for make_optimizer in OPTIMIZERS:
        keras.backend.clear_session()
        model = small_model(make_optimizer)
        history = model.fit(batches(), epochs=EPOCHS, verbose=0)
        alone_losses.append(history.history["loss"])
        alone_accuracy.append(history.history["accuracy"])
        alone_weights.append(model.get_weights())

    keras.backend.clear_session()
    models = [small_model(make_optimizer) for make_optimizer in OPTIMIZERS]
    packed = pack_models(models)
    assert isinstance(packed.optimizer, PackedOptimizer)
    history = packed.fit(repeat_targets(batches(), len(models)), epochs=EPOCHS, verbose=0).history

    for index in range(len(OPTIMIZERS)):
        own = replica_logs(history, index)
        np.testing.assert_allclose(own["loss"], alone_losses[index], rtol=1e-5)
        np.testing.assert_allclose(own["accuracy"], alone_accuracy[index], rtol=1e-6)
        for packed_weight, alone_weight in zip(replicas(packed)[index].get_weights(), alone_weights[index]):
            np.testing.assert_allclose(packed_weight, alone_weight, rtol=1e-4, atol=1e-6)
    # The replicas did learn differently (otherwise the comparison above would prove little).
    assert len({round(losses[-1], 4) for losses in alone_losses}) == len(OPTIMIZERS)
    # Each replica's optimizer stepped once per batch, as alone.
    assert [int(opt.iterations) for opt in packed.optimizer.optimizers] == [EPOCHS * 8] * len(OPTIMIZERS)


def test_packed_losses_equal_the_losses_alone_where_the_last_batch_is_partial():
    # 250 training rows (last batch 26 of 32) and 100 validation rows (last batch 4): Keras'
    # per-output losses are means of batch means; a model alone logs the batch-size-weighted mean.
    splits = synthetic_splits(num_train=250, num_test=100)
    def data(split):
        return tf.data.Dataset.from_tensor_slices((split.features, split.labels)).batch(32)
    alone = []
    for make_optimizer in OPTIMIZERS[:2]:
        keras.backend.clear_session()
        alone.append(small_model(make_optimizer).fit(data(splits.train), validation_data=data(splits.validation),
                                                     epochs=EPOCHS, verbose=0).history)
    keras.backend.clear_session()
    packed = pack_models([small_model(make_optimizer) for make_optimizer in OPTIMIZERS[:2]])
    history = packed.fit(repeat_targets(data(splits.train), 2), validation_data=repeat_targets(data(splits.validation), 2),
                         epochs=EPOCHS, verbose=0).history
    for index in range(2):
        own = replica_logs(history, index)
        assert set(own) == set(alone[index])
        for name in ("loss", "val_loss", "accuracy", "val_accuracy"):
            np.testing.assert_allclose(own[name], alone[index][name], rtol=1e-5, err_msg=name)
    # the per-output losses Keras logs do differ here (otherwise this test would prove little)
    assert not np.allclose(history["replica_0_loss"], alone[0]["loss"], rtol=1e-5)


def test_replica_logs_renames_own_entries_and_drops_the_others():
    logs = {"loss": 3.0, "val_loss": 6.0, "replica_0_loss": 1.0, "replica_1_loss": 2.0, "replica_10_loss": 9.0,
            "val_replica_1_accuracy": 0.5, "val_replica_1_loss": 4.0, "images_per_second": 100.0}
    assert replica_logs(logs, 1) == {"loss": 2.0, "val_accuracy": 0.5, "val_loss": 4.0, "images_per_second": 100.0}
    assert replica_logs(logs, 10) == {"loss": 9.0, "images_per_second": 100.0}


def test_packing_refuses_models_it_cannot_train_faithfully():
    plain = small_model(OPTIMIZERS[0])
    with pytest.raises(ValueError, match="at least 2"):
        pack_models([plain])
    regularized = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, kernel_regularizer="l2")])
    regularized.compile("sgd", "mse")
    with pytest.raises(ValueError, match="regularization"):
        pack_models([plain, regularized])


def run(out, *args):
    return main(TinyStudy, ["--out", str(out), "--verbose", "0", "--epochs", str(EPOCHS), *args])


def summaries(out):
    return {path.parts[-3]: json.loads(path.read_text())
            for path in sorted((out / "tuner").glob("trial_*/execution_*/summary.json"))}


def test_a_packed_study_gives_the_trials_tables_and_logs_of_an_unpacked_one(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="kerashp")
    configs = ["--configs", "slow,medium,fast,diverging"]
    assert run(tmp_path / "alone", *configs) == 0
    caplog.clear()
    assert run(tmp_path / "packed", *configs, "--pack", "4") == 0
    assert "packed in one model" in caplog.text

    alone, packed = (pd.read_csv(tmp_path / name / "results.csv").set_index("name") for name in ("alone", "packed"))
    assert list(packed.index) == list(alone.index) == ["slow", "medium", "fast", "diverging"]
    assert list(packed["status"]) == ["COMPLETED", "COMPLETED", "COMPLETED", "FAILED"]
    finished = ["slow", "medium", "fast"]
    for column in ("best_val_accuracy", "final_val_loss", "best_accuracy"):
        np.testing.assert_allclose(packed.loc[finished, column], alone.loc[finished, column], rtol=1e-4)
    epochs_alone, epochs_packed = (pd.read_csv(tmp_path / name / "epochs.csv") for name in ("alone", "packed"))
    np.testing.assert_allclose(epochs_packed["loss"].iloc[:9], epochs_alone["loss"].iloc[:9], rtol=1e-4)
    assert all(summary["packed_trials"] == 4 for summary in summaries(tmp_path / "packed").values())
    for trial in ("trial_0000", "trial_0001", "trial_0002", "trial_0003"):
        run_dir = tmp_path / "packed" / "tensorboard" / trial
        assert list(run_dir.glob("train/events.out.tfevents.*")) and list(run_dir.glob("validation/events.*"))
    assert (tmp_path / "packed" / "val_accuracy.png").stat().st_size > 0

    # A rerun finds every trial finished and trains nothing.
    before = {trial: path.stat().st_mtime_ns
              for trial, path in ((p.parts[-3], p) for p in (tmp_path / "packed" / "tuner").glob("trial_*/*/summary.json"))}
    caplog.clear()
    assert run(tmp_path / "packed", *configs, "--pack", "4") == 0
    assert "packed in one model" not in caplog.text
    after = {p.parts[-3]: p.stat().st_mtime_ns for p in (tmp_path / "packed" / "tuner").glob("trial_*/*/summary.json")}
    assert after == before


def test_pack_larger_than_the_study_and_seeds(tmp_path):
    """--pack 8 with 3 configurations and 2 seeds: each seed's runs are packed; tables show mean ± std."""
    assert run(tmp_path / "out", "--configs", "slow,medium,fast", "--pack", "8", "--seeds", "2") == 0
    runs = list((tmp_path / "out" / "tuner").glob("trial_*/execution_*/summary.json"))
    assert len(runs) == 6
    assert {json.loads(path.read_text())["seed"] for path in runs} == {0, 1}
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    assert (results["status"] == "COMPLETED").all() and len(results) == 3


def trained_epochs(out):
    lines = (out / "epochs_trained.log").read_text().split("\n")
    return [tuple(line.split()) for line in lines if line]


def test_a_packed_run_killed_mid_epoch_resumes_from_its_last_epoch(tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, str(ROOT / "tests" / "tiny_study.py"), "--out", str(out), "--verbose", "0",
               "--configs", "slow,medium,fast", "--epochs", "6", "--pack", "3", "--epoch-sleep", "0.3"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    while time.time() < deadline:  # wait until the pack has finished two epochs
        if (out / "epochs_trained.log").exists() and len(trained_epochs(out)) >= 3 * 2:
            break
        assert process.poll() is None, process.stdout.read()
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed = {int(epoch) for _, epoch, _ in trained_epochs(out)}
    assert 2 <= max(killed) < 6
    # As if the kill had come after the next epoch was logged but before its checkpoint was written:
    # the rerun trains that epoch again, and its history must hold it once.
    (pack_backup,) = (out / "tuner" / "packs").glob("*/backup")
    committed = AtomicBackupAndRestore.committed_epoch(pack_backup)
    for history_path in (out / "tuner").glob("trial_*/execution_0/history.csv"):
        text = history_path.read_text()
        text = text[: text.rfind("\n") + 1]  # a row cut by the kill goes as the rerun drops it
        last_row = text.splitlines()[-1].split(",")
        history_path.write_text(text + ",".join([str(committed), *last_row[1:]]) + "\n")

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    results = pd.read_csv(out / "results.csv")
    assert sorted(results["name"]) == ["fast", "medium", "slow"]
    assert (results["status"] == "COMPLETED").all() and (results["epochs"] == 6).all()
    rerun_epochs = [int(epoch) for _, epoch, pid in trained_epochs(out) if int(pid) != process.pid]
    assert min(rerun_epochs) >= max(killed)  # at most the epoch in flight is repeated, not the whole run
    for trial in ("0000", "0001", "0002"):
        history = pd.read_csv(out / "tuner" / f"trial_{trial}" / "execution_0" / "history.csv")
        assert list(history["epoch"]) == list(range(6))  # one row per epoch: the repeated epoch's first row dropped
    assert not list((out / "tuner" / "packs").glob("*/backup"))  # removed once the pack finished


def test_a_packed_checkpoint_restores_every_replicas_optimizer_state(tmp_path):
    """What BackupAndRestore saves for a pack holds each replica's Adam moments and momenta."""
    def packed_model():
        keras.backend.clear_session()
        return pack_models([small_model(make_optimizer) for make_optimizer in OPTIMIZERS])

    trained = packed_model()
    trained.fit(repeat_targets(batches(), len(OPTIMIZERS)), epochs=1, verbose=0)
    trained.save_weights(str(tmp_path / "pack.weights.h5"))
    saved = [keras.ops.convert_to_numpy(v) for v in trained.optimizer.variables]
    restored = packed_model()
    restored.fit(repeat_targets(batches(), len(OPTIMIZERS)).take(1), epochs=1, verbose=0)  # other state
    restored.load_weights(str(tmp_path / "pack.weights.h5"))
    assert len(restored.optimizer.variables) == len(saved) > 3 * len(OPTIMIZERS)
    for value, variable in zip(saved, restored.optimizer.variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), value)
    assert [int(o.iterations) for o in restored.optimizer.optimizers] == [8] * len(OPTIMIZERS)
