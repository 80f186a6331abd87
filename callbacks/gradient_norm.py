"""Gradient-norm logging: the L2 norm of the gradients a training step applies."""

from __future__ import annotations

import csv
import pathlib
import re

import keras


class GradientNorm(keras.callbacks.Callback):
    """Records ||g||_2 of the gradient applied to chosen variables, every N steps.

    The norm is the one of the gradient that `fit`'s own train step passes to the
    optimizer (after loss scaling is undone by the optimizer, before clipping),
    on the training batch itself, not a separate probe batch: the callback wraps
    the optimizer's `apply_gradients` so that each step also stores the norms in
    non-trainable variables, which it reads every `every_n_steps` steps.

    Norms go to a CSV (`step`, `epoch`, `variable`, `norm`), to TensorBoard
    scalars `gradient_norm/<variable path>` when `log_dir` is given, and to the
    `norms` attribute as a list of (step, variable path, norm).

    ```python
    norms = GradientNorm(r"block_8_depthwise/kernel", every_n_steps=50,
                         csv_path="grad_norms.csv", log_dir="logs/run1")
    model.fit(train, epochs=10, callbacks=[norms])
    ```

    Works with the TensorFlow backend (the train step calls `apply_gradients`).

    Args:
        variables: a regular expression matched (`re.search`) against each
            trainable variable's path (e.g. "dense/kernel"); None: all of them.
        every_n_steps: record every N-th training step (steps count from 0).
        csv_path: CSV file to append to.
        log_dir: TensorBoard run directory for the scalars.
    """

    def __init__(self, variables: str | None = None, every_n_steps: int = 1,
                 csv_path: str | None = None, log_dir: str | None = None):
        super().__init__()
        if every_n_steps <= 0:
            raise ValueError(f"every_n_steps must be positive, got {every_n_steps}")
        self.pattern = re.compile(variables) if variables else None
        self.every_n_steps = every_n_steps
        self.csv_path = pathlib.Path(csv_path) if csv_path else None
        self.log_dir = log_dir
        self.norms: list[tuple[int, str, float]] = []
        self._slots: dict[str, keras.Variable] = {}
        self._step = 0
        self._epoch = 0
        self._writer = None

    def set_model(self, model):
        super().set_model(model)
        if keras.backend.backend() != "tensorflow":
            raise NotImplementedError("GradientNorm needs the TensorFlow backend")
        optimizer = model.optimizer
        if optimizer is None:
            raise ValueError("compile the model before fitting with GradientNorm")
        if not self._slots:
            chosen = [v for v in model.trainable_variables if self.pattern is None or self.pattern.search(v.path)]
            if not chosen:
                raise ValueError(f"no trainable variable matches {self.pattern.pattern!r}")
            for variable in chosen:
                self._slots[variable.path] = keras.Variable(0.0, trainable=False, name="gradient_norm")
            self._wrap(optimizer)
            model.train_function = None  # retrace with the wrapped optimizer

    def _wrap(self, optimizer) -> None:
        original = optimizer.apply_gradients
        slots = self._slots

        def apply_gradients(grads_and_vars):
            grads_and_vars = list(grads_and_vars)
            for gradient, variable in grads_and_vars:
                if variable.path in slots and gradient is not None:
                    slots[variable.path].assign(keras.ops.sqrt(keras.ops.sum(keras.ops.square(gradient))))
            return original(grads_and_vars)

        optimizer.apply_gradients = apply_gradients

    def on_train_begin(self, logs=None):
        if self.log_dir:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(self.log_dir)
        if self.csv_path and not self.csv_path.exists():
            self.csv_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.csv_path, "w", newline="") as handle:
                csv.writer(handle).writerow(["step", "epoch", "variable", "norm"])
        self._step = self._epoch * (self.params.get("steps") or 0)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if self.params.get("steps"):
            self._step = epoch * self.params["steps"]

    def on_train_batch_end(self, batch, logs=None):
        if self._step % self.every_n_steps == 0:
            rows = [(self._step, path, float(keras.ops.convert_to_numpy(slot))) for path, slot in self._slots.items()]
            self.norms.extend(rows)
            if self.csv_path:
                with open(self.csv_path, "a", newline="") as handle:
                    csv.writer(handle).writerows((step, self._epoch + 1, path, norm) for step, path, norm in rows)
            if self._writer is not None:
                import tensorflow as tf

                with self._writer.as_default(step=self._step):
                    for _, path, norm in rows:
                        tf.summary.scalar(f"gradient_norm/{path}", norm)
        self._step += 1

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()
