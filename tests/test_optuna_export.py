"""A study exported to Optuna (`kerashp export optuna`, `Results.to_optuna`): one Optuna trial per
run with the searched distributions, each epoch's objective as an intermediate value and the
pruned state, read back by the real optuna-dashboard over HTTP; a second export adds only the
new runs and finishes the ones left running; another directory is refused."""

import json
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

import optuna
import pandas as pd
import pytest

from kerashp import load_results
from kerashp.cli import console, main
from kerashp.storage import layout
from kerashp.tuning.runs import KerasRuns
from test_executor_seam import table_accuracy, table_run
from tiny_study import TinyStudy

SEARCH = ["--verbose", "0", "--search", "random", "--prune", "asha", "--epochs", "9", "--min-epochs", "1",
          "--eta", "3"]


@pytest.fixture(autouse=True)
def table_training(monkeypatch):
    """Runs answer from a made-up learning curve (tests/test_executor_seam.py): no training."""
    monkeypatch.setattr(KerasRuns, "run", table_run)


def search(out, trials):
    assert main(TinyStudy, ["--out", str(out), *SEARCH, "--trials", str(trials)]) == 0


def optuna_trials(storage, name="tiny"):
    return optuna.load_study(study_name=name, storage=storage).get_trials()


def test_every_run_becomes_an_optuna_trial_with_its_distribution_curve_and_state(tmp_path, capsys):
    out = tmp_path / "out"
    search(out, 9)
    assert console(["export", "optuna", str(out)]) == 0
    assert "tiny: 9 run(s)" in capsys.readouterr().out
    trials = optuna_trials(f"sqlite:///{out / 'optuna.db'}")
    table = pd.read_csv(out / "results.csv", dtype={"trial": str})
    epochs = pd.read_csv(out / "epochs.csv", dtype={"trial": str})
    assert len(trials) == 9
    for trial in trials:
        row = table.set_index("trial").loc[trial.user_attrs["kerashp_trial"]]
        rate = trial.params["learning_rate"]
        assert rate == row["learning_rate"]
        assert trial.distributions["learning_rate"] == optuna.distributions.FloatDistribution(1e-4, 0.1, log=True)
        curve = epochs[epochs["trial"] == trial.user_attrs["kerashp_trial"]]
        assert trial.intermediate_values == dict(zip(curve["epoch"], curve["val_accuracy"]))
        assert trial.intermediate_values == {e: pytest.approx(table_accuracy(rate, e)) for e in range(1, row["epochs"] + 1)}
        full = row["epochs"] == 9
        assert trial.state == (optuna.trial.TrialState.COMPLETE if full else optuna.trial.TrialState.PRUNED)
        assert trial.value == pytest.approx(row["best_val_accuracy"])  # a pruned one: its objective at the rung
        assert trial.user_attrs["rung"] == row["rung_reached"] and trial.user_attrs["seed"] == 0
        assert full or trial.user_attrs["stopped"].startswith("pruned at rung")
    best = max(trials, key=lambda t: t.value if t.state == optuna.trial.TrialState.COMPLETE else -1)
    assert best.user_attrs["kerashp_trial"] == str(load_results(out).best["trial"])


def test_a_second_export_adds_only_new_runs_and_finishes_those_left_running(tmp_path):
    out = tmp_path / "out"
    search(out, 6)
    project = layout.project_dir(out)
    progress = json.loads((project / layout.PROGRESS_FILE).read_text())
    (project / layout.PROGRESS_FILE).write_text(json.dumps({**progress, "state": "running"}))  # as seen mid-search
    study = load_results(out).to_optuna()
    first = {t.user_attrs["kerashp_run"]: t for t in study.get_trials()}
    running = {key for key, t in first.items() if t.state == optuna.trial.TrialState.RUNNING}
    assert len(first) == 6 and running  # paused at a rung: a running search may still promote them
    assert all(first[key].value is None and first[key].datetime_complete is None for key in running)
    search(out, 12)
    study = load_results(out).to_optuna()
    second = {t.user_attrs["kerashp_run"]: t for t in study.get_trials()}
    table = pd.read_csv(out / "results.csv", dtype={"trial": str}).set_index("trial")
    assert len(second) == 12 and all(second[key].number == first[key].number for key in first)
    for key, trial in second.items():
        assert trial.state.is_finished()
        assert len(trial.intermediate_values) == table.loc[key.split("/")[0], "epochs"]
    assert all(second[key].datetime_complete == first[key].datetime_complete for key in set(first) - running)


