"""The private parts of KerasTuner and Keras that kerashp relies on, in one place.

Resumption, pruning, packing and distributed tuning need a few things neither
library exposes publicly (the oracle's retry queue, the hash of a trial's values,
the epoch `BackupAndRestore` restored, ...). Every such name is reached through
this module or listed in `CONTRACT` (methods kerashp overrides or attributes its
subclasses use), and `tests/test_compat.py` checks each against the installed
versions, failing with the symbol and the version when a release changes it.
pyproject.toml pins the ranges tested (`TESTED`).
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Any, Iterator

TESTED = {"keras_tuner": "1.4.8", "keras": "3.15.1", "tensorflow": "2.21.0"}

# (module, object path, attribute): private names kerashp's subclasses override,
# call on themselves or read (see the module docstring).
CONTRACT: tuple[tuple[str, str, str], ...] = (
    ("keras_tuner.src.distribute.oracle_client", "OracleClient", "create_trial"),
    ("keras_tuner.src.distribute.utils", "", "has_chief_oracle"),
    ("keras_tuner.src.distribute.utils", "", "is_chief_oracle"),
    ("keras_tuner.src.config", "", "DEBUG"),
    ("keras_tuner.src.distribute.oracle_client", "", "TIMEOUT"),
    ("keras_tuner.src.engine.base_tuner", "BaseTuner", "_populate_initial_space"),
    ("keras_tuner.src.engine.base_tuner", "BaseTuner", "_run_and_update_trial"),
    ("keras_tuner.src.engine.base_tuner", "BaseTuner", "_try_run_and_update_trial"),
    ("keras_tuner.src.engine.base_tuner", "BaseTuner", "_get_tuner_fname"),
    ("keras_tuner.src.engine.base_tuner", "BaseTuner", "_is_worker"),
    ("keras_tuner.src.engine.oracle", "Oracle", "_save_trial"),
    ("keras_tuner.src.engine.oracle", "Oracle", "_get_trial_dir"),
    ("keras_tuner.src.engine.oracle", "Oracle", "_get_oracle_fname"),
    ("keras_tuner.src.engine.oracle", "Oracle", "_compute_values_hash"),
    ("keras_tuner.src.engine.oracle", "Oracle", "_check_consecutive_failures"),
    ("keras.src.callbacks.backup_and_restore", "BackupAndRestore", "_save_model"),
    ("keras.src.callbacks.backup_and_restore", "BackupAndRestore", "_load_model"),
    ("keras.src.models.model", "Model", "_flatten_layers"),
    ("keras.src.optimizers.base_optimizer", "BaseOptimizer", "_get_variable_index"),
    ("tensorflow.python.framework.ops", "_gradient_registry", "_registry"),
    ("tensorflow.python.eager.context", "", "global_seed"),
    ("keras.src.backend.common.global_state", "", "set_global_attribute"),
    ("keras.src.random.seed_generator", "", "GLOBAL_SEED_GENERATOR"),
    ("keras.src.utils.rng_utils", "", "GLOBAL_RANDOM_SEED"),
)

# Attributes that exist only on instances: (how to make one, attribute).
INSTANCE_CONTRACT: tuple[tuple[str, str], ...] = (
    ("oracle", "_retry_queue"),
    ("oracle", "_tried_so_far"),
    ("oracle", "_seed_state"),
    ("oracle", "_id_to_hash"),
    ("oracle", "_project_dir"),
    ("oracle", "_run_times"),
    ("oracle", "_display"),
    ("oracle display", "trial_start"),
    ("oracle display", "trial_number"),
    ("backup", "_current_epoch"),
    ("backup", "_last_batch_seen"),
    ("backup", "_training_metadata_path"),
    ("compiled model", "_compile_config"),
    ("compiled model", "_initial_epoch"),
    ("optimizer", "_trainable_variables"),
    ("optimizer", "_var_key"),
    ("optimizer", "_variables"),
    ("optimizer", "_iterations"),
)


def resolve(module: str, path: str, attribute: str) -> Any:
    """The object `module.path.attribute`; AttributeError/ImportError where it is gone."""
    target: Any = importlib.import_module(module)
    for part in filter(None, path.split(".")):
        target = getattr(target, part)
    return getattr(target, attribute)


# ---- KerasTuner's distributed mode -----------------------------------------------


def oracle_client_class() -> type:
    """KerasTuner's worker-side link to the chief's oracle."""
    from keras_tuner.src.distribute import oracle_client

    return oracle_client.OracleClient


def is_oracle_client(oracle: Any) -> bool:
    return isinstance(oracle, oracle_client_class())


def has_chief_oracle() -> bool:
    """Whether this process takes part in KerasTuner's chief/worker mode (KERASTUNER_* variables)."""
    from keras_tuner.src.distribute import utils

    return utils.has_chief_oracle()


