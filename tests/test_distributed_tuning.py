"""KerasTuner's chief/worker mode: a chief serving the oracle and two worker processes on
127.0.0.1. One worker is killed mid-trial: its trial goes back to the queue once the worker
has been silent for --worker-timeout, the other worker resumes it from its last checkpoint,
and the study ends with every configuration trained once and one results table."""

import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time

import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = ["slow", "medium", "fast"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(out, tuner_id, port, log, *, args=("--configs", ",".join(CONFIGS), "--epochs", "4", "--epoch-sleep", "0.5")):
    command = [sys.executable, str(ROOT / "tests" / "tiny_study.py"), "--out", str(out), "--verbose", "0",
               *args, "--worker-timeout", "8"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
           "KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port)}
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def epochs_trained(out):
    log = out / "epochs_trained.log"
    lines = log.read_text().split("\n") if log.exists() else []
    return [tuple(int(v) if v.isdigit() else v for v in line.split()) for line in lines if line]


def test_chief_and_two_workers_survive_a_killed_worker(tmp_path):
    out, port = tmp_path / "out", free_port()
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("chief", "worker0", "worker1")}
    chief = start(out, "chief", port, logs["chief"])
    workers = {name: start(out, name, port, logs[name]) for name in ("worker0", "worker1")}
    try:
        deadline = time.time() + 300
        while True:  # wait until some worker is in its first trial's second epoch
            trained = epochs_trained(out)
            if any(epoch >= 2 for _, epoch, _ in trained):
                break
            assert time.time() < deadline, (tmp_path / "chief.log").read_text()
            time.sleep(0.05)
        # kerashp status, from another process, sees the workers' trials in the shared directory.
        status = subprocess.run([sys.executable, "-m", "kerashp.cli", "status", str(out)], capture_output=True,
                                text=True, cwd=ROOT, timeout=120).stdout
        assert re.search(r"trials: 0 finished, [12] running, [12] pending, 0 failed", status), status
        assert "running: trial" in status and "(of 3)" in status
        while True:  # a worker in the middle of a trial (2 or 3 of its 4 epochs done): killed there
            latest = {pid: (trial, epoch) for trial, epoch, pid in epochs_trained(out)}
            mid = [(pid, trial) for pid, (trial, epoch) in latest.items() if 2 <= epoch <= 3]
            if mid:
                break
            assert time.time() < deadline, (tmp_path / "chief.log").read_text()
            time.sleep(0.02)
        victim_pid, killed_trial = mid[0]
        victim = next(name for name, process in workers.items() if process.pid == victim_pid)
        workers[victim].send_signal(signal.SIGKILL)
        workers[victim].wait()
        survivor = workers["worker1" if victim == "worker0" else "worker0"]
        assert survivor.wait(timeout=300) == 0, (tmp_path / "worker0.log").read_text()
        assert chief.wait(timeout=120) == 0, (tmp_path / "chief.log").read_text()
    finally:
        for process in (chief, *workers.values()):
            if process.poll() is None:
                process.kill()
        for handle in logs.values():
            handle.close()

    results = pd.read_csv(out / "results.csv")
    assert sorted(results["name"]) == sorted(CONFIGS) and results["trial"].is_unique
    assert (results["status"] == "COMPLETED").all() and (results["epochs"] == 4).all()
    assert sorted(p.name for p in (out / "tuner").glob("trial_*")) == ["trial_0000", "trial_0001", "trial_0002"]
    trained = epochs_trained(out)
    for trial in {t for t, _, _ in trained}:
        by_survivor = [epoch for t, epoch, pid in trained if t == trial and pid != victim_pid]
        if trial == killed_trial:
            by_victim = [epoch for t, epoch, pid in trained if t == trial and pid == victim_pid]
            assert by_victim[:2] == [1, 2]
            assert by_survivor and by_survivor[0] >= by_victim[-1] and by_survivor[-1] == 4  # resumed, not restarted
        else:
            assert by_survivor == [1, 2, 3, 4]  # trained exactly once
    assert "goes back to the queue" in (tmp_path / "chief.log").read_text()


def test_workers_share_a_pruned_search_and_take_any_rungs_job(tmp_path):
    """ASHA with a chief and two workers: promotions go to whichever worker asks, each
    continues the trial's checkpoint, and no epoch of any trial is trained twice."""
    out, port = tmp_path / "out", free_port()
    args = ("--search", "random", "--trials", "6", "--epochs", "9", "--prune", "asha", "--epoch-sleep", "0.1")
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("chief", "worker0", "worker1")}
    processes = [start(out, name, port, logs[name], args=args) for name in ("chief", "worker0", "worker1")]
    try:
        for process, name in zip(processes[::-1], ("worker1", "worker0", "chief")):
            assert process.wait(timeout=300) == 0, (tmp_path / f"{name}.log").read_text()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        for handle in logs.values():
            handle.close()
    results = pd.read_csv(out / "results.csv").set_index("trial")
    assert len(results) == 6 and (results["status"] == "COMPLETED").all()
    assert (results["rung_reached"] >= 1).sum() >= 6 // 3  # rung 1 holds too few for a promotion to rung 2
    trained = epochs_trained(out)
    assert len({pid for _, _, pid in trained}) == 2  # both workers trained
    pairs = [(trial, epoch) for trial, epoch, _ in trained]
    assert len(pairs) == len(set(pairs)) == results["rung_epochs"].sum()
    for trial, epochs in results["rung_epochs"].items():
        history = pd.read_csv(out / "tuner" / f"trial_{trial}" / "execution_0" / "history.csv")
        assert list(history["epoch"]) == list(range(epochs))
    assert "promoted to rung" in (tmp_path / "chief.log").read_text()


def test_a_worker_without_its_chief_stops_in_one_line_after_the_worker_timeout(tmp_path):
    with open(tmp_path / "worker.log", "w") as log:
        worker = start(tmp_path / "out", "worker0", free_port(), log, args=("--configs", "slow", "--epochs", "1"))
        started = time.monotonic()
        assert worker.wait(timeout=240) == 2
    waited = time.monotonic() - started
    lines = [line for line in (tmp_path / "worker.log").read_text().splitlines()
             if not line.startswith(("[kerashp]", "I0000", "E0000", "W0000", "WARNING: All"))]
    assert any("did not answer for 8 s (--worker-timeout)" in line for line in lines), lines
    assert "Traceback" not in (tmp_path / "worker.log").read_text() and waited < 200
