"""Trials with the same architecture key share one compiled model: they train exactly as
freshly built models would, and the model is built (and its train step traced) once."""

import keras
import numpy as np
import pandas as pd

from kerashp.cli import main
from kerashp.optimizers import make_adam, set_hyperparameters
import pytest

from studies.fashion_grid import FashionGrid
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
        # Dropout: a reused model must also start with the seed generator states of its first
        # trial (get_weights leaves them out), or it draws other masks than a fresh one.
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.BatchNormalization(), keras.layers.Dropout(0.3),
                                  keras.layers.Dense(3, activation="softmax")])
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


def test_reused_model_trains_like_fresh_models_for_every_seed_and_is_traced_once(tmp_path, caplog):
    # Trials a, b, c x seeds 0, 1: the model is built for seed 0; the other seed-0 runs restore
    # its initial state, each seed-1 run draws its own (a model built again, never traced).
    AdamTiny.builds = ReusedAdamTiny.builds = 0
    args = ["--epochs", "2", "--seeds", "2", "--verbose", "0"]
    assert main(AdamTiny, [*args, "--out", str(tmp_path / "fresh")]) == 0
    caplog.clear()
    with caplog.at_level("INFO", logger="kerashp"):
        assert main(ReusedAdamTiny, [*args, "--out", str(tmp_path / "reused")]) == 0
    reuses = [r.getMessage() for r in caplog.records if r.getMessage().startswith("reusing")]
    assert len(reuses) == 5 and sum("drawn with seed 1" in m for m in reuses) == 3
    # the first, then one untraced twin per seed-1 run; + 1 each: the reference model whose
    # fingerprint the study directory keeps (kerashp.fingerprints; built, never trained)
    assert AdamTiny.builds == 6 + 1 and ReusedAdamTiny.builds == 1 + 3 + 1
    columns = ["loss", "accuracy", "val_loss", "val_accuracy"]
    last_losses = set()
    for trial in range(3):
        first_losses = []
        for index in range(2):
            path = f"tuner/trial_000{trial}/execution_{index}/history.csv"
            fresh, reused = pd.read_csv(tmp_path / "fresh" / path), pd.read_csv(tmp_path / "reused" / path)
            np.testing.assert_allclose(reused[columns], fresh[columns], rtol=1e-5, atol=1e-6)
            first_losses.append(round(float(reused["loss"].iloc[0]), 6))
            last_losses.add(round(float(reused["loss"].iloc[-1]), 6))
        assert first_losses[0] != first_losses[1]  # the two seeds really start differently
    assert len(last_losses) == 6  # and the three configurations train differently


class CountedGrid(FashionGrid):
    builds = 0

    def build(self, hp):
        type(self).builds += 1
        return super().build(hp)


class FreshGrid(CountedGrid):
    builds = 0

    def architecture_key(self, hp):
        return None


def test_grid_points_of_one_architecture_share_one_trace_and_train_like_fresh_ones(tmp_path):
    # Six random points of the FashionMNIST grid with batch norm and SGD, ASHA-pruned (rungs 1
    # and 3 epochs: promotions resume from checkpoints into reused models). Hidden layers vary
    # (up to three architectures, each built and traced once however the trials interleave);
    # initialisation, dropout rates (VariableDropout), learning rate and momentum (TorchSGD's,
    # in a variable) are set in place.
    args = ["--data", "sample:fashion_mnist", "--search", "random", "--trials", "6", "--epochs", "3",
            "--prune", "asha", "--min-epochs", "1", "--eta", "3", "--train-limit", "600", "--verbose", "0",
            "--set", "batch_norm=True", "--set", "optimizer=sgd"]
    CountedGrid.builds = FreshGrid.builds = 0
    assert main(FreshGrid, [*args, "--out", str(tmp_path / "fresh")]) == 0
    assert main(CountedGrid, [*args, "--out", str(tmp_path / "reused")]) == 0
    fresh = pd.read_csv(tmp_path / "fresh" / "epochs.csv")
    reused = pd.read_csv(tmp_path / "reused" / "epochs.csv")
    columns = ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert len(fresh) == len(reused) > 6 and list(fresh["trial"]) == list(reused["trial"])
    np.testing.assert_allclose(reused[columns], fresh[columns], rtol=1e-5, atol=1e-6)
    table = pd.read_csv(tmp_path / "reused" / "results.csv")
    assert table["hidden"].nunique() >= 2 and table["momentum"].nunique() >= 2
    assert table[["dropout_1", "dropout_2"]].drop_duplicates().shape[0] >= 3
    assert CountedGrid.builds == table["hidden"].nunique() + 1 and FreshGrid.builds >= 6  # + 1: the reference model
    first_epochs = fresh[fresh["epoch"] == 1].drop_duplicates("trial")
    assert first_epochs["loss"].round(5).nunique() == 6  # the six points really start differently
    with pytest.raises(ValueError, match="not the same architecture"):
        from kerashp.models import build_mlp, copy_initial_state

        copy_initial_state(build_mlp((4,), [3], outputs=2), build_mlp((4,), [5], outputs=2))


