"""Studies run under Keras' JAX backend on a machine without TensorFlow (the GPU machine's
case): NumPy input pipeline, no tf.distribute, TensorBoard logs through tensorboard's own
writer, gradient norms, packing included."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

from kerashp.data.augment import numpy_pad_crop_flip, pad_crop_flip
from kerashp.data.pipeline import ArrayBatches, scale_to_unit
from kerashp.data.splits import Split

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_without_tensorflow(script, *args):
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    return subprocess.run([sys.executable, str(ROOT / "tests" / "without_tensorflow.py"), str(script), *args],
                          env=env, capture_output=True, text=True, timeout=600)


def test_tiny_study_under_jax_without_tensorflow_packed_and_unpacked_agree(tmp_path):
    common = ["--configs", "slow,medium,fast", "--epochs", "2", "--verbose", "0"]
    runs = {}
    for name, extra in (("alone", []), ("packed", ["--pack", "3"])):
        completed = run_without_tensorflow(ROOT / "tests" / "tiny_study.py", "--out", str(tmp_path / name),
                                           *common, *extra)
        assert completed.returncode == 0, completed.stderr[-3000:]
        assert "jax backend" in completed.stderr and "SingleDevice" in completed.stderr
        runs[name] = pd.read_csv(tmp_path / name / "epochs.csv")
        results = pd.read_csv(tmp_path / name / "results.csv")
        assert (results["status"] == "COMPLETED").all() and len(results) == 3
        assert (tmp_path / name / "val_accuracy.png").stat().st_size > 0
        assert_tensorboard_runs(tmp_path / name / "tensorboard", ["trial_0000", "trial_0001", "trial_0002"])
    assert "packed in one model" in completed.stderr
    np.testing.assert_allclose(runs["packed"]["loss"], runs["alone"]["loss"], rtol=1e-5)
    np.testing.assert_allclose(runs["packed"]["val_loss"], runs["alone"]["val_loss"], rtol=1e-5)
    assert runs["alone"].groupby("name")["loss"].last()["fast"] < runs["alone"].groupby("name")["loss"].first()["fast"]


def assert_tensorboard_runs(root, runs):
    """Each run has its epoch scalars (train and validation) and an HParams session; the root has the config."""
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == runs
    config = event_accumulator.EventAccumulator(str(root))
    config.Reload()
    assert "_hparams_/experiment" in config.PluginTagToContent("hparams")
    for run in runs:
        session = event_accumulator.EventAccumulator(str(root / run))
        session.Reload()
        start = HParamsPluginData.FromString(session.PluginTagToContent("hparams")["_hparams_/session_start_info"])
        assert start.session_start_info.hparams["config"].string_value
        validation = event_accumulator.EventAccumulator(str(root / run / "validation"))
        validation.Reload()
        assert [event.step for event in validation.Tensors("epoch_loss")] == [0, 1]
        train = event_accumulator.EventAccumulator(str(root / run / "train"))
        train.Reload()
        assert {"epoch_loss", "epoch_images_per_second", "epoch_learning_rate"} <= set(train.Tags()["tensors"])


GRADIENT_NORM_SCRIPT = """
import sys
import jax, keras, numpy as np, pandas as pd
from callbacks.gradient_norm import GradientNorm
assert keras.backend.backend() == "jax" and "tensorflow" not in sys.modules
keras.utils.set_random_seed(1)
model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="tanh", name="hidden"),
                          keras.layers.Dense(3, activation="softmax", name="out")], name="net")
model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
rng = np.random.default_rng(0)
x, y = rng.normal(size=(32, 5)).astype(np.float32), rng.integers(0, 3, 32)

def jax_grad_norms(model, x, y):
    non_trainable = [v.value for v in model.non_trainable_variables]
    def loss(trainable):
        out, _ = model.stateless_call(trainable, non_trainable, x, training=True)
        return keras.losses.SparseCategoricalCrossentropy()(y, out)
    grads = jax.grad(loss)([v.value for v in model.trainable_variables])
    return {v.path: float(np.sqrt(np.sum(np.square(g)))) for v, g in zip(model.trainable_variables, grads)}

expected = [jax_grad_norms(model, x[:16], y[:16])]

class AfterFirstStep(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 0:
            self.model.jax_state_sync()
            expected.append(jax_grad_norms(self.model, x[16:], y[16:]))

out = sys.argv[1]
norms = GradientNorm("kernel", csv_path=out + "/norms.csv", log_dir=out + "/tb")
model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[norms, AfterFirstStep()])
logged = pd.read_csv(out + "/norms.csv")
assert set(logged["variable"]) == {"net/hidden/kernel", "net/out/kernel"}, logged
for step in (0, 1):
    for path in ("net/hidden/kernel", "net/out/kernel"):
        value = logged[(logged["step"] == step) & (logged["variable"] == path)]["norm"].item()
        assert abs(value - expected[step][path]) <= 1e-5 * expected[step][path], (step, path, value, expected)
