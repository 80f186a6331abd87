"""benchmarks/gpu_check.py, the one-call accelerator check, runs as on a lent GPU machine:
Keras on JAX without TensorFlow, here on the CPU with a tiny setting; it writes its table."""

import os
import pathlib
import subprocess
import sys

import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_the_gpu_check_runs_on_jax_without_tensorflow_and_writes_its_table(tmp_path):
    out = tmp_path / "check"
    command = [sys.executable, str(ROOT / "tests" / "without_tensorflow.py"), str(ROOT / "benchmarks" / "gpu_check.py"),
               "--train-limit", "128", "--epochs", "2", "--settings", "plain,kerashp", "--out", str(out)]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    table = pd.read_csv(out / "gpu_check.csv")
    assert table["setting"].tolist() == ["plain", "kerashp"] and (table["images_per_second"] > 0).all()
    assert table["ratio_to_plain"].iloc[0] == 1.0
    report = (out / "gpu_check.md").read_text()
    assert "Keras backend jax" in report and "JAX" in report and "| kerashp |" in report