def test_set_hyperparameters_needs_variables():
    with pytest.raises(TypeError, match="in_variables"):
        set_hyperparameters(make_adam(1e-3), beta_1=0.5)
    optimizer = make_adam(1e-3, 0.9, in_variables=True)
    set_hyperparameters(optimizer, beta_1=0.5)
    assert float(optimizer.beta_1) == 0.5


def test_promoted_runs_continue_with_their_kept_model_and_train_as_rebuilt_ones(tmp_path, caplog, monkeypatch):
    # ASHA over six grid points of different architectures (no model reuse): a run stopped at
    # its rung keeps its compiled model, so a promotion a few trials later trains on without a
    # rebuild and a new trace; its epochs must be those of a run rebuilt from its checkpoint.
    from kerashp.tuning.kept_models import KeptModels

    args = ["--data", "sample:fashion_mnist", "--search", "grid", "--epochs", "3", "--prune", "asha",
            "--min-epochs", "1", "--eta", "3", "--train-limit", "600", "--verbose", "0",
            "--set", "batch_norm=True", "--set", "optimizer=adam", "--set", "momentum=0.9",
            "--set", "learning_rate=0.001", "--set", "init=kaiming_uniform"]
    with monkeypatch.context() as patch:
        patch.setattr(KeptModels, "MAX_MODELS", 0)
        with caplog.at_level("INFO", logger="kerashp"):
            assert main(FreshGrid, [*args, "--trials", "6", "--out", str(tmp_path / "rebuilt")]) == 0
        assert not any("continues with the model in memory" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level("INFO", logger="kerashp"):
        assert main(FreshGrid, [*args, "--trials", "6", "--out", str(tmp_path / "kept")]) == 0
    messages = [r.getMessage() for r in caplog.records]
    promoted = [m.split()[1] for m in messages if "promoted to rung" in m]
    continued = [m.split()[1] for m in messages if "continues with the model in memory" in m]
    assert promoted and continued == promoted  # every promotion found its model kept
    trained = [m.split("(")[1].split(")")[0] for m in messages if " completed, best " in m]
    assert any(trained[trained.index(trial) - 1] != trial for trial in promoted)  # not only the run just trained
    rebuilt = pd.read_csv(tmp_path / "rebuilt" / "epochs.csv")
    kept = pd.read_csv(tmp_path / "kept" / "epochs.csv")
    columns = ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert list(rebuilt["trial"]) == list(kept["trial"]) and (kept["epoch"] > 1).any()
    np.testing.assert_allclose(kept[columns], rebuilt[columns], rtol=1e-5, atol=1e-6)


def test_kept_models_are_bounded_by_count_and_bytes_least_recently_used_first():
    from kerashp.tuning.kept_models import KeptModels

    def model(units):
        built = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units)])
        built.compile("adam", "mse")
        return built

    small = [model(2) for _ in range(3)]  # 10 weights each
    kept = KeptModels(max_models=2, max_bytes=10**6)
    kept.put("0", small[0])
    kept.put("1", small[1])
    assert kept.get("0") is small[0]  # now the most recently used: "1" goes first
    kept.put("2", small[2])
    assert len(kept) == 2 and kept.get("1") is None and kept.take("2") is small[2]
    assert kept.take("2") is None and kept.get("0") is small[0]  # taken once; got, still kept
    big = model(1000)  # 5,000 weights: 20,000 bytes, before the optimizer's slots
    assert KeptModels.size_of(big) >= 20_000
    kept = KeptModels(max_models=8, max_bytes=KeptModels.size_of(big) + KeptModels.size_of(small[0]) - 1)
    kept.put("small", small[0], value="its record")
    assert kept.get("small") == "its record"
    kept.put("big", big)  # over the budget with the small one: the older goes
    assert len(kept) == 1 and kept.take("big") is big
    kept.put("small", small[0])
    kept.put("small again", small[0])
    kept.release(small[0])
    assert len(kept) == 0
    kept.put("big, counted twice", big, copies=2)  # a model with a copy of its initial state
    assert len(kept) == 0
    assert len(KeptModels(max_models=0)) == 0
    # What a model really holds, measured after its first training, counts once known.
    kept = KeptModels(max_models=8, max_bytes=100_000)
    kept.put("a", small[0])
    kept.put("b", small[1], footprint=30_000)
    assert kept.nbytes == KeptModels.size_of(small[0]) + 30_000
    kept.resize(small[0], 80_000)  # now over the budget with "b": the least recently used ("a") goes
    assert len(kept) == 1 and kept.get("b") is small[1]
    kept.resize(small[1], 100_001)  # alone over the budget: not kept
    assert len(kept) == 0 and kept.nbytes == 0
