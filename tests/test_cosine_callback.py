"""CosineAnnealing applies the closed-form rates, per epoch and per step."""

import math

import keras
import numpy as np
import pytest

from callbacks.cosine import CosineAnnealing, cosine_rate


class RateProbe(keras.callbacks.Callback):
    """Records the optimizer's rate at the start of every training batch."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        # Runs after CosineAnnealing's hook (it is later in the list): the rate the step uses.
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


def fit(callback, epochs=5, samples=40, batch_size=10):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(1.0), "mse")
    probe = RateProbe()
    x, y = np.zeros((samples, 3), np.float32), np.zeros((samples, 1), np.float32)
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[callback, probe])
    return probe.rates, history.history


def test_closed_form_end_points():
    assert cosine_rate(0, 10, 0.1) == pytest.approx(0.1)
    assert cosine_rate(5, 10, 0.1) == pytest.approx(0.05)
    assert cosine_rate(10, 10, 0.1, 0.01) == pytest.approx(0.01)
    assert [cosine_rate(t, 10, 1.0, warmup=2) for t in (0, 1, 2)] == pytest.approx([0.5, 1.0, 1.0])


def test_per_epoch_rates_match_the_closed_form():
    rates, history = fit(CosineAnnealing(0.1, min_rate=0.001), epochs=5)
    expected = [0.001 + 0.099 * (1 + math.cos(math.pi * t / 5)) / 2 for t in range(5)]
    assert rates == pytest.approx(np.repeat(expected, 4).tolist(), rel=1e-6)
    assert history["learning_rate"] == pytest.approx(expected, rel=1e-6)


def test_per_step_rates_with_warmup_match_the_closed_form():
    rates, _ = fit(CosineAnnealing(0.2, per="step", warmup=3), epochs=3)
    total = 3 * 4
    expected = [0.2 * (t + 1) / 3 if t < 3 else 0.2 * (1 + math.cos(math.pi * (t - 3) / (total - 3))) / 2
                for t in range(total)]
    assert rates == pytest.approx(expected, rel=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError):
        CosineAnnealing(0.1, per="batch")
    with pytest.raises(ValueError):
        CosineAnnealing(0.1, min_rate=0.2)
