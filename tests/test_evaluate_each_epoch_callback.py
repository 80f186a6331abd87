"""EvaluateEachEpoch: each epoch's logs (History, CSV) hold the held-out split's metrics, equal
to evaluating the model as it stood at the end of that epoch."""

import keras
import numpy as np
import pandas as pd
import pytest

from callbacks import EvaluateEachEpoch, Timing


class Snapshot(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


@pytest.mark.parametrize("as_dataset", [False, True])
def test_each_epoch_logs_the_metrics_of_the_model_at_that_epoch(tmp_path, as_dataset):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)
    x_test, y_test = x[:70] + 0.5, y[:70]  # 70 rows: a partial last batch
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy", metrics=["accuracy"])
    held_out = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(32) if as_dataset else (x_test, y_test)
    snapshot = Snapshot()
    history = model.fit(x, y, batch_size=32, epochs=4, verbose=0, validation_data=(x, y),
                        callbacks=[Timing(batch_size=32), EvaluateEachEpoch(held_out), snapshot,
                                   keras.callbacks.CSVLogger(str(tmp_path / "h.csv"))]).history
    for epoch, weights in enumerate(snapshot.weights):
        model.set_weights(weights)
        expected = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
        assert history["test_accuracy"][epoch] == pytest.approx(expected["accuracy"])
        assert history["test_loss"][epoch] == pytest.approx(expected["loss"], rel=1e-5)
        assert history["test_seconds"][epoch] > 0
    assert len(set(np.round(history["test_loss"], 6))) == 4  # the model changed between epochs
    csv = pd.read_csv(tmp_path / "h.csv")
    np.testing.assert_allclose(csv["test_accuracy"], history["test_accuracy"])
