"""StepDecay sets the rate the closed form gives, epoch by epoch."""

import keras
import numpy as np
import pandas as pd

from callbacks import StepDecay, step_decay_rate


def test_step_decay_rates_applied_match_the_closed_form(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(1.0), "mse")
    x, y = np.ones((8, 3), np.float32), np.ones((8, 1), np.float32)
    model.fit(x, y, epochs=5, verbose=0, callbacks=[
        StepDecay(0.1, factor=0.5, every=2), keras.callbacks.CSVLogger(str(tmp_path / "log.csv"))])
    logged = pd.read_csv(tmp_path / "log.csv")["learning_rate"]
    np.testing.assert_allclose(logged, [0.1, 0.1, 0.05, 0.05, 0.025], rtol=1e-6)
    assert step_decay_rate(29, 0.01) == 0.01 * 0.1 ** 2
