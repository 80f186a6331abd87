"""Strategy choice and fast-path options: MirroredStrategy over two logical CPUs trains
like the default strategy; precision, XLA and steps per execution reach the model."""

import json
import pathlib
import subprocess
import sys

import keras
import pandas as pd
import pytest

from kerashp.cli import main
from kerashp.distribute import choose_strategy, resolve_fast_path, steps_per_execution_for
from kerashp.errors import StudyError
from tiny_study import TinyStudy

ROOT = pathlib.Path(__file__).resolve().parents[1]

MIRRORED_SCRIPT = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path[:0] = [{root!r}, {tests!r}]
import pandas as pd
from kerashp.cli import main
from tiny_study import TinyStudy

# Shuffled batches: the training pipeline's order is a stateless function of (seed, epoch),
# so tf.distribute's copy of it sees the batches the default strategy sees.
losses = {{}}
for strategy in ("default", "mirrored"):
    out = {tmp!r} + "/" + strategy
    assert main(TinyStudy, ["--configs", "fast", "--epochs", "4", "--strategy", strategy, "--out", out, "--verbose", "0"]) == 0
    history = pd.read_csv(out + "/tuner/trial_0000/execution_0/history.csv")
    losses[strategy] = history[["loss", "val_loss"]].values.tolist()
print("LOSSES" + json.dumps(losses))
"""


def test_mirrored_strategy_on_two_logical_cpus_matches_the_default_strategy(tmp_path):
    script = MIRRORED_SCRIPT.format(root=str(ROOT), tests=str(ROOT / "tests"), tmp=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    losses = json.loads(result.stdout.split("LOSSES")[-1])
    assert "MirroredStrategy" in result.stderr and "2 replica(s)" in result.stderr
    # Same seed, same global batches: the two replicas' averaged gradients equal the
    # one-device gradient up to float32 summation order.
    pd.testing.assert_frame_equal(pd.DataFrame(losses["mirrored"]), pd.DataFrame(losses["default"]),
                                  check_exact=False, rtol=1e-4, atol=1e-5)


def test_cpu_defaults_and_explicit_choices():
    assert resolve_fast_path() == resolve_fast_path("float32", "off", 1)
    assert resolve_fast_path("mixed_bfloat16", "on", 8).jit_compile is True
    assert choose_strategy("auto").num_replicas_in_sync == 1
    with pytest.raises(StudyError, match="TF_CONFIG"):
        choose_strategy("multiworker")
    with pytest.raises(StudyError, match="precision"):
        resolve_fast_path("float8")


def test_fast_path_options_reach_the_trained_model(tmp_path, monkeypatch):
    seen = {}
    original_fit = TinyStudy.fit

    def recording_fit(self, hp, model, *args, **kwargs):
        seen.update(policy=model.layers[0].dtype_policy.name, jit=model.jit_compile,
                    steps=model.steps_per_execution, output_dtype=model.layers[-1].compute_dtype)
        return original_fit(self, hp, model, *args, **kwargs)

    monkeypatch.setattr(TinyStudy, "fit", recording_fit)
    assert main(TinyStudy, ["--configs", "fast", "--epochs", "1", "--precision", "mixed_bfloat16",
                            "--steps-per-execution", "4", "--out", str(tmp_path / "out"), "--verbose", "0"]) == 0
    assert seen == {"policy": "mixed_bfloat16", "jit": False, "steps": 4, "output_dtype": "bfloat16"}
    assert keras.config.dtype_policy().name == "float32"  # restored for whatever runs next
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    assert results["status"].iloc[0] == "COMPLETED"


def test_steps_per_execution_divides_an_epoch():
    assert [steps_per_execution_for(8, batches) for batches in (43, 42, 48, 5, 1)] == [1, 7, 8, 5, 1]
    assert steps_per_execution_for(1, 48) == 1 and steps_per_execution_for(16, 782) == 2


def test_steps_per_execution_leaves_every_epoch_as_without_it(tmp_path, monkeypatch):
    """Keras runs whole calls of steps_per_execution batches: asked for 3 with 8 batches per epoch,
    the first epoch would train 9 batches (the next epoch's first among them) and report its
    validation there. kerashp trains 2 per call instead; the epochs' figures are those of a run
    without steps_per_execution, number for number."""
    seen = []
    original_fit = TinyStudy.fit

    def recording_fit(self, hp, model, *args, **kwargs):
        seen.append(model.steps_per_execution)
        return original_fit(self, hp, model, *args, **kwargs)

    monkeypatch.setattr(TinyStudy, "fit", recording_fit)
    histories = {}
    for steps in (1, 3):
        out = tmp_path / f"steps{steps}"
        assert main(TinyStudy, ["--configs", "fast", "--epochs", "3", "--steps-per-execution", str(steps),
                                "--out", str(out), "--verbose", "0"]) == 0
        histories[steps] = pd.read_csv(next(out.glob("tuner/trial_*/execution_0/history.csv")))
    assert seen == [1, 2]  # 256 examples in batches of 32: 8 per epoch, and 3 does not divide 8
    columns = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    pd.testing.assert_frame_equal(histories[1][columns], histories[3][columns], check_exact=True)
