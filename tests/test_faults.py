"""Files a kill (or a user) damaged between runs: recovered, or refused in one line naming the file."""

import shutil

import pandas as pd
import pytest

from kerashp.cli import main
from tiny_study import TinyStudy


def run(out, *args):
    return main(TinyStudy, ["--out", str(out), "--verbose", "0", *args])


def trained_epochs(out):
    log = out / "epochs_trained.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture(scope="module")
def finished_project(tmp_path_factory):
    out = tmp_path_factory.mktemp("faults") / "out"
    assert run(out, "--configs", "slow,medium") == 0
    return out


@pytest.fixture
def project(finished_project, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(finished_project, out)
    return out


@pytest.mark.parametrize("damage", ["garbage", "empty", "cut", "missing"])
def test_a_damaged_oracle_file_is_rebuilt_from_the_trials(project, damage, caplog):
    oracle = project / "tuner" / "oracle.json"
    text = oracle.read_text()
    if damage == "missing":
        oracle.unlink()
    else:
        oracle.write_text({"garbage": "\x00\x13not json", "empty": "", "cut": text[: len(text) // 2]}[damage])
    before = pd.read_csv(project / "results.csv")
    epochs_before = trained_epochs(project)
    assert run(project, "--configs", "slow,medium,fast") == 0
    results = pd.read_csv(project / "results.csv")
    assert results["name"].tolist() == ["slow", "medium", "fast"] and (results["status"] == "COMPLETED").all()
    pd.testing.assert_frame_equal(results.iloc[:2][["trial", "name", "best_val_accuracy"]],
                                  before[["trial", "name", "best_val_accuracy"]])
    new_epochs = trained_epochs(project)[len(epochs_before):]
    assert {line.split()[0] for line in new_epochs} == {"0002"}  # only the new configuration trained
    assert "rebuilt from the 2 trials on disk" in caplog.text


def test_a_damaged_trial_file_is_named_in_one_line_and_nothing_changes(project, capfd):
    trial_file = project / "tuner" / "trial_0001" / "trial.json"
    text = trial_file.read_text()
    trial_file.write_text(text[: len(text) // 3])
    files_before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    assert run(project, "--configs", "slow,medium,fast") == 2
    err = capfd.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{trial_file} is unreadable" in err and "Traceback" not in err
    files_after = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    assert files_after == files_before


def test_records_are_written_whole(project):
    # Every JSON a run writes goes through a temporary file renamed into place: none is left over.
    assert not list(project.rglob("*.tmp"))
    for path in project.rglob("*.json"):
        assert path.read_text().strip().endswith("}")
