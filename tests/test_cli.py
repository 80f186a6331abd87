"""The command line as a user meets it: `--help` before TensorFlow, a study file
anywhere, the `kerashp` command (list, run, status, report), live tables,
Ctrl-C and SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "tiny_study.py"
NO_TF = ROOT / "tests" / "without_tensorflow.py"


def run(*args, env=None, **kwargs):
    environment = {**os.environ, **(env or {})}
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          env=environment, timeout=300, **kwargs)


def test_help_of_a_study_file_names_it_and_loads_no_tensorflow():
    out = run(NO_TF, "examples/arrays_study.py", "--help")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: python examples/arrays_study.py")
    assert "(default: None)" not in out.stdout
    assert "sgd lr=0.001" in out.stdout  # the configurations are listed
    assert "names: optimizer, learning_rate" in out.stdout  # what --set accepts


def test_help_of_a_study_of_experiments_lists_their_configurations():
    out = run(NO_TF, "-m", "studies.usps_cnn", "--help")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: python -m studies.usps_cnn")
    text = " ".join(out.stdout.split())
    assert "width: 64 filters, 128 filters, 256 filters" in text
    assert "file:PATH" in text and "study default" not in text
    assert text.count("(default: 0.2)") == 1 and "global batch size (default: 50)" in text


def test_a_bad_option_answers_in_one_line_without_tensorflow():
    out = run(NO_TF, "-m", "kerashp.cli", "run", "examples/arrays_study.py", "--epochs", "-1")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "kerashp run examples/arrays_study.py: error: argument --epochs: expected a positive integer, got -1 "
        "(see --help)"]


@pytest.mark.fast
@pytest.mark.parametrize("args, message", [
    (["--configs", "nosuch", "--experiment", "depth"], "unknown configuration 'nosuch' for usps_cnn"),
    (["--data", "file:/no/such/usps.h5", "--experiment", "depth"], "data path /no/such/usps.h5 does not exist"),
])
def test_bad_input_is_answered_before_tensorflow_loads(args, message):
    # without_tensorflow.py makes any import of TensorFlow or Keras fail: the answer came before one
    out = run(NO_TF, "-m", "studies.usps_cnn", *args, env={"KERASHP_BLOCK_KERAS": "1"})
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"usps_cnn depth: error: {message}"), lines


def test_kerashp_list_names_the_shipped_studies():
    out = run("-m", "kerashp.cli", "list")
    assert out.returncode == 0, out.stderr
    names = [line.split()[0] for line in out.stdout.splitlines()]
    assert names == ["adam_betas", "mobilenet_cifar100", "usps_cnn", "house_prices", "fashion_grid", "regularization"]


def test_kerashp_run_refuses_a_file_that_is_not_a_study(tmp_path):
    bad = tmp_path / "two.py"
    bad.write_text("import kerashp\nclass A(kerashp.Study):\n    name = 'x'\nclass B(kerashp.Study):\n    name = 'x'\n")
    out = run("-m", "kerashp.cli", "run", bad, "--help")
    assert out.returncode == 2 and "A, B share the study name 'x'" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def wait_for(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("sig, status, word, rerun", [(signal.SIGTERM, 143, "SIGTERM", True),
                                                      (signal.SIGINT, 130, "Ctrl-C", False)])
def test_an_interrupted_run_says_where_writes_what_finished_and_resumes(tmp_path, sig, status, word, rerun):
    # Both signals record the same interruption; the rerun that resumes it is checked once (SIGTERM).
    out = tmp_path / "run"
    # Trials of 6 epochs of 1.5 s: the signal must arrive while trial 0001 trains, after a
    # `kerashp status` subprocess has answered, even on a loaded machine (with 3 epochs the
    # whole run once ended first, exit 0, in a fresh clone's suite).
    epochs = 6
    command = [sys.executable, "-m", "kerashp.cli", "run", str(TINY), "--out", str(out), "--configs", "slow,medium",
               "--epochs", str(epochs), "--epoch-sleep", "1.5", "--verbose", "0"]
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    # Ctrl-C's default action in the child even where this suite runs in the background (a shell
    # starts background jobs with SIGINT ignored, and Python then installs no KeyboardInterrupt).
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True, env=environment,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler))
    try:
        # The live table: results.csv holds the first trial while the second trains.
        assert wait_for(lambda: (out / "results.csv").exists() and (out / "epochs_trained.log").exists()
                        and len((out / "epochs_trained.log").read_text().split("\n")) >= epochs + 2)
        table = pd.read_csv(out / "results.csv", dtype={"trial": str})
        assert list(table["status"])[:1] == ["COMPLETED"]
        report = run("-m", "kerashp.cli", "status", out)
        assert "1 finished, 1 running, 0 pending" in report.stdout, report.stdout + report.stderr
        assert "invocation: running" in report.stdout and "left" in report.stdout
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == status
    lines = [line for line in stderr.splitlines() if not line.startswith("[kerashp]")]
    assert len(lines) == 1 and f"interrupted ({word}) in trial 0001" in lines[0], stderr
    assert "1 of 2 done" in lines[0] and "rerun the same command to resume" in lines[0]
    assert "Traceback" not in stderr
    runs = [json.loads(line) for line in (out / "tuner" / "kerashp_runs.jsonl").read_text().splitlines()]
    assert runs[-1]["interrupted"] == ("SIGTERM" if sig == signal.SIGTERM else "SIGINT")
    assert "1 interrupted" in (out / "results.md").read_text()
    assert "interrupted" in run("-m", "kerashp.cli", "status", out).stdout
    if not rerun:
        return
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)  # the same command
    assert again.returncode == 0, again.stderr
    assert "1 of 2 trials done; resuming trial 0001 at epoch" in again.stderr
    final = pd.read_csv(out / "results.csv")
    assert list(final["status"]) == ["COMPLETED"] * 2
    assert "2 finished, 0 running, 0 pending" in run("-m", "kerashp.cli", "status", out).stdout


def test_kerashp_compare_adds_the_original_to_a_committed_table_without_tensorflow(tmp_path):
    import shutil

    out = tmp_path / "adam"
    shutil.copytree(ROOT / "artifacts" / "adam_betas", out)
    table = pd.read_csv(out / "results.csv").set_index("name")
    first = run(NO_TF, "-m", "kerashp.cli", "compare", "adam_betas", out, env={"KERASHP_BLOCK_KERAS": "1"})
    assert first.returncode == 0, first.stderr
    text = (out / "results.md").read_text()
    baseline = f"{table.loc['Baseline', 'best_val_accuracy'] * 100:.2f}%"
    assert f"| Baseline | best val accuracy | 81.52% | {baseline} | 1 |" in text
    assert '"Baseline is best" (best val accuracy): **' in text and "figures from results.csv" in text
    assert text.count("## Original vs here") == 1 and text.startswith("# adam_betas")
    again = run(NO_TF, "-m", "kerashp.cli", "compare", "adam_betas", out, env={"KERASHP_BLOCK_KERAS": "1"})
    assert again.returncode == 0 and (out / "results.md").read_text() == text  # replaced, not appended twice
    missing = run(NO_TF, "-m", "kerashp.cli", "compare", "adam_betas", tmp_path / "none")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "results.csv: no such file" in missing.stderr

@pytest.mark.fast
def test_kerashp_compare_refuses_a_study_without_an_original(tmp_path, capsys):
    from kerashp.cli import console

    assert console(["compare", str(TINY), str(tmp_path)]) == 2  # in this process: TINY imports TensorFlow
    assert "declares no original" in capsys.readouterr().err


def test_kerashp_report_rebuilds_without_keras_or_tensorflow(tmp_path):
    out = tmp_path / "run"
    assert run(TINY, "--out", out, "--configs", "slow,fast", "--epochs", "2", "--seeds", "2",
               "--verbose", "0").returncode == 0
    before = (out / "results.md").read_text()
    for name in ("results.md", "results.csv", "val_accuracy.png", "seeds.png", "epochs.csv"):
        (out / name).unlink()
    rebuilt = run(NO_TF, "-m", "kerashp.cli", "report", out, env={"KERASHP_BLOCK_KERAS": "1"})
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert (out / "results.md").read_text() == before
    assert all((out / name).exists() for name in ("results.csv", "val_accuracy.png", "seeds.png", "epochs.csv"))
    status = run(NO_TF, "-m", "kerashp.cli", "status", out, env={"KERASHP_BLOCK_KERAS": "1"})
    assert "2 finished, 0 running, 0 pending, 0 failed" in status.stdout, status.stderr