def is_chief_oracle() -> bool:
    from keras_tuner.src.distribute import utils

    return utils.is_chief_oracle()


def set_oracle_client_timeout(seconds: float) -> None:
    """How long a worker waits for the chief to answer (KerasTuner: 60 minutes, then a traceback)."""
    from keras_tuner.src.distribute import oracle_client

    oracle_client.TIMEOUT = seconds


def is_unanswered_call(error: BaseException) -> bool:
    """Whether `error` is a call to the chief that got no answer (gone, or never started)."""
    try:
        import grpc
    except ImportError:
        return False
    if not isinstance(error, grpc.RpcError) or not hasattr(error, "code"):
        return False
    return error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


@contextlib.contextmanager
def keras_tuner_debug(enabled: bool) -> Iterator[None]:
    """KerasTuner's DEBUG flag (it prints every failed trial's traceback) set for a block, then restored."""
    from keras_tuner.src import config

    before = config.DEBUG
    config.DEBUG = enabled
    try:
        yield
    finally:
        config.DEBUG = before


# ---- the oracle's state ----------------------------------------------------------


def retry_queue(oracle: Any) -> list:
    """Trial ids the oracle hands out again before new ones (taken from the end)."""
    return oracle._retry_queue


def set_retry_queue(oracle: Any, trial_ids: list) -> None:
    oracle._retry_queue = list(trial_ids)


def mark_tried(oracle: Any, trial: Any) -> None:
    """Records a trial's values as proposed, so the oracle never proposes them again."""
    values_hash = oracle._compute_values_hash(trial.hyperparameters.values)
    oracle._tried_so_far.add(values_hash)
    oracle._id_to_hash[trial.trial_id] = values_hash


def values_hash(oracle: Any, values: dict) -> str:
    return oracle._compute_values_hash(values)


def already_tried(oracle: Any, values: dict) -> bool:
    """Whether the oracle has proposed these values before (KerasTuner's duplicate check)."""
    return oracle._compute_values_hash(values) in oracle._tried_so_far


def next_seed(oracle: Any) -> int:
    """The oracle's seed for its next proposal, advanced as KerasTuner's random search
    advances it (kept in oracle.json, so a reloaded oracle goes on from it)."""
    seed = int(oracle._seed_state)
    oracle._seed_state = seed + 1
    return seed


def trial_dir(oracle: Any, trial_id: str) -> str:
    return oracle._get_trial_dir(trial_id)


def oracle_file(oracle: Any) -> str:
    return oracle._get_oracle_fname()


@contextlib.contextmanager
def without_trial_lists(oracle: Any, running: set[str]) -> Iterator[None]:
    """Inside, `oracle.get_state()` leaves out what grows with the number of trials
    (start and end order, values hashes, run counts, each trial's display number, the
    start time of every trial but the `running` ones), so that saving the oracle after each trial costs the same at
    trial 20,000 as at trial 100; outside, the oracle is as before."""
    names = ("start_order", "end_order", "_tried_so_far", "_id_to_hash", "_run_times")
    saved = {name: getattr(oracle, name) for name in names}
    display = oracle._display
    starts, numbers = display.trial_start, display.trial_number
    try:
        oracle.start_order, oracle.end_order = [], []
        oracle._tried_so_far, oracle._id_to_hash, oracle._run_times = set(), {}, {}
        display.trial_start = {key: starts[key] for key in running if key in starts}
        display.trial_number = {}
        yield
    finally:
        for name, value in saved.items():
            setattr(oracle, name, value)
        display.trial_start, display.trial_number = starts, numbers


class _CountedAs(dict):
    """A dict whose len() is a given number (see `new_trial_numbered`)."""

    def __init__(self, items: dict, number: int):
        super().__init__(items)
        self.number = number

    def __len__(self) -> int:
        return self.number


@contextlib.contextmanager
def new_trial_numbered(oracle: Any, number: int) -> Iterator[None]:
    """Inside, KerasTuner's `Oracle.create_trial` gives a new trial the id `number`.

    KerasTuner numbers a new trial `len(oracle.trials)` (keras_tuner/src/engine/oracle.py,
    `create_trial`): where a trial's directory was deleted, that id is another trial's,
    whose record the new trial would overwrite. The caller passes the first free number
    and checks `max_trials` against the real count itself.
    """
    trials = oracle.trials
    oracle.trials = _CountedAs(trials, number)
    try:
        yield
    finally:
        trials.update(oracle.trials)
        oracle.trials = trials


