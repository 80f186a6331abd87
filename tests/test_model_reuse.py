"""Trials with the same architecture key share one compiled model: they train exactly as
freshly built models would, and the model is built (and its train step traced) once."""

import keras
import numpy as np
import pandas as pd

from kerashp.cli import main
from kerashp.optimizers import make_adam, set_hyperparameters
from tiny_study import TinyStudy


class AdamTiny(TinyStudy):
    configs = {
        "a": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
        "b": {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3},
        "c": {"beta_1": 0.99, "beta_2": 0.9999, "epsilon": 1e-8},
    }
    table_hyperparameters = ("beta_1", "beta_2", "epsilon")
    builds = 0

    def declare_hyperparameters(self, hp):
        hp.Float("beta_1", 0.5, 0.99)
        hp.Float("beta_2", 0.9, 0.9999)
        hp.Float("epsilon", 1e-8, 1e-3, sampling="log")

    def check_hyperparameters(self, values):
        pass

    def build(self, hp):
        type(self).builds += 1
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.BatchNormalization(), keras.layers.Dense(3, activation="softmax")])
        model.compile(make_adam(0.01, hp["beta_1"], hp["beta_2"], hp["epsilon"], in_variables=True),
                      "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model


class ReusedAdamTiny(AdamTiny):
    def architecture_key(self, hp):
        return "dense-16-bn-3"

    def reconfigure(self, model, hp):
        set_hyperparameters(model.optimizer, beta_1=hp["beta_1"], beta_2=hp["beta_2"], epsilon=hp["epsilon"])


def histories(out):
    return [pd.read_csv(out / "tuner" / f"trial_000{i}" / "execution_0" / "history.csv") for i in range(3)]


def test_reused_model_trains_like_fresh_models_and_is_built_once(tmp_path):
    AdamTiny.builds = ReusedAdamTiny.builds = 0
    args = ["--epochs", "3", "--verbose", "0"]
    assert main(AdamTiny, [*args, "--out", str(tmp_path / "fresh")]) == 0
    assert main(ReusedAdamTiny, [*args, "--out", str(tmp_path / "reused")]) == 0
    assert AdamTiny.builds == 3 and ReusedAdamTiny.builds == 1
    columns = ["loss", "accuracy", "val_loss", "val_accuracy"]
    fresh, reused = histories(tmp_path / "fresh"), histories(tmp_path / "reused")
    for fresh_history, reused_history in zip(fresh, reused):
        np.testing.assert_allclose(reused_history[columns], fresh_history[columns], rtol=1e-5, atol=1e-6)
    # the three configurations really trained differently
    assert len({round(h["loss"].iloc[-1], 6) for h in reused}) == 3


def test_set_hyperparameters_needs_variables():
    import pytest

    with pytest.raises(TypeError, match="in_variables"):
        set_hyperparameters(make_adam(1e-3), beta_1=0.5)
    optimizer = make_adam(1e-3, 0.9, in_variables=True)
    set_hyperparameters(optimizer, beta_1=0.5)
    assert float(optimizer.beta_1) == 0.5
