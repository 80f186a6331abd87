"""GradientNorm logs the norm of the gradient the train step applies."""

import pathlib
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from callbacks.gradient_norm import GradientNorm


def model_and_data():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((5,)), keras.layers.Dense(8, activation="tanh", name="hidden"),
        keras.layers.Dense(3, activation="softmax", name="out"),
    ], name="net")
    model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    return model, rng.normal(size=(32, 5)).astype(np.float32), rng.integers(0, 3, 32)


def tape_norms(model, x, y):
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    return {v.path: float(tf.norm(g)) for v, g in zip(model.trainable_variables, grads)}


def test_logged_norms_equal_gradient_tape_on_the_same_batch_and_weights(tmp_path):
    model, x, y = model_and_data()
    batches = [(x[:16], y[:16]), (x[16:], y[16:])]
    expected = [tape_norms(model, *batches[0])]  # at the initial weights
    callback = GradientNorm(r"kernel", every_n_steps=1, csv_path=str(tmp_path / "norms.csv"), log_dir=str(tmp_path / "tb"))

    class AfterFirstStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:  # weights after step 0 are the ones step 1 differentiates
                expected.append(tape_norms(self.model, *batches[1]))

    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[callback, AfterFirstStep()])
    logged = pd.read_csv(tmp_path / "norms.csv")
    assert set(logged["variable"]) == {"net/hidden/kernel", "net/out/kernel"}
    for step in (0, 1):
        for path in ("net/hidden/kernel", "net/out/kernel"):
            value = logged[(logged["step"] == step) & (logged["variable"] == path)]["norm"].item()
            assert value == pytest.approx(expected[step][path], rel=1e-5)
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))


def test_every_n_steps_and_variable_selection():
    model, x, y = model_and_data()
    callback = GradientNorm(r"out/bias$", every_n_steps=3)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[callback])  # 8 steps per epoch
    assert [step for step, _, _ in callback.norms] == [0, 3, 6, 9, 12, 15]
    assert {path for _, path, _ in callback.norms} == {"net/out/bias"}
    assert all(norm > 0 for _, _, norm in callback.norms)
    with pytest.raises(ValueError, match="no trainable variable"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[GradientNorm("nothing_like_this")])


MIRRORED_SCRIPT = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, {root!r})
import keras, numpy as np
from callbacks.gradient_norm import GradientNorm

def build():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax", name="out")], name="net")
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    return model

rng = np.random.default_rng(0)
x, y = rng.normal(size=(32, 5)).astype(np.float32), rng.integers(0, 3, 32)
reference = build()
with tf.GradientTape() as tape:
    loss = keras.losses.SparseCategoricalCrossentropy()(y, reference(x, training=True))
expected = float(tf.norm(tape.gradient(loss, reference.trainable_variables)[0]))
with tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope():
    model = build()
norms = GradientNorm("kernel")
model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=[norms])
print("NORMS", expected, norms.norms[0][2])
"""


def test_under_mirrored_strategy_the_norm_is_of_the_summed_gradient_the_step_applies():
    # Each of the two replicas holds half the batch's gradient; the norm must be of their sum
    # (the whole batch's gradient), not of the first replica's share.
    script = MIRRORED_SCRIPT.format(root=str(pathlib.Path(__file__).resolve().parents[1]))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    expected, logged = map(float, result.stdout.split("NORMS")[-1].split())
    assert logged == pytest.approx(expected, rel=1e-5)
