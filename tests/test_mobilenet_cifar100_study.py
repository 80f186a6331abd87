"""The CIFAR-100 MobileNet study end to end on tensorflow-datasets mock data."""

import numpy as np
import pandas as pd
import pytest
import tensorflow_datasets as tfds

from kerashp.cli import main
from kerashp.data import load_image_classification
from studies.mobilenet_cifar100 import MobileNetCifar100


@pytest.fixture(scope="module")
def study_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("c100") / "out"
    with tfds.testing.mock_data(num_examples=40):
        status = main(MobileNetCifar100, ["--experiment", "all", "--epochs", "2", "--batch-size", "16",
                                          "--grad-norm-every", "1", "--out", str(out), "--verbose", "0"])
    assert status == 0
    return out


def test_split_is_40k_10k_style_disjoint_and_stable():
    with tfds.testing.mock_data(num_examples=50):
        first = load_image_classification("cifar100", val_split=0.2, split_seed=0)
        second = load_image_classification("cifar100", val_split=0.2, split_seed=0)
    assert (len(first.train), len(first.validation), len(first.test)) == (40, 10, 50)
    np.testing.assert_array_equal(first.validation.features, second.validation.features)
    train_rows = {row.tobytes() for row in first.train.features}
    assert not any(row.tobytes() in train_rows for row in first.validation.features)


@pytest.mark.parametrize("experiment, names", [
    ("learning_rate", ["lr 0.01", "lr 0.05", "lr 0.2"]),
    ("schedule", ["constant 0.05", "cosine 0.05"]),
    ("weight_decay", ["wd 0.0001", "wd 0.0005"]),
    ("activation", ["relu", "sigmoid blocks 4-10"]),
])
def test_each_experiment_writes_its_table_and_2x2_figure(study_out, experiment, names):
    results = pd.read_csv(study_out / experiment / "results.csv")
    assert list(results["name"]) == names and (results["status"] == "COMPLETED").all()
    assert (results["epochs"] == 2).all() and results["test_accuracy"].between(0, 1).all()
    assert (study_out / experiment / "learning_curves.png").stat().st_size > 10_000


def test_cosine_runs_log_the_annealed_rate(study_out):
    history = pd.read_csv(study_out / "schedule" / "tuner" / "trial_0001" / "execution_0" / "history.csv")
    assert history["learning_rate"].tolist() == pytest.approx([0.05, 0.025])  # eta_max (1 + cos(pi t / 2)) / 2


def test_weight_decay_has_its_test_table_and_activation_its_gradient_norms(study_out):
    assert "test accuracy" in (study_out / "weight_decay" / "test_accuracy.md").read_text()
    norms = pd.read_csv(study_out / "activation" / "tuner" / "trial_0001" / "execution_0" / "gradient_norms.csv")
    assert set(norms["variable"]) == {"block_8_depthwise/kernel"}
    assert len(norms) == 2 * 2 and (norms["norm"] > 0).all()  # 32 training images / 16 = 2 steps, 2 epochs
    assert (study_out / "activation" / "gradient_norm.png").exists()


def test_killed_300_epoch_cosine_trial_resumes_from_its_checkpoint_on_the_same_curve(tmp_path):
    """SIGKILL a 300-epoch cosine trial mid-run; the rerun continues after its last checkpoint
    with the rate the 300-epoch schedule gives there, not from epoch 1."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from callbacks import cosine_rate

    out = tmp_path / "out"
    command = [sys.executable, "-m", "studies.mobilenet_cifar100", "--experiment", "schedule",
               "--configs", "cosine 0.05", "--data", "sample", "--train-limit", "64", "--batch-size", "32",
               "--out", str(out), "--verbose", "0"]
    history = out / "schedule" / "tuner" / "trial_0000" / "execution_0" / "history.csv"

    def run_until(rows):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 300
        def logged():
            return len(pd.read_csv(history)) if history.exists() and history.stat().st_size else 0

        while logged() < rows:
            assert process.poll() is None, process.stdout.read()
            assert time.time() < deadline
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.wait()

    from kerashp.tuning.backup import AtomicBackupAndRestore

    run_until(3)
    first = pd.read_csv(history)
    committed = AtomicBackupAndRestore.committed_epoch(history.parent / "backup")
    run_until(len(first) + 3)
    rows = pd.read_csv(history)
    # The first epoch is always checkpointed (later ones where the last checkpoint is old enough
    # for its writing time). The rerun kept the rows of the checkpointed epochs as they were (their
    # timings too: not trained again), dropped the rest and trained on from there, a row per epoch.
    assert 1 <= committed <= len(first) >= 3
    pd.testing.assert_frame_equal(rows.iloc[:committed], first.iloc[:committed])
    assert rows["epoch"].tolist() == list(range(len(rows))) and len(rows) >= len(first) + 3
    expected = [cosine_rate(epoch, 300, 0.05) for epoch in rows["epoch"]]
    np.testing.assert_allclose(rows["learning_rate"], expected, rtol=1e-5)
    assert os.listdir(out / "schedule" / "tuner" / "trial_0000" / "execution_0" / "backup")


def test_schedule_experiment_packed_trains_as_unpacked(study_out, tmp_path):
    """--pack 2: the constant and the cosine trial train side by side, each with its own
    optimizer and schedule, and give the unpacked run's curves."""
    out = tmp_path / "packed"
    with tfds.testing.mock_data(num_examples=40):
        assert main(MobileNetCifar100, ["--experiment", "schedule", "--epochs", "2", "--batch-size", "16",
                                        "--pack", "2", "--out", str(out), "--verbose", "0"]) == 0
    for trial in ("trial_0000", "trial_0001"):
        packed, alone = (pd.read_csv(root / "tuner" / trial / "execution_0" / "history.csv")
                         for root in (out / "schedule", study_out / "schedule"))
        for column in ("loss", "accuracy", "val_loss"):
            np.testing.assert_allclose(packed[column], alone[column], rtol=2e-3, atol=1e-5)
    cosine = pd.read_csv(out / "schedule" / "tuner" / "trial_0001" / "execution_0" / "history.csv")
    assert cosine["learning_rate"].tolist() == pytest.approx([0.05, 0.025])
    results = pd.read_csv(out / "schedule" / "results.csv")
    assert (results["status"] == "COMPLETED").all() and results["test_accuracy"].between(0, 1).all()
