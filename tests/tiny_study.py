"""A tiny study for tests: a small dense network on synthetic, learnable data.

Runnable like a real study (`python tests/tiny_study.py --out DIR ...`), so the
tests can kill it mid-trial. Its trials can be packed (`--pack K`). `--epoch-sleep S` slows each epoch down, and every
trained epoch is appended to `<out>/epochs_trained.log` as "trial epoch pid".
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from kerashp.cli import main
from kerashp.data import Split, make_splits
from kerashp import Study, option


class EpochLog(keras.callbacks.Callback):
    def __init__(self, path, trial_id, sleep):
        super().__init__()
        self.path, self.trial_id, self.sleep = path, trial_id, sleep

    def on_epoch_end(self, epoch, logs=None):
        time.sleep(self.sleep)
        with open(self.path, "a") as log:
            log.write(f"{self.trial_id} {epoch + 1} {os.getpid()}\n")


def synthetic_splits(num_train=256, num_test=128, seed=0, val_split=None):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(3, 8)).astype(np.float32) * 3
    def draw(n):
        labels = rng.integers(0, 3, n).astype(np.int32)
        return Split(centers[labels] + rng.normal(size=(n, 8)).astype(np.float32), labels)
    return make_splits(draw(num_train), draw(num_test), num_classes=3, class_names=("a", "b", "c"), source="synthetic",
                       val_split=val_split)


class TinyStudy(Study):
    name = "tiny"
    description = "test study"
    epochs = 3
    batch_size = 32
    configs = {
        "slow": {"learning_rate": 1e-3},
        "medium": {"learning_rate": 1e-2},
        "fast": {"learning_rate": 5e-2},
        "diverging": {"learning_rate": 1e12},
    }
    table_hyperparameters = ("learning_rate",)
    # A checkpoint every epoch: the kill tests check that a rerun repeats at most the epoch in
    # flight (the default's interval would skip most checkpoints of these millisecond epochs;
    # tests/test_backup.py and tests/test_faults.py check it).
    backup_interval_s = 0.0
    built_models: list = []  # weak references, for the memory test

    @dataclasses.dataclass(frozen=True)
    class Options:
        epoch_sleep: float = option(0.0, help="seconds each epoch sleeps (to interrupt a run mid-trial)")

    def declare_hyperparameters(self, hp):
        hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")

    def check_hyperparameters(self, values):
        if values["learning_rate"] <= 0:
            raise ValueError(f"learning_rate must be positive, got {values['learning_rate']}")

    def load_data(self):
        return synthetic_splits()

    def preprocessing(self, data):
        return None  # features are float already

    def build(self, hp):
        import weakref
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3, activation="softmax")])
        model.compile(keras.optimizers.SGD(hp["learning_rate"]), "sparse_categorical_crossentropy", metrics=["accuracy"])
        type(self).built_models.append(weakref.ref(model))
        return model

    def extra_callbacks(self, hp, run_dir, tensorboard_dir):
        sleep = self.options.epoch_sleep
        trial_id = run_dir.parent.name.replace("trial_", "")
        return [EpochLog(str(self.settings.output.out / "epochs_trained.log"), trial_id, sleep)]

    def pack_key(self, hp):
        return "dense 8-16-3"  # every configuration trains the same network

if __name__ == "__main__":
    sys.exit(main(TinyStudy))