def tuner_file(tuner: Any) -> str:
    """The tuner's own state file (`tuner0.json`), which KerasTuner rewrites after each trial."""
    return tuner._get_tuner_fname()


def is_worker(tuner: Any) -> bool:
    """Whether the tuner is a worker of a distributed search (the chief keeps the oracle)."""
    return tuner._is_worker()


def run_times(oracle: Any) -> dict[str, int]:
    """How many times each trial ran (KerasTuner's count, for its retries)."""
    return oracle._run_times


def project_dir(oracle: Any) -> str:
    return oracle._project_dir


def save_trial(oracle: Any, trial: Any) -> None:
    oracle._save_trial(trial)


# ---- Keras ------------------------------------------------------------------------


def set_initial_epoch(model: Any, epoch: int | None) -> None:
    """The epoch `fit` starts at, as `BackupAndRestore` sets it after restoring (None: from its argument)."""
    model._initial_epoch = epoch


def compile_arguments(model: Any) -> dict:
    """The raw arguments `model.compile` was called with."""
    return model._compile_config.config


def optimizer_variables_of(optimizer: Any) -> list:
    """The trainable variables an optimizer was built for."""
    return optimizer._trainable_variables


def flatten_layers(model: Any, include_self: bool = False):
    """Every layer of a model, nested ones included."""
    return model._flatten_layers(include_self=include_self)


def optimizer_variable_index(optimizer: Any, variable: Any) -> int:
    """The position of a model variable among those an optimizer was built for
    (the index of its slot variables, as Keras' own optimizers look them up)."""
    return optimizer._get_variable_index(variable)


# ---- TensorFlow ---------------------------------------------------------------------

_TF_OPS = "tensorflow.python.framework.ops"


def custom_gradient_names() -> frozenset:
    """The names under which TensorFlow's global gradient registry holds the gradient
    functions of traced `tf.custom_gradient`s ("CustomGradient-N"); empty when
    TensorFlow is not loaded."""
    import sys

    ops = sys.modules.get(_TF_OPS)
    if ops is None:
        return frozenset()
    return frozenset(name for name in ops._gradient_registry._registry if name.startswith("CustomGradient-"))


def forget_custom_gradients(keep: frozenset) -> int:
    """Removes the custom gradients registered since `keep` was taken; returns how many.

    Each trace of a `tf.custom_gradient` in graph mode registers its gradient function
    in a process-wide registry and never removes it, and that function holds the traced
    graph with its captured tensors. Keras' TensorFlow optimizer all-reduces the
    gradients through one (`ReplicaContext.all_reduce`), so every compiled train step
    left ~14 MiB behind for a 1024-256 MLP (more for larger models): memory grew with the
    number of trials. A registration is needed only while its graph is traced and
    differentiated, so once a trial's models are released, the ones made since are dropped.
    """
    import sys

    ops = sys.modules.get(_TF_OPS)
    if ops is None:
        return 0
    registry = ops._gradient_registry._registry
    gone = [name for name in list(registry) if name.startswith("CustomGradient-") and name not in keep]
    for name in gone:
        registry.pop(name, None)
    return len(gone)


def set_random_seed(seed: int, *, tensorflow_seed: bool = True) -> None:
    """`keras.utils.set_random_seed(seed)`, but TensorFlow's global seed is set only
    where it differs (`tensorflow_seed=False`: never, for a reused model whose runs
    change seeds).

    Setting TensorFlow's global seed clears the eager context's caches, so the next
    call of an already traced train step instantiates and optimises its graph again:
    5-10 s for MobileNetV2 on 2 CPU cores, paid by every trial that reuses the
    compiled model of the previous one (`Study.architecture_key`). Keras 3 draws all
    its randomness statelessly from seed-generator variables, so nothing a cleared
    cache would reset is in those graphs; Python's, NumPy's and Keras' global seeds
    are set as Keras sets them.
    """
    import random
    import sys

    import keras
    import numpy as np

    context = sys.modules.get("tensorflow.python.eager.context")
    if context is None or (tensorflow_seed and context.global_seed() != seed):
        keras.utils.set_random_seed(seed)
        return
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils import rng_utils

    global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)
