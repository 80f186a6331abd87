"""EpochScalars writes each epoch's logs to TensorBoard in keras.callbacks.TensorBoard's layout."""

import keras
import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.util import tensor_util

from callbacks.tensorboard_events import EpochScalars, EventWriter
from callbacks.timing import Timing


def series(run_dir, tag):
    accumulator = event_accumulator.EventAccumulator(str(run_dir))
    accumulator.Reload()
    return [(event.step, float(tensor_util.make_ndarray(event.tensor_proto))) for event in accumulator.Tensors(tag)]


def test_epoch_logs_go_to_train_and_validation_runs_with_the_history_values(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 4)).astype(np.float32), rng.integers(0, 2, 40)
    history = model.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0,
                        callbacks=[Timing(batch_size=8), EpochScalars(tmp_path / "run")])
    for name, values in history.history.items():
        group, tag = ("validation", name[4:]) if name.startswith("val_") else ("train", name)
        logged = series(tmp_path / "run" / group, f"epoch_{tag}")
        assert [step for step, _ in logged] == [0, 1, 2], name
        np.testing.assert_allclose([value for _, value in logged], values, rtol=1e-6)
    assert "epoch_images_per_second" in event_accumulator.EventAccumulator(str(tmp_path / "run" / "train")).Reload().Tags()["tensors"]
    assert [value for _, value in series(tmp_path / "run" / "train", "epoch_learning_rate")] == pytest.approx([0.3] * 3)


def test_event_writer_scalars_read_back(tmp_path):
    with EventWriter(tmp_path) as writer:
        writer.scalar("a", 1.5, step=3)
        writer.scalar("a", 2.5, step=4)
    assert series(tmp_path, "a") == [(3, 1.5), (4, 2.5)]
