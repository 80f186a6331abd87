"""Timing callback: seconds per epoch and training throughput."""

from __future__ import annotations

import time

import keras


class Timing(keras.callbacks.Callback):
    """Measures each epoch and adds the figures to the epoch's logs.

    Added to `logs` at the end of every epoch, so that callbacks after this one
    (`keras.callbacks.CSVLogger`, `keras.callbacks.TensorBoard`, the `History`)
    record them like any metric:

    - `epoch_seconds`: wall time of the whole epoch, validation included;
    - `train_seconds`: wall time of the training steps only;
    - `images_per_second`: training examples per second of `train_seconds`.

    `total_seconds` (attribute) is the wall time of the whole `fit` call.

    Place it before the callbacks that should see its figures:

    ```python
    timing = Timing(samples_per_epoch=len(x_train))
    model.fit(x_train, y_train, epochs=3,
              callbacks=[timing, keras.callbacks.CSVLogger("history.csv")])
    print(timing.total_seconds)
    ```

    Args:
        samples_per_epoch: number of training examples in one epoch. When
            None, it is computed from the batches seen (`batch_size` needed).
        batch_size: examples per batch, used only when `samples_per_epoch` is None.
    """

    def __init__(self, samples_per_epoch: int | None = None, batch_size: int | None = None):
        super().__init__()
        if samples_per_epoch is None and batch_size is None:
            raise ValueError("pass samples_per_epoch or batch_size")
        self.samples_per_epoch = samples_per_epoch
        self.batch_size = batch_size
        self.total_seconds = 0.0
        self._fit_start = 0.0
        self._epoch_start = 0.0
        self._train_end: float | None = None
        self._batches = 0

    def on_train_begin(self, logs=None):
        self._fit_start = time.perf_counter()

    def on_train_end(self, logs=None):
        self.total_seconds = time.perf_counter() - self._fit_start

    def on_epoch_begin(self, epoch, logs=None):
        self._batches = 0
        self._train_end = None
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._batches = batch + 1

    def on_test_begin(self, logs=None):
        # `fit` runs validation inside the epoch, after the training steps.
        if self._train_end is None:
            self._train_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        end = time.perf_counter()
        train_seconds = (self._train_end or end) - self._epoch_start
        samples = self.samples_per_epoch or self._batches * self.batch_size
        if logs is not None:
            logs["epoch_seconds"] = end - self._epoch_start
            logs["train_seconds"] = train_seconds
            logs["images_per_second"] = samples / train_seconds if train_seconds > 0 else float("nan")
