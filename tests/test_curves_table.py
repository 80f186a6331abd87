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
    # --part: a second process's share, and the replay's calibration points (one per cost group)
    part, values = grid_points(part="hidden=1024-128,init=random_normal")
    assert part == 144 and values["hidden"] == ["1024-128"] and values["init"] == ["random_normal"]
    calibration, values = grid_points(part="dropout_1=0.1,dropout_2=0.1,learning_rate=0.001,momentum=0.9,"
                                           "init=xavier_uniform")
    assert calibration == 12 and values["learning_rate"] == [0.001]
    from kerashp import StudyError

    norm, values = grid_points(part="batch_norm=true,optimizer=adam")  # any of the table's hyperparameters
    assert norm == 96 and values["batch_norm"] == [True] and values["optimizer"] == ["adam"]
    with pytest.raises(StudyError, match="hidden=512"):
        grid_points(part="hidden=512")


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


@pytest.mark.fast
def test_table_b_is_216_usps_cnns_of_30_epochs():
    from curves_usps_cnn import UspsCurves

    hp = keras_tuner.HyperParameters()
    UspsCurves(StudySettings.for_study(UspsCurves)).declare_hyperparameters(hp)
    from kerashp.tuning.oracle import grid_values

    values = {h.name: grid_values(h) for h in hp.space}
    total = 1
    for choices in values.values():
        total *= len(choices)
    assert total == 216 and values["filters"] == [64] and values["batch_size"] == [50, 128]
    assert UspsCurves.epochs == 30 and not UspsCurves.configs


def test_table_b_records_the_test_split_every_epoch_at_the_points_batch_size(tmp_path):
    """Two points of table B, 2 epochs each, on the shipped USPS sample: every epoch's row has the
    test figures; the table exports with the searched batch size and the schedule's learning rate."""
    from curves_usps_cnn import UspsCurves

    out = tmp_path / "seed0"
    assert main(UspsCurves, ["--out", str(out), "--verbose", "0", "--data", "sample:usps", "--trials", "2",
                             "--epochs", "2"]) == 0
    curves.main(["export", str(out), "--to", str(tmp_path / "table.csv")])
    table = pd.read_csv(tmp_path / "table.csv")
    assert len(table) == 2 * 2 and set(table["batch_size"]) == {50}
    assert table["test_accuracy"].between(0, 1).all() and (table["test_seconds"] > 0).all()
    assert {"num_layers", "activation", "batch_norm", "optimizer", "learning_rate", "epoch_seconds"} <= set(table.columns)
