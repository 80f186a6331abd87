"""The small-data studies end to end on tiny files made in the test."""

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from kerashp.cli import main
from small_data import write_fashion_idx, write_house_csv, write_usps_h5
from studies.fashion_grid import FashionGrid
from studies.house_prices import HousePrices
from studies.regularization import Regularization
from studies.usps_cnn import UspsCnn

STUDIES = ["adam_betas", "mobilenet_cifar100", "usps_cnn", "house_prices", "fashion_grid", "regularization"]


@pytest.mark.parametrize("study", STUDIES)
def test_each_study_module_starts_on_its_own(study):
    """`python -m studies.NAME --help` in a fresh interpreter (catches import cycles)."""
    result = subprocess.run([sys.executable, "-m", f"studies.{study}", "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--epochs" in result.stdout and "--out" in result.stdout


def test_usps_cnn_loss_experiment(tmp_path):
    data = write_usps_h5(tmp_path / "usps.h5")
    out = tmp_path / "out"
    assert main(UspsCnn, ["--experiment", "loss", "--data", f"file:{data}", "--epochs", "2",
                          "--out", str(out), "--verbose", "0"]) == 0
    results = pd.read_csv(out / "loss" / "results.csv")
    assert list(results["name"]) == ["MSE on one-hot", "cross-entropy"]
    assert list(results["loss"]) == ["mse", "cross_entropy"]
    assert (results["status"] == "COMPLETED").all() and (results["epochs"] == 2).all()
    assert results["test_accuracy"].between(0, 1).all() and results["best_val_accuracy"].between(0, 1).all()
    history = pd.read_csv(out / "loss" / "tuner" / "trial_0000" / "execution_0" / "history.csv")
    np.testing.assert_allclose(history["learning_rate"], [0.01, 0.01])  # step decay starts at Adam's 0.01
    assert (out / "loss" / "learning_curves.png").stat().st_size > 0
    text = (out / "loss" / "results.md").read_text()
    assert "test accuracy" in text
    # the replication section, with the framework defaults the run used (the original's: PyTorch)
    assert "## Original vs here" in text and "pytorch framework defaults; 1 seed(s)" in text


def test_house_prices_reports_dollars_and_gaussian_coverage(tmp_path):
    csv = write_house_csv(tmp_path / "train.csv")
    out = tmp_path / "out"
    assert main(HousePrices, ["--experiment", "loss", "--csv", str(csv), "--epochs", "40", "--set",
                              "learning_rate=0.01", "--out", str(out), "--verbose", "0"]) == 0
    results = pd.read_csv(out / "loss" / "results.csv").set_index("name")
    prices = pd.read_csv(csv)["SalePrice"]
    for name in ("MSE", "Gaussian NLL"):
        row = results.loc[name]
        assert row["status"] == "COMPLETED"
        assert row["test_rmse_dollars"] == pytest.approx(math.sqrt(row["test_mse_dollars"]))
        assert row["val_rmse_dollars"] < prices.std()  # learned more than the mean price
    gaussian = results.loc["Gaussian NLL"]
    assert 0 <= gaussian["test_within_1_sigma"] <= gaussian["test_within_2_sigma"] <= 1
    assert math.isnan(results.loc["MSE", "test_within_1_sigma"])
    assert "test RMSE ($)" in (out / "loss" / "results.md").read_text()


def test_house_prices_diverging_optimizer_is_recorded_and_the_study_goes_on(tmp_path):
    csv = write_house_csv(tmp_path / "train.csv")
    out = tmp_path / "out"
    assert main(HousePrices, ["--experiment", "optimizer", "--csv", str(csv), "--epochs", "4", "--set",
                              "learning_rate=1e4", "--out", str(out), "--verbose", "0"]) == 0
    results = pd.read_csv(out / "optimizer" / "results.csv")
    assert list(results["name"]) == ["SGD", "RMSprop", "Adam"]  # every trial ran
    sgd = results.iloc[0]
    assert sgd["status"] == "FAILED" and "diverged" in sgd["message"] and "at epoch" in sgd["message"]
    assert "failed: diverged" in (out / "optimizer" / "results.md").read_text()


def test_house_prices_without_csv_is_one_clear_error(tmp_path, capsys):
    assert main(HousePrices, ["--experiment", "loss", "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "--csv PATH" in error


def test_fashion_grid_resumes_without_repeats_and_reports_the_search(tmp_path):
    data = write_fashion_idx(tmp_path / "fashion")
    out = tmp_path / "out"
    common = ["--data", f"file:{data}", "--epochs", "1", "--seeds", "2", "--out", str(out), "--verbose", "0"]
    assert main(FashionGrid, [*common, "--trials", "2"]) == 0
    first = pd.read_csv(out / "results.csv")
    assert main(FashionGrid, [*common, "--trials", "4"]) == 0
    results = pd.read_csv(out / "results.csv")
    assert len(results) == 4 and results["trial"].is_unique
    points = results[["hidden", "init", "batch_norm", "dropout_1", "dropout_2", "optimizer", "learning_rate",
                      "momentum"]].astype(str).agg("/".join, axis=1)
    assert points.is_unique  # no grid point twice
    assert list(results["momentum"]) == [0.9, 0.95, 0.99, 0.9]  # product order, the last varies fastest
    assert list(results["learning_rate"]) == [0.01, 0.01, 0.01, 0.001]
    # The first trials' results are untouched; only P(first), a comparison with all trials, may move.
    own = [column for column in first.columns if not column.endswith("_p_first")]
    pd.testing.assert_frame_equal(results.iloc[:2].reset_index(drop=True)[own], first[own])
    assert (results["runs"] == 2).all() and results["test_accuracy_std"].notna().all()
    assert (results["epochs"] == 1).all() and (results["best_epoch"] == 1).all()  # the table shows where the best was
    epochs = pd.read_csv(out / "epochs.csv")
    assert len(epochs) == 4 * 2 and set(epochs["run"]) == {0, 1}
    for figure in ("hyperparameters.png", "isolation.png", "top_trials.png"):
        assert (out / figure).stat().st_size > 0
    assert "4 trials (4 completed)" in (out / "results.md").read_text()


def test_regularization_activation_experiment_records_every_layer_gradient(tmp_path):
    data = write_fashion_idx(tmp_path / "fashion")
    out = tmp_path / "out"
    assert main(Regularization, ["--experiment", "activation", "--data", f"file:{data}", "--epochs", "1",
                                 "--grad-norm-every", "1", "--out", str(out), "--verbose", "0"]) == 0
    results = pd.read_csv(out / "activation" / "results.csv")
    assert list(results["activation"]) == ["sigmoid", "tanh", "relu"] and (results["depth"] == 8).all()
    norms = pd.read_csv(out / "activation" / "tuner" / "trial_0000" / "execution_0" / "gradient_norms.csv")
    assert sorted(norms["variable"].unique()) == [f"hidden_{i}/kernel" for i in range(8)]
    assert (norms["norm"] > 0).all()
    assert (out / "activation" / "gradient_norms.png").stat().st_size > 0


def test_regularization_runs_on_cifar10_with_the_cnn_builder(tmp_path):
    out = tmp_path / "out"
    assert main(Regularization, ["--experiment", "penalty", "--configs", "none,L2 0.01", "--model", "cnn",
                                 "--data", "sample", "--train-limit", "200", "--epochs", "1",
                                 "--out", str(out), "--verbose", "0"]) == 0
    results = pd.read_csv(out / "penalty" / "results.csv")
    assert list(results["penalty"]) == ["none", "l2"] and (results["status"] == "COMPLETED").all()
    weights = out / "penalty" / "tuner" / "trial_0001" / "execution_0" / "final.weights.h5"
    import h5py

    with h5py.File(weights) as handle:
        names = []
        handle.visit(names.append)
    assert sum(name.endswith("vars") and "conv2d" in name for name in names) == 3  # the 3-layer CNN, not the MLP


def test_house_prices_early_stopping_stops_before_the_epoch_budget(tmp_path):
    csv = write_house_csv(tmp_path / "train.csv")
    out = tmp_path / "out"
    assert main(HousePrices, ["--experiment", "loss", "--configs", "MSE", "--csv", str(csv), "--epochs", "300",
                              "--set", "learning_rate=0.05", "--early-stopping", "5", "--out", str(out),
                              "--verbose", "0"]) == 0
    results = pd.read_csv(out / "loss" / "results.csv")
    history = pd.read_csv(out / "loss" / "tuner" / "trial_0000" / "execution_0" / "history.csv")
    assert results["status"].iloc[0] == "COMPLETED" and len(history) < 300
    best = history["val_mse"].idxmin()
    assert len(history) == best + 1 + 5  # stopped 5 epochs after the best


def test_a_search_of_a_regression_study_is_ranked_by_its_lowest_error(tmp_path):
    csv = write_house_csv(tmp_path / "train.csv")
    out = tmp_path / "out"
    assert main(HousePrices, ["--experiment", "loss", "--search", "random", "--trials", "3", "--csv", str(csv),
                              "--epochs", "3", "--out", str(out), "--verbose", "0"]) == 0
    results = pd.read_csv(out / "loss" / "results.csv")
    assert len(results) == 3 and "best_val_mse" in results
    shown = (out / "loss" / "results.md").read_text().split("\n| trial")[1:]
    order = [int(line.split("|")[0]) for line in shown]
    expected = results.sort_values("best_val_mse")["trial"].astype(int).tolist()
    assert order == expected  # best (lowest) error first
    assert (out / "loss" / "hyperparameters.png").exists()
