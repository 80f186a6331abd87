"""Gradient-norm logging: the L2 norm of the gradients a training step applies."""

from __future__ import annotations

import contextlib
import csv
import pathlib
import re

import keras

from callbacks.tensorboard_events import EventWriter
from kerashp import compat


class GradientNorm(keras.callbacks.Callback):
    """Records ||g||_2 of the gradient applied to chosen variables, every N steps.

    The norm is the one of the gradient that `fit`'s own train step passes to the
    optimizer (after loss scaling is undone, before clipping), on the training
    batch itself, not a separate probe batch: the callback wraps the optimizer's
    `apply` so that each step also stores the norms in optimizer variables,
    which it reads every `every_n_steps` steps. Those variables are part of the
    optimizer's state from then on (its checkpoints included).

    Norms go to a CSV (`step`, `epoch`, `variable`, `norm`), to TensorBoard
    scalars `gradient_norm/<variable path>` when `log_dir` is given, and to the
    `norms` attribute as a list of (step, variable path, norm).

    ```python
    norms = GradientNorm(r"block_8_depthwise/kernel", every_n_steps=50,
                         csv_path="grad_norms.csv", log_dir="logs/run1")
    model.fit(train, epochs=10, callbacks=[norms])
    ```

    Works on the TensorFlow and JAX backends; TensorBoard scalars are written
    with `callbacks.EventWriter` (no TensorFlow needed).

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
        optimizer = model.optimizer
        if optimizer is None:
            raise ValueError("compile the model before fitting with GradientNorm")
        if not self._slots:
            chosen = [v for v in model.trainable_variables if self.pattern is None or self.pattern.search(v.path)]
            if not chosen:
                raise ValueError(f"no trainable variable matches {self.pattern.pattern!r}")
            # The update (the loss scale already undone) happens in the inner optimizer's `apply`,
            # which every backend's train step calls (TensorFlow through `apply_gradients`, JAX
            # through `stateless_apply`). The norms live in optimizer variables, the state a
            # stateless (JAX) train step hands back.
            inner = getattr(optimizer, "inner_optimizer", optimizer)
            strategy = getattr(model, "distribute_strategy", None)  # TensorFlow only
            with strategy.scope() if strategy is not None else contextlib.nullcontext():
                for variable in chosen:
                    self._slots[variable.path] = inner.add_variable((), name="gradient_norm",
                                                                    aggregation="only_first_replica")
            replicas = getattr(strategy, "num_replicas_in_sync", 1)
            self._wrap(inner, replicas)
            model.train_function = None  # retrace with the wrapped optimizer

    def _wrap(self, optimizer, replicas: int) -> None:
        original = optimizer.apply
        slots = self._slots

        def apply(grads, trainable_variables=None):
            grads = list(grads)
            variables = compat.optimizer_variables_of(optimizer) if trainable_variables is None else trainable_variables
            for gradient, variable in zip(grads, variables):
                if variable.path in slots and gradient is not None:
                    if replicas > 1:
                        # Under tf.distribute each replica holds its share (loss scaled by
                        # 1/replicas); the optimizer applies their sum.
                        import tensorflow as tf

                        gradient = tf.distribute.get_replica_context().all_reduce("sum", gradient)
                    slots[variable.path].assign(keras.ops.sqrt(keras.ops.sum(keras.ops.square(gradient))))
            return original(grads, trainable_variables)

        optimizer.apply = apply

    def _read_norms(self) -> dict[str, float]:
        sync = getattr(self.model, "jax_state_sync", None)  # JAX's fit holds the state outside the variables
        if sync is not None:
            sync()
        return {path: float(keras.ops.convert_to_numpy(slot)) for path, slot in self._slots.items()}

    def on_train_begin(self, logs=None):
        if self.log_dir:
            self._writer = EventWriter(self.log_dir)
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
            rows = [(self._step, path, norm) for path, norm in self._read_norms().items()]
            self.norms.extend(rows)
            if self.csv_path:
                with open(self.csv_path, "a", newline="") as handle:
                    csv.writer(handle).writerows((step, self._epoch + 1, path, norm) for step, path, norm in rows)
            if self._writer is not None:
                for step, path, norm in rows:
                    self._writer.scalar(f"gradient_norm/{path}", norm, step)
        self._step += 1

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
