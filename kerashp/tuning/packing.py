"""Packed trials: K configurations of one architecture trained in one compiled step.

Small models (MobileNetV2 at 32x32, batch 64) leave an accelerator mostly idle,
and each trial pays for tracing its own train step. `pack_models` joins K
independently built and compiled models into one functional Keras model with K
outputs, fed the same batches:

- the loss is the sum of the K replicas' losses; their weights are disjoint, so
  the gradient of the sum with respect to replica k's weights is the gradient of
  replica k's own loss, exactly as if it trained alone;
- `PackedOptimizer` hands each replica's gradients to that replica's own
  optimizer (its own type, hyperparameters, state and iteration count);
- each replica keeps its own metrics (Keras names them `replica_<k>_<metric>`),
  and `replica_logs` turns the packed logs back into one replica's logs, so each
  trial gets the same history, TensorBoard run and table row as when trained alone.

Everything stays inside Keras' own `fit`, on every backend (the optimizer works
both through `apply` and through the stateless path of JAX's trainer).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import keras

from kerashp import compat

REPLICA_PREFIX = "replica_"


def replica_name(index: int) -> str:
    """The name of replica `index` in a packed model (and the prefix of its logs)."""
    return f"{REPLICA_PREFIX}{index}"


class PackedOptimizer(keras.optimizers.Optimizer):
    """Routes each replica's variables to that replica's own optimizer.

    Args:
        optimizers: one optimizer per replica.
        variable_groups: the trainable variables of each replica, in the same order.
    """

    def __init__(self, optimizers: Sequence[keras.optimizers.Optimizer],
                 variable_groups: Sequence[Sequence[keras.Variable]], name: str = "packed_optimizer"):
        super().__init__(learning_rate=0.0, name=name)
        if len(optimizers) != len(variable_groups):
            raise ValueError(f"{len(optimizers)} optimizers for {len(variable_groups)} variable groups")
        self.optimizers = list(optimizers)
        # Keys, not the variables: a list of variables set here would be tracked as this optimizer's own.
        self._replica_of = {
            self._var_key(variable): index
            for index, group in enumerate(variable_groups)
            for variable in group
        }

    def build(self, variables):
        unknown = [variable.path for variable in variables if self._var_key(variable) not in self._replica_of]
        if unknown:
            raise ValueError(f"variables that belong to no replica: {unknown[:3]}")
        for optimizer, own in zip(self.optimizers, self._split(variables)):
            if not optimizer.built:
                with keras.name_scope(optimizer.name, caller=optimizer):
                    optimizer.build(own)
        super().build(variables)

    def _split(self, items, variables=None) -> list[list]:
        """`items` (one per variable of `variables`) grouped by replica."""
        variables = items if variables is None else variables
        groups: list[list] = [[] for _ in self.optimizers]
        for item, variable in zip(items, variables):
            groups[self._replica_of[self._var_key(variable)]].append(item)
        return groups

    @property
    def variables(self):
        own = self._variables[:]
        for optimizer in self.optimizers:
            own.extend(optimizer.variables)
        return own

    def apply(self, grads, trainable_variables=None):
        if trainable_variables is None:
            trainable_variables = self._trainable_variables
        else:
            trainable_variables = list(trainable_variables)
            if not self.built:
                self.build(trainable_variables)
        grads = list(grads)
        for optimizer, own_grads, own_variables in zip(
            self.optimizers, self._split(grads, trainable_variables), self._split(trainable_variables)
        ):
            if own_variables:
                optimizer.apply(own_grads, own_variables)
        self._iterations.assign_add(1)

    def save_own_variables(self, store):
        # Only its own counter and rate: each replica's optimizer saves its own state.
        for index, variable in enumerate(self._variables):
            store[str(index)] = keras.ops.convert_to_numpy(variable)

    def load_own_variables(self, store):
        for index, variable in enumerate(self._variables):
            if str(index) in store:
                variable.assign(store[str(index)])

    def get_config(self):
        raise NotImplementedError("a PackedOptimizer is rebuilt from its replicas, not from a config")


LOSS_METRIC = "kerashp_loss"  # a replica's loss as its model alone logs it (see ReplicaLoss)


class ReplicaLoss(keras.metrics.Metric):
    """A replica's loss as Keras logs a model's own loss: each batch's loss weighted by the
    batch's size. Keras' per-output losses of a multi-output model are means of batch means,
    which differ where the last batch is partial; `replica_logs` reports this one as `loss`.

    Args:
        loss: the replica's compiled loss (a name, a function or a `keras.losses.Loss`).
    """

    def __init__(self, loss, name: str = LOSS_METRIC, **kwargs):
        super().__init__(name=name, **kwargs)
        self.loss = keras.losses.get(loss) if isinstance(loss, str) else loss
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        size = keras.ops.cast(keras.ops.shape(y_pred)[0], self.dtype)
        # a Loss reduces itself; a function's per-sample values are averaged, as compile() does
        value = keras.ops.mean(keras.ops.cast(self.loss(y_true, y_pred), self.dtype))
        self.total.assign_add(value * size)
        self.count.assign_add(size)

    def result(self):
        return keras.ops.divide_no_nan(self.total, self.count)

    def get_config(self):
        return {**super().get_config(), "loss": keras.losses.serialize(self.loss)}


def fresh_metric(metric):
    """An unused copy of a compiled metric (metric objects keep state; names and functions do not)."""
    if isinstance(metric, keras.metrics.Metric):
        return type(metric).from_config(metric.get_config())
    return metric


def compiled_arguments(model: keras.Model) -> dict[str, Any]:
    """The optimizer, loss and metrics a model was compiled with (the objects themselves,
    not their serialized form, which custom losses may not survive)."""
    if not model.compiled:
        raise ValueError(f"model {model.name!r} is not compiled")
    config = compat.compile_arguments(model)  # the raw compile() arguments
    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)  # under a LossScaleOptimizer
    metrics = config.get("metrics")
    if isinstance(metrics, Mapping) or (metrics and isinstance(metrics[0], (list, tuple, Mapping))):
        raise ValueError("packing needs single-output models with a flat list of metrics")
    return {"optimizer": optimizer, "loss": config.get("loss"), "metrics": list(metrics or [])}


def pack_models(models: Sequence[keras.Model], *, jit_compile="auto", steps_per_execution: int = 1) -> keras.Model:
    """One compiled Keras model that trains `models` side by side.

    Each model must be a compiled single-input, single-output Keras model
    without regularization losses of its own (`model.losses`), since Keras
    reports per-output losses without them. The models should be built from
    the same architecture for the packing to pay (one trace, one step), but
    any models with the same input shape work. Build it under the dtype policy
    and distribution scope the models were built under.

    The models are renamed `replica_0` ... `replica_<K-1>` and become the
    packed model's layers (`replicas(packed)` returns them): training the
    packed model trains them, and each stays compiled as it was, so it can be
    evaluated or saved on its own.

    Returns:
        A model whose outputs are the models' outputs, in order, named after
        the replicas; its inputs are those of one model, its targets K copies
        of one model's targets (see `repeat_targets`).
    """
    if len(models) < 2:
        raise ValueError(f"packing needs at least 2 models, got {len(models)}")
    shapes = {tuple(model.inputs[0].shape[1:]) for model in models}
    if any(len(model.inputs) != 1 or len(model.outputs) != 1 for model in models) or len(shapes) != 1:
        raise ValueError("packing needs single-input, single-output models with one input shape")
    if any(model.losses for model in models):
        raise ValueError("packing needs models without regularization losses (model.losses)")
    arguments = [compiled_arguments(model) for model in models]
    for index, model in enumerate(models):
        model.name = replica_name(index)  # names the packed model's outputs, hence its logs
    inputs = keras.Input(shape=models[0].inputs[0].shape[1:], dtype=models[0].inputs[0].dtype, name="images")
    packed = keras.Model(inputs, [model(inputs) for model in models], name="packed")
    optimizer = PackedOptimizer(
        [compiled["optimizer"] for compiled in arguments],
        [model.trainable_variables for model in models],
    )
    packed.compile(
        optimizer=optimizer,
        loss=[compiled["loss"] for compiled in arguments],
        metrics=[[*(fresh_metric(metric) for metric in compiled["metrics"]), ReplicaLoss(compiled["loss"])]
                 for compiled in arguments],
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    return packed


def replicas(packed: keras.Model) -> list[keras.Model]:
    """The models a packed model trains, in order."""
    return [packed.get_layer(replica_name(index)) for index in range(len(packed.outputs))]


def repeat_targets(dataset, count: int):
    """A pipeline of `(x, y)` batches (tf.data, or `kerashp.data.pipeline.ArrayBatches`)
    as `(x, (y,) * count)`, the targets of a packed model."""
    if hasattr(dataset, "with_repeated_targets"):
        return dataset.with_repeated_targets(count)
    return dataset.map(lambda features, targets: (features, (targets,) * count))


def replica_logs(logs: Mapping[str, Any] | None, index: int) -> dict[str, Any]:
    """Replica `index`'s share of a packed model's logs, named as if it trained alone.

    `replica_<k>_accuracy` -> `accuracy`, `val_replica_<k>_loss` -> `val_loss`;
    other replicas' entries and the packed sums (`loss`, `val_loss`) are dropped;
    shared entries (timing, ...) are kept. The replica's `ReplicaLoss` is its `loss`
    (Keras' own per-output loss is a mean of batch means).
    """
    own = f"{replica_name(index)}_"
    result: dict[str, Any] = {}
    weighted: dict[str, Any] = {}
    for key, value in (logs or {}).items():
        prefix = "val_" if key.startswith(f"val_{REPLICA_PREFIX}") else ""
        name = key[len(prefix):]
        if name.startswith(REPLICA_PREFIX):
            if name == own + LOSS_METRIC:
                weighted[prefix + "loss"] = value
            elif name.startswith(own):
                result[prefix + name[len(own):]] = value
        elif key not in ("loss", "val_loss"):
            result[key] = value
    result.update(weighted)
    return result


class ReplicaCallbacks(keras.callbacks.Callback):
    """Runs each replica's own callbacks (CSV history, TensorBoard, schedules, ...)
    with that replica as their model and its share of the packed logs.

    Epoch, train-batch-begin and test events are passed on (enough for per-epoch
    and per-step learning-rate schedules, `CSVLogger` and `TensorBoard`). A
    replica whose loss became NaN or infinite is recorded in `diverged`
    and keeps training harmlessly (its gradients reach only its own weights);
    when every replica has diverged, training stops.

    Args:
        models: the packed model's replicas (`replicas(packed)`).
        callbacks: one list of callbacks per replica.
    """

    def __init__(self, models: Sequence[keras.Model], callbacks: Sequence[Sequence[keras.callbacks.Callback]]):
        super().__init__()
        self._lists = [
            keras.callbacks.CallbackList(list(own), add_history=False, add_progbar=False, model=model)
            for model, own in zip(models, callbacks)
        ]
        self.diverged: set[int] = set()

    def set_params(self, params):
        super().set_params(params)
        for callback_list in self._lists:
            callback_list.set_params(params)

    def on_train_begin(self, logs=None):
        for callback_list in self._lists:
            callback_list.on_train_begin()

    def on_epoch_begin(self, epoch, logs=None):
        for callback_list in self._lists:
            callback_list.on_epoch_begin(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        for callback_list in self._lists:
            callback_list.on_train_batch_begin(batch)

    def on_test_begin(self, logs=None):
        for callback_list in self._lists:
            callback_list.on_test_begin()

    def on_test_end(self, logs=None):
        for index, callback_list in enumerate(self._lists):
            callback_list.on_test_end(replica_logs(logs, index))

    def on_epoch_end(self, epoch, logs=None):
        for index, callback_list in enumerate(self._lists):
            own = replica_logs(logs, index)
            callback_list.on_epoch_end(epoch, own)
            loss = own.get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                self.diverged.add(index)
        if len(self.diverged) == len(self._lists):
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        for index, callback_list in enumerate(self._lists):
            callback_list.on_train_end(replica_logs(logs, index))