def test_the_dashboard_serves_the_exported_trials(tmp_path):
    out = tmp_path / "out"
    search(out, 9)
    journal = tmp_path / "optuna.log"
    assert console(["export", "optuna", str(out), "--storage", str(journal)]) == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dashboard = pathlib.Path(sys.executable).with_name("optuna-dashboard")  # the console script beside this Python
    server = subprocess.Popen([str(dashboard), str(journal), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        studies = None
        for _ in range(120):
            try:
                studies = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2))
                break
            except OSError:
                time.sleep(0.25)
        assert studies is not None, "optuna-dashboard did not answer"
        [summary] = studies["study_summaries"]
        assert summary["study_name"] == "tiny" and summary["directions"] == ["maximize"]
        detail = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies/{summary['study_id']}"))
    finally:
        server.terminate()
        server.wait(timeout=30)
    table = pd.read_csv(out / "results.csv", dtype={"trial": str}).set_index("trial")
    served = detail["trials"]
    assert len(served) == 9 and detail["has_intermediate_values"]
    for trial in served:
        attrs = {item["key"]: item["value"] for item in trial["user_attrs"]}
        row = table.loc[attrs["kerashp_trial"]]
        [param] = trial["params"]
        assert param["name"] == "learning_rate" and param["param_internal_value"] == pytest.approx(row["learning_rate"])
        assert len(trial["intermediate_values"]) == row["epochs"]
        assert trial["state"] == ("Complete" if row["epochs"] == 9 else "Pruned")


def test_named_configurations_and_seeds_export_one_trial_per_run(tmp_path):
    out = tmp_path / "out"
    assert main(TinyStudy, ["--out", str(out), "--verbose", "0", "--configs", "slow,medium", "--seeds", "2"]) == 0
    trials = load_results(out).to_optuna(tmp_path / "configs.db").get_trials()
    assert sorted((t.user_attrs["name"], t.user_attrs["seed"]) for t in trials) == [
        ("medium", 0), ("medium", 1), ("slow", 0), ("slow", 1)]
    assert {t.params["config"] for t in trials} == {"slow", "medium"}
    assert trials[0].distributions["config"] == optuna.distributions.CategoricalDistribution(
        sorted(TinyStudy.configs))  # the study's configurations, so that one added later fits
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)


def test_another_directory_into_the_same_optuna_study_is_refused_in_one_line(tmp_path, capsys):
    search(tmp_path / "a", 3)
    search(tmp_path / "b", 3)
    storage = str(tmp_path / "shared.db")
    assert console(["export", "optuna", str(tmp_path / "a"), "--storage", storage]) == 0
    capsys.readouterr()
    assert console(["export", "optuna", str(tmp_path / "b"), "--storage", storage]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "mirrors another study directory" in err
    assert len(optuna_trials(f"sqlite:///{storage}")) == 3
    assert console(["export", "optuna", str(tmp_path / "b"), "--storage", storage, "--study-name", "b"]) == 0


def test_without_optuna_the_export_names_the_extra_to_install(tmp_path, capsys, monkeypatch):
    search(tmp_path / "out", 3)
    monkeypatch.setitem(sys.modules, "optuna", None)  # as where it is not installed
    assert console(["export", "optuna", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip() == 'kerashp export: error: this needs Optuna: pip install "kerashp[optuna]"'
    assert console(["export", "optuna", str(tmp_path / "nothing")]) == 2