print("norms ok")
"""


def test_gradient_norm_under_jax_logs_the_gradients_jax_computes(tmp_path):
    script = tmp_path / "gradient_norms.py"
    script.write_text(GRADIENT_NORM_SCRIPT)
    completed = run_without_tensorflow(script, str(tmp_path))
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "norms ok" in completed.stdout
    scalars = event_accumulator.EventAccumulator(str(tmp_path / "tb"))
    scalars.Reload()
    assert [event.step for event in scalars.Tensors("gradient_norm/net/out/kernel")] == [0, 1]


def test_tfds_data_without_tensorflow_is_a_one_line_error(tmp_path):
    completed = run_without_tensorflow(ROOT / "studies" / "adam_betas.py", "--data", "cifar10", "--out",
                                       str(tmp_path / "out"))
    assert completed.returncode == 2
    assert "needs tensorflow-datasets and TensorFlow" in completed.stderr
    assert "Traceback" not in completed.stderr


def split(n=10):
    features = np.arange(n * 4 * 4 * 3, dtype=np.uint8).reshape(n, 4, 4, 3)
    return Split(features, np.arange(n, dtype=np.int32))


def test_array_batches_shuffle_per_epoch_reproducibly_and_preprocess():
    first = ArrayBatches(split(), 4, training=True, seed=3)
    second = ArrayBatches(split(), 4, training=True, seed=3)
    assert len(first) == 3
    epoch0 = np.concatenate([first[i][1] for i in range(len(first))])
    assert sorted(epoch0) == list(range(10)) and list(epoch0) != list(range(10))
    np.testing.assert_array_equal(epoch0, np.concatenate([second[i][1] for i in range(3)]))
    first.on_epoch_end()
    epoch1 = np.concatenate([first[i][1] for i in range(3)])
    assert sorted(epoch1) == list(range(10)) and list(epoch1) != list(epoch0)
    features, labels = first[0]
    assert features.dtype == np.float32 and features.max() <= 1.0
    np.testing.assert_allclose(features, split().features[labels] / 255.0)
    validation = ArrayBatches(split(), 4, training=False)
    assert list(np.concatenate([validation[i][1] for i in range(3)])) == list(range(10))
    packed_targets = validation.with_repeated_targets(3)[0][1]
    assert len(packed_targets) == 3 and all(list(t) == [0, 1, 2, 3] for t in packed_targets)



def test_without_tensorflow_each_run_gets_its_own_training_batches_and_evaluation_ones_are_shared(monkeypatch):
    from kerashp import backends
    from kerashp.data.pipeline import Pipelines

    monkeypatch.setattr(backends, "tensorflow", lambda: None)
    pipelines, data = Pipelines(), split()
    train = pipelines.get(data, 4, training=True, seed=3)
    assert isinstance(train, ArrayBatches)
    train.on_epoch_end()  # it counts the epochs of its run: another run must start at its own first epoch
    again = pipelines.get(data, 4, training=True, seed=3)
    assert again is not train and again.epoch == 0
    validation = pipelines.get(data, 4, training=False)
    assert isinstance(validation, ArrayBatches) and pipelines.get(data, 4, training=False) is validation

def test_numpy_crop_and_flip_take_windows_of_the_padded_image():
    images = np.random.default_rng(0).integers(1, 255, (64, 8, 8, 3)).astype(np.uint8)
    out = numpy_pad_crop_flip(images, np.random.default_rng(1), pad=2)
    assert out.shape == images.shape and out.dtype == images.dtype
    padded = np.pad(images, [(0, 0), (2, 2), (2, 2), (0, 0)])
    flipped = 0
    for image, crop in zip(padded, out):
        windows = [image[y:y + 8, x:x + 8] for y in range(5) for x in range(5)]
        if any(np.array_equal(crop, w) for w in windows):
            continue
        assert any(np.array_equal(crop[:, ::-1], w) for w in windows)
        flipped += 1
    assert 16 < flipped < 48  # about half
    # the batch function used by studies takes NumPy arrays and a seed, reproducibly
    augment = pad_crop_flip(2)
    a, _ = augment(images, None, np.array([5, 7]))
    b, _ = augment(images, None, np.array([5, 7]))
    np.testing.assert_array_equal(a, b)
    assert scale_to_unit(images, None)[0].dtype == np.float32
