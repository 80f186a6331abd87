"""A run killed with SIGKILL in the middle of a trial resumes from its last epoch."""

import os
import pathlib
import signal
import subprocess
import sys
import time

import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[1]


def start(out, *args):
    command = [sys.executable, str(ROOT / "tests" / "tiny_study.py"), "--out", str(out), "--verbose", "0",
               "--configs", "slow,medium,fast", "--epochs", "5", *args]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def epochs_trained(out):
    lines = (out / "epochs_trained.log").read_text().split("\n")
    return [tuple(line.split()) for line in lines if line]


def test_sigkill_mid_trial_then_rerun_finishes_each_config_once(tmp_path):
    out = tmp_path / "out"
    process = start(out, "--epoch-sleep", "0.5")
    history = out / "tuner" / "trial_0001" / "execution_0" / "history.csv"
    log = out / "epochs_trained.log"
    deadline = time.time() + 300
    while time.time() < deadline:  # wait until trial 0001 has finished two epochs
        if log.exists() and len([e for e in epochs_trained(out) if e[0] == "0001"]) >= 2:
            break
        assert process.poll() is None, process.stdout.read()
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished_summary = out / "tuner" / "trial_0000" / "execution_0" / "summary.json"
    before = finished_summary.read_bytes(), finished_summary.stat().st_mtime_ns
    killed_pid = process.pid
    trained_before = [e for e in epochs_trained(out) if e[0] == "0001"]
    assert 2 <= len(trained_before) < 5

    rerun = start(out, "--epoch-sleep", "0.5")
    output, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output

    results = pd.read_csv(out / "results.csv")
    assert sorted(results["name"]) == ["fast", "medium", "slow"]
    assert (results["status"] == "COMPLETED").all() and (results["epochs"] == 5).all()
    assert (finished_summary.read_bytes(), finished_summary.stat().st_mtime_ns) == before
    # Trial 0001 resumed: the rerun trained only the epochs after the last backup.
    trained = [e for e in epochs_trained(out) if e[0] == "0001"]
    rerun_epochs = [int(e[1]) for e in trained if int(e[2]) != killed_pid]
    assert rerun_epochs and min(rerun_epochs) >= len(trained_before)
    assert rerun_epochs[-1] == 5
    history_epochs = pd.read_csv(history)["epoch"]
    assert sorted(set(history_epochs)) == [0, 1, 2, 3, 4]
    assert "trial_0003" not in os.listdir(out / "tuner")
