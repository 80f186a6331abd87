"""Learning-curve tables: table A's sub-grid is the one its docstring names, and a recorded
study directory exports as one row per run and epoch, with the test figures of every epoch."""

import gzip
import io
import pathlib
import sys

import keras_tuner
import pandas as pd
import pytest

from kerashp import StudySettings
from kerashp.cli import main
from tiny_study import TinyStudy

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import curves  # noqa: E402
from curves_fashion_mlp import FashionCurves  # noqa: E402


def grid_points(**options):
    from kerashp.tuning.oracle import grid_values

    hp = keras_tuner.HyperParameters()
    FashionCurves(StudySettings.for_study(FashionCurves, **options)).declare_hyperparameters(hp)
    sizes = [len(grid_values(h)) for h in hp.space]
    total = 1
    for size in sizes:
        total *= size
    return total, {h.name: grid_values(h) for h in hp.space}


@pytest.mark.fast
def test_table_a_is_576_points_of_40_epochs_and_its_subset_a_quarter():
    total, values = grid_points()
    assert total == 576 and values["epochs"] == [40] and values["optimizer"] == ["sgd", "adam", "rmsprop"]
    subset, values = grid_points(subset=True)
    assert subset == 144 and values["hidden"] == ["1024-256"] and values["init"] == ["xavier_uniform"]


class EvaluatedTiny(TinyStudy):
    def extra_callbacks(self, hp, run_dir, tensorboard_dir):
        from callbacks import EvaluateEachEpoch

        return [EvaluateEachEpoch(self.make_dataset(self.data.validation, training=False, batch_size=32))]


def test_a_recorded_study_exports_one_row_per_run_and_epoch(tmp_path):
    out = tmp_path / "seed0"
    assert main(EvaluatedTiny, ["--out", str(out), "--verbose", "0", "--configs", "slow,medium", "--seeds", "2"]) == 0
    curves.main(["export", str(out), "--to", str(tmp_path / "table.csv.gz")])
    table = pd.read_csv(io.BytesIO(gzip.decompress((tmp_path / "table.csv.gz").read_bytes())))
    assert len(table) == 2 * 2 * 3  # configurations x seeds x epochs
    assert sorted(table["epoch"].unique()) == [1, 2, 3] and sorted(table["seed"].unique()) == [0, 1]
    assert {"learning_rate", "loss", "val_accuracy", "test_accuracy", "epoch_seconds"} <= set(table.columns)
    # the extra evaluation here is of the validation split: its accuracy is the epoch's val_accuracy
    pd.testing.assert_series_equal(table["test_accuracy"], table["val_accuracy"], check_names=False, atol=1e-6)
    history = pd.read_csv(out / "tuner" / "trial_0001" / "execution_1" / "history.csv")
    rows = table[(table["config"] == "medium") & (table["seed"] == 1)]
    assert (rows["val_loss"].to_numpy() - history["val_loss"].to_numpy()).max() < 1e-5
