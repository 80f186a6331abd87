"""`--track mlflow`: a study copied into MLflow as it runs, read back from a real `mlflow server`
on 127.0.0.1 through MLflow's REST API: a run per study, trial and seed, nested; each epoch's
metrics at its epoch, none twice when a rerun resumes the same MLflow runs; the tables and
figures as artifacts; the default SQLite database beside the study; an unreachable server
refused in one line before anything trains."""

import json
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

import pandas as pd
import pytest

from kerashp.cli import main
from kerashp.tuning.runs import KerasRuns
from test_executor_seam import table_run
from tiny_study import TinyStudy

SEARCH = ["--verbose", "0", "--search", "random", "--prune", "asha", "--epochs", "9", "--min-epochs", "1",
          "--seeds", "2"]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    where = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    command = [str(pathlib.Path(sys.executable).with_name("mlflow")), "server", "--backend-store-uri",
               f"sqlite:///{where / 'server.db'}", "--artifacts-destination", str(where / "artifacts"),
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    process = subprocess.Popen(command, cwd=where, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2)
                break
            except OSError:
                time.sleep(0.25)
        else:
            pytest.fail("mlflow server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def rest(url, endpoint, payload=None):
    if payload is None:
        return json.load(urllib.request.urlopen(f"{url}/api/2.0/mlflow/{endpoint}"))
    request = urllib.request.Request(f"{url}/api/2.0/mlflow/{endpoint}", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request))


def runs_of(url, experiment="tiny"):
    [found] = [e for e in rest(url, "experiments/search", {"max_results": 100})["experiments"]
               if e["name"] == experiment]
    runs = rest(url, "runs/search", {"experiment_ids": [found["experiment_id"]], "max_results": 1000}).get("runs", [])
    return {tags["kerashp.key"]: (run, tags) for run in runs
            for tags in [{tag["key"]: tag["value"] for tag in run["data"].get("tags", [])}]}


@pytest.fixture(autouse=True)
def table_training(monkeypatch):
    monkeypatch.setattr(KerasRuns, "run", table_run)  # runs answer from a made-up learning curve: no training


def test_a_study_its_trials_and_their_seeds_nest_and_a_rerun_continues_them(tmp_path, server, capsys):
    out = tmp_path / "out"
    assert main(TinyStudy, ["--out", str(out), *SEARCH, "--trials", "4", "--track", f"mlflow={server}"]) == 0
    first = runs_of(server)
    capsys.readouterr()
    assert main(TinyStudy, ["--out", str(out), *SEARCH, "--trials", "7", "--track", f"mlflow={server}"]) == 0
    assert capsys.readouterr().out == ""  # no line of MLflow's per run on stdout
    runs = runs_of(server)
    assert set(runs) == {"study", *(f"trial {t}" for t in range(7)),
                         *(f"trial {t} run {r}" for t in range(7) for r in range(2))}
    assert all(runs[key][0]["info"]["run_id"] == first[key][0]["info"]["run_id"] for key in first)  # continued
    study_id = runs["study"][0]["info"]["run_id"]
    epochs = pd.read_csv(out / "epochs.csv", dtype={"trial": str})
    table = pd.read_csv(out / "results.csv", dtype={"trial": str}).set_index("trial")
    for trial in range(7):
        run, tags = runs[f"trial {trial}"]
        assert tags["mlflow.parentRunId"] == study_id and run["info"]["status"] == "FINISHED"
        params = {p["key"]: p["value"] for p in run["data"]["params"]}
        assert float(params["learning_rate"]) == pytest.approx(table.loc[str(trial), "learning_rate"])
        for seed in range(2):
            child, child_tags = runs[f"trial {trial} run {seed}"]
            assert child_tags["mlflow.parentRunId"] == run["info"]["run_id"]
            history = rest(server, f"metrics/get-history?run_id={child['info']['run_id']}&metric_key=val_accuracy")
            logged = sorted((m["step"], m["value"]) for m in history["metrics"])
            expected = epochs[(epochs["trial"] == str(trial)) & (epochs["run"] == seed)]
            assert logged == [(e, pytest.approx(v)) for e, v in zip(expected["epoch"], expected["val_accuracy"])]
    assert runs["study"][0]["info"]["status"] == "FINISHED"
    artifacts = rest(server, f"artifacts/list?run_id={study_id}")
    assert {"results.csv", "results.md", "epochs.csv", "pruned_curves.png"} <= {f["path"] for f in artifacts["files"]}


def test_the_default_is_an_sqlite_database_beside_the_study(tmp_path):
    from mlflow import MlflowClient

    out = tmp_path / "out"
    assert main(TinyStudy, ["--out", str(out), "--verbose", "0", "--configs", "slow,medium", "--track", "mlflow"]) == 0
    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tiny")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(run.data.tags["kerashp.key"] for run in runs) == [
        "study", "trial 0000", "trial 0000 run 0", "trial 0001", "trial 0001 run 0"]
    [study] = [run for run in runs if run.data.tags["kerashp.key"] == "study"]
    assert (out / "mlartifacts").is_dir() and "results.csv" in {a.path for a in client.list_artifacts(study.info.run_id)}


def test_an_unreachable_server_is_refused_in_one_line_before_anything_trains(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    out = tmp_path / "out"
    status = main(TinyStudy, ["--out", str(out), "--verbose", "0", "--configs", "slow",
                              "--track", f"mlflow=http://127.0.0.1:{free_port()}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "MLflow at http://127.0.0.1" in err[0]
    assert not list((out / "tuner").glob("trial_*"))


def test_a_malformed_track_option_is_refused_before_tensorflow_work(tmp_path, capsys):
    assert main(TinyStudy, ["--out", str(tmp_path / "out"), "--track", "wandb"]) == 2
    assert "--track takes mlflow or mlflow=URI, got 'wandb'" in capsys.readouterr().err
