"""Bad input gives one clear line and leaves existing results intact.

In-process tests read stderr at the file-descriptor level (capfd), so native
libraries' lines count too; the subprocess tests run `python -m studies.NAME`
as a user does and count every line the process writes to stderr.
"""

import os
import subprocess
import sys

import pytest

from kerashp.cli import main
from studies.adam_betas import AdamBetas
from tiny_study import TinyStudy


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("bad") / "out"
    assert main(TinyStudy, ["--out", str(out), "--configs", "slow", "--verbose", "0"]) == 0
    return out


def snapshot(out):
    return {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--configs", "slow,Nope"], "unknown configuration 'Nope'"),
        (["--configs", "slow", "--set", "learning_rate=-1"], "learning_rate must be positive"),
        (["--configs", "slow", "--epochs", "5"], "other settings"),
    ],
)
def test_study_level_errors_leave_results_intact(finished, capfd, args, message):
    before = snapshot(finished)
    assert main(TinyStudy, ["--out", str(finished), "--verbose", "0", *args]) == 2
    err = capfd.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert snapshot(finished) == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["--epochs", "-3"], "argument --epochs: expected a positive integer, got -3"),
        (["--batch-size", "0"], "expected a positive integer"),
        (["--val-split", "1.5"], "expected a fraction in (0, 1)"),
        (["--search", "annealing"], "invalid choice"),
    ],
)
def test_bad_options_exit_with_one_line(finished, capfd, args, message):
    before = snapshot(finished)
    with pytest.raises(SystemExit) as exit_info:
        main(TinyStudy, ["--out", str(finished), *args])
    assert exit_info.value.code == 2
    err = capfd.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert snapshot(finished) == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "beta_1=1.2"], "beta_1 must be in [0, 1), got 1.2"),
        (["--set", "beta_2=-0.1"], "beta_2 must be in [0, 1), got -0.1"),
        (["--set", "epsilon=0"], "epsilon must be positive"),
        (["--configs", "Baseline,Huge beta"], "unknown configuration 'Huge beta'"),
        (["--data", "folder:/nonexistent/cifar"], "data path /nonexistent/cifar does not exist"),
        (["--data", "no_such_dataset_xyz"], "unknown data set 'no_such_dataset_xyz'"),
        (["--data", "weird:spec"], "unknown data specification"),
        (["--set", "betta_1=0.5"], "adam_betas has no hyperparameter 'betta_1'; it has: beta_1, beta_2, epsilon"),
        (["--set", "beta_1=abc"], "--set beta_1='abc': beta_1 must be a number"),
    ],
)
def test_adam_study_rejects_bad_input(tmp_path, capfd, args, message):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.csv").write_text("kept\n")
    assert main(AdamBetas, ["--out", str(out), "--data", "sample", *args]) == 2
    err = capfd.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert (out / "results.csv").read_text() == "kept\n"
    assert not (out / "tuner").exists()


def test_unreadable_image_folder_is_a_clear_error(tmp_path, capfd):
    folder = tmp_path / "data"
    for split in ("train", "test"):
        (folder / split / "cat").mkdir(parents=True)
        (folder / split / "cat" / "0.jpg").write_bytes(b"not a jpeg")
    assert main(AdamBetas, ["--out", str(tmp_path / "out"), "--data", f"folder:{folder}"]) == 2
    err = capfd.readouterr().err.strip()
    assert "could not be decoded" in err and len(err.splitlines()) == 1


def test_offline_tfds_names_the_alternatives(tmp_path, capfd, monkeypatch):
    import tensorflow_datasets as tfds

    def offline(*args, **kwargs):
        raise ConnectionError("Failed to establish a new connection: network unreachable")

    monkeypatch.setattr(tfds, "load", offline)
    assert main(AdamBetas, ["--out", str(tmp_path / "out"), "--data", "cifar10", "--data-dir", str(tmp_path)]) == 2
    err = capfd.readouterr().err.strip()
    assert "could not load 'cifar10'" in err and "--data sample" in err and "folder:PATH" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "study, args, message",
    [
        ("adam_betas", ["--epochs", "-3"], "argument --epochs: expected a positive integer, got -3"),
        ("adam_betas", ["--data", "sample", "--set", "beta_1=1.2"], "beta_1 must be in [0, 1), got 1.2"),
        ("usps_cnn", ["--experiment", "nope"], "argument --experiment: invalid choice: 'nope'"),
        ("fashion_grid", ["--data", "no_such_dataset_xyz"], "unknown data set 'no_such_dataset_xyz'"),
        ("house_prices", ["--csv", "/nonexistent/train.csv"], "/nonexistent/train.csv"),
        ("regularization", ["--data", "folder:/nonexistent/images"], "data path /nonexistent/images does not exist"),
        ("mobilenet_cifar100", ["--data", "weird:spec"], "unknown data specification 'weird:spec'"),
    ],
)
def test_a_study_command_prints_exactly_one_line_on_stderr(tmp_path, study, args, message):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}  # as a user has it
    result = subprocess.run(
        [sys.executable, "-m", f"studies.{study}", "--out", str(tmp_path / "out"), *args],
        capture_output=True, text=True, env=env, timeout=300,
    )
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "out").exists()  # bad options and bad data are found before --out is made


def test_an_output_path_that_is_a_file_is_one_line(tmp_path, capfd):
    taken = tmp_path / "results.txt"
    taken.write_text("kept\n")
    assert main(TinyStudy, ["--out", str(taken), "--configs", "slow", "--verbose", "0"]) == 2
    err = capfd.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"cannot use {taken} as the output directory" in err, err
    assert taken.read_text() == "kept\n"


def test_a_run_log_line_cut_by_a_kill_does_not_stop_later_runs(finished, capfd):
    log = finished / "tuner" / "kerashp_runs.jsonl"
    runs_before = len(log.read_text().splitlines())
    with open(log, "a") as handle:
        handle.write('{"started": "2026-11-23 10:00:00", "ende')  # what a kill mid-write leaves
    assert main(TinyStudy, ["--out", str(finished), "--configs", "slow", "--verbose", "0"]) == 0
    lines = log.read_text().splitlines()
    assert len(lines) == runs_before + 2 and lines[-2].endswith('"ende')  # kept, and the new run on its own line
    assert f"over {runs_before + 1} invocation(s)" in (finished / "results.md").read_text()
