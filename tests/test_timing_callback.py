"""The Timing callback's figures reach the logs, the History and a CSVLogger."""

import keras
import numpy as np
import pandas as pd
import pytest

from callbacks import Timing


def tiny_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    return model


def test_timing_figures_in_history_and_csv(tmp_path):
    x, y = np.zeros((100, 4), np.float32), np.zeros((100, 2), np.float32)
    timing = Timing(samples_per_epoch=100)
    history = tiny_model().fit(
        x, y, batch_size=10, epochs=3, validation_data=(x, y), verbose=0,
        callbacks=[timing, keras.callbacks.CSVLogger(str(tmp_path / "h.csv"))],
    )
    logs = history.history
    for epoch in range(3):
        assert 0 < logs["train_seconds"][epoch] <= logs["epoch_seconds"][epoch]
        assert logs["images_per_second"][epoch] == pytest.approx(100 / logs["train_seconds"][epoch])
    assert timing.total_seconds >= sum(logs["epoch_seconds"])
    csv = pd.read_csv(tmp_path / "h.csv")
    np.testing.assert_allclose(csv["images_per_second"], logs["images_per_second"], rtol=1e-6)


def test_counts_batches_when_only_batch_size_is_known():
    x, y = np.zeros((95, 4), np.float32), np.zeros((95, 2), np.float32)
    history = tiny_model().fit(x, y, batch_size=10, epochs=1, verbose=0, callbacks=[Timing(batch_size=10)])
    logs = history.history
    assert logs["images_per_second"][0] == pytest.approx(100 / logs["train_seconds"][0])
    with pytest.raises(ValueError):
        Timing()
