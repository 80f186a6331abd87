"""EvaluateEachEpoch callback: a held-out split's metrics in every epoch's logs."""

from __future__ import annotations

import time
from typing import Any

import keras


class EvaluateEachEpoch(keras.callbacks.Callback):
    """Evaluates the model on a further split at the end of every epoch and adds its
    metrics to the epoch's logs as `<prefix>_<metric>` (`test_loss`, `test_accuracy`),
    with `<prefix>_seconds`, the time the evaluation took.

    Learning-curve tables record the test accuracy of every epoch this way, so that the
    test accuracy of any configuration stopped at any epoch can be looked up afterwards.
    Place it after `callbacks.Timing` (whose epoch time then leaves this evaluation out)
    and before the callbacks that should record its figures:

    ```python
    model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=40,
              callbacks=[Timing(batch_size=128), EvaluateEachEpoch((x_test, y_test)),
                         keras.callbacks.CSVLogger("history.csv")])
    ```

    Args:
        data: what `model.evaluate` takes as `x`: a dataset of `(x, y)` batches, or an
            `(x, y)` pair of arrays.
        prefix: the logs' prefix.
        batch_size: for arrays only (default Keras' 32).
    """

    def __init__(self, data: Any, prefix: str = "test", batch_size: int | None = None):
        super().__init__()
        self.data, self.prefix, self.batch_size = data, prefix, batch_size

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        started = time.perf_counter()
        if isinstance(self.data, tuple):
            figures = self.model.evaluate(*self.data, batch_size=self.batch_size, verbose=0, return_dict=True)
        else:
            figures = self.model.evaluate(self.data, verbose=0, return_dict=True)
        logs.update({f"{self.prefix}_{name}": float(value) for name, value in figures.items()})
        logs[f"{self.prefix}_seconds"] = time.perf_counter() - started
