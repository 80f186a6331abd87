"""TensorBoard event files written without TensorFlow: a small writer and an epoch-scalars callback."""

from __future__ import annotations

import os
import time

import keras
import numpy as np


class EventWriter:
    """Appends summaries to a new TensorBoard event file in `log_dir`.

    Built on the `tensorboard` package's own event-file writer (the one PyTorch's
    `SummaryWriter` uses), so it needs neither TensorFlow nor a Keras backend in
    particular. Scalars are written as TensorFlow 2's `tf.summary.scalar` writes
    them (a float32 tensor for the "scalars" plugin), so TensorBoard and its
    `EventAccumulator` read both alike.

    ```python
    with EventWriter("logs/run1/train") as writer:
        writer.scalar("epoch_loss", 0.7, step=0)
    ```
    """

    def __init__(self, log_dir: str | os.PathLike):
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self.log_dir = os.fspath(log_dir)
        self._writer = EventFileWriter(self.log_dir)

    def summary(self, summary, step: int = 0) -> None:
        """Writes a `Summary` protocol buffer (e.g. from `tensorboard.plugins.hparams.summary_v2`)."""
        from tensorboard.compat.proto import event_pb2

        self._writer.add_event(event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary))

    def scalar(self, tag: str, value: float, step: int) -> None:
        """Writes one point of the scalar time series `tag`."""
        from tensorboard.plugins.scalar.summary_v2 import scalar_pb

        self.summary(scalar_pb(tag, np.float32(value)), step)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> "EventWriter":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class EpochScalars(keras.callbacks.Callback):
    """Writes every epoch's logs to TensorBoard, on any Keras backend.

    The layout is `keras.callbacks.TensorBoard`'s (which needs TensorFlow's
    summary writer): metrics of the training data go to `log_dir/train` as
    `epoch_<name>`, `val_<name>` metrics to `log_dir/validation` as
    `epoch_<name>`, one point per epoch; the optimizer's learning rate goes to
    `train` as `epoch_learning_rate` unless the logs already carry a
    `learning_rate`. Figures other callbacks add to the logs before this one
    runs (`callbacks.Timing`'s images/s, a schedule's rate) are written too.

    ```python
    model.fit(x, y, epochs=5, validation_split=0.2,
              callbacks=[Timing(batch_size=32), EpochScalars("logs/run1")])
    ```

    Args:
        log_dir: the run's directory.
    """

    def __init__(self, log_dir: str | os.PathLike):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self._writers: dict[str, EventWriter] = {}

    def _writer(self, group: str) -> EventWriter:
        if group not in self._writers:
            self._writers[group] = EventWriter(os.path.join(self.log_dir, group))
        return self._writers[group]

    def _learning_rate(self) -> float | None:
        optimizer = getattr(self.model, "optimizer", None)
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # under a LossScaleOptimizer
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            return None
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if "learning_rate" not in logs:
            rate = self._learning_rate()
            if rate is not None:
                logs["learning_rate"] = rate
        for name, value in logs.items():
            try:
                value = float(value)
            except (TypeError, ValueError):  # not a scalar figure
                continue
            group, tag = ("validation", name[4:]) if name.startswith("val_") else ("train", name)
            self._writer(group).scalar(f"epoch_{tag}", value, epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
