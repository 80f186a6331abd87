"""Cosine-annealing learning-rate callback (Loshchilov & Hutter, SGDR, without restarts)."""

from __future__ import annotations

import math

import keras


def cosine_rate(t: float, total: float, max_rate: float, min_rate: float = 0.0, warmup: float = 0.0) -> float:
    """The closed form: linear warm-up to `max_rate` over `warmup`, then

        eta_t = eta_min + (eta_max - eta_min) * (1 + cos(pi * t' / T')) / 2

    with t' = t - warmup and T' = total - warmup. During warm-up the rate rises
    linearly, reaching `max_rate` at the first step after it.
    """
    if t < warmup:
        return max_rate * (t + 1) / warmup
    progress = (t - warmup) / max(total - warmup, 1)
    return min_rate + (max_rate - min_rate) * (1 + math.cos(math.pi * min(progress, 1.0))) / 2


class CosineAnnealing(keras.callbacks.Callback):
    """Sets the optimizer's learning rate from a cosine schedule, per epoch or per step.

    With `per="epoch"`, epoch t of T (`total_epochs`, or the `epochs` given to
    `fit`) trains at `cosine_rate(t, T, ...)`; with `per="step"`, step t of
    T = epochs * steps_per_epoch uses it, so the rate falls smoothly within
    epochs. The rate depends only on the epoch/step index, so a run resumed by
    `keras.callbacks.BackupAndRestore` continues on the same curve. The rate in
    use is added to each epoch's logs as `learning_rate` (seen by CSVLogger,
    TensorBoard and the History when placed before them).

    ```python
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=300, callbacks=[CosineAnnealing(max_rate=0.05)])
    ```

    Args:
        max_rate: eta_max, the rate at t = 0 (after warm-up).
        min_rate: eta_min, the rate the schedule anneals to.
        per: "epoch" or "step".
        warmup: epochs (or steps, with per="step") of linear warm-up.
        total_epochs: T in epochs; default: the `epochs` passed to `fit`.
    """

    def __init__(self, max_rate: float, min_rate: float = 0.0, per: str = "epoch", warmup: int = 0,
                 total_epochs: int | None = None):
        super().__init__()
        if per not in ("epoch", "step"):
            raise ValueError(f"per must be 'epoch' or 'step', got {per!r}")
        if not (max_rate > 0 and 0 <= min_rate <= max_rate):
            raise ValueError(f"need 0 <= min_rate <= max_rate and max_rate > 0, got {min_rate}, {max_rate}")
        if warmup < 0:
            raise ValueError(f"warmup must be >= 0, got {warmup}")
        self.max_rate, self.min_rate, self.per, self.warmup = max_rate, min_rate, per, warmup
        self.total_epochs = total_epochs
        self._epoch = 0

    def _total(self) -> int:
        epochs = self.total_epochs or self.params["epochs"]
        if self.per == "epoch":
            return epochs
        steps = self.params.get("steps")
        if not steps:
            raise ValueError("per='step' needs a known number of steps per epoch")
        return epochs * steps

    def _set_rate(self, t: int) -> None:
        self.model.optimizer.learning_rate = cosine_rate(t, self._total(), self.max_rate, self.min_rate, self.warmup)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if self.per == "epoch":
            self._set_rate(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        if self.per == "step":
            self._set_rate(self._epoch * self.params["steps"] + batch)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
