"""Step-decay learning-rate callback: the rate falls by a factor every N epochs."""

from __future__ import annotations

import keras


def step_decay_rate(epoch: int, initial_rate: float, factor: float = 0.1, every: int = 10) -> float:
    """`initial_rate * factor ** (epoch // every)` for a 0-based `epoch`."""
    return initial_rate * factor ** (epoch // every)


class StepDecay(keras.callbacks.Callback):
    """Sets the optimizer's learning rate to `step_decay_rate(epoch, ...)` at each epoch.

    The rate depends only on the epoch index, so a run resumed by
    `keras.callbacks.BackupAndRestore` continues on the same schedule; the rate
    in use is added to each epoch's logs as `learning_rate`.

    ```python
    model.fit(x, y, epochs=30, callbacks=[StepDecay(0.01, factor=0.1, every=10)])  # 0.01, 0.001, 0.0001
    ```
    """

    def __init__(self, initial_rate: float, factor: float = 0.1, every: int = 10):
        super().__init__()
        if initial_rate <= 0 or not 0 < factor <= 1 or every <= 0:
            raise ValueError(f"need initial_rate > 0, 0 < factor <= 1, every > 0; got {initial_rate}, {factor}, {every}")
        self.initial_rate, self.factor, self.every = initial_rate, factor, every

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.learning_rate = step_decay_rate(epoch, self.initial_rate, self.factor, self.every)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
