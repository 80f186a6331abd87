"""KerasTuner's tuners with kerashp underneath: change one import, keep the script.

    tuner = kerashp.RandomSearch(build_model, objective="val_accuracy", max_trials=10,
                                 executions_per_trial=2, directory="runs", project_name="mnist")
    tuner.search(x_train, y_train, epochs=5, validation_data=(x_val, y_val))
    best_model = tuner.get_best_models(num_models=1)[0]

`RandomSearch`, `GridSearch`, `BayesianOptimization` and `Hyperband` take KerasTuner's
constructor arguments and offer its methods; the hypermodel (a function of `hp` or a
`keras_tuner.HyperModel`, with its `fit` if overridden), `keras_tuner.HyperParameters`,
`keras_tuner.Objective` and `keras_tuner.errors.FailedTrialError` stay KerasTuner's. Each
search is a kerashp study (`HyperModelStudy`) in `directory/project_name`: a killed search
rerun with `overwrite=False` resumes at the epoch in flight, `executions_per_trial` runs
are seeds `seed`, `seed + 1`, ... with kerashp's statistics across them, and the directory
holds results.md, results.csv, the figures and TensorBoard's HParams (`kerashp status`,
`kerashp.load_results` read it). A tuner whose `run_trial` is overridden has it called for
each run, with the search's arguments and kerashp's recording callbacks in `callbacks=`.
"""

from __future__ import annotations

import copy
import inspect
import math
import pathlib
import re
import sys
import warnings
from typing import Any, ClassVar

import keras
import keras_tuner
import numpy as np

from kerashp.data.splits import DataSplits, Split
from kerashp.errors import StudyError
from kerashp.study import Study

# keras.Model.fit's arguments a search takes, and those it cannot honour with kerashp's pipeline.
UNSUPPORTED_FIT_ARGUMENTS = ("sample_weight", "initial_epoch", "steps_per_epoch", "validation_steps",
                             "validation_batch_size", "validation_freq")
KERAS_TUNER_ONLY = ("distribution_strategy", "max_model_size", "max_retries_per_trial", "tune_new_entries",
                    "allow_new_entries", "logger", "tuner_id", "max_epochs", "factor", "hyperband_iterations",
                    "num_initial_points", "alpha", "beta")


class _FunctionHyperModel(keras_tuner.HyperModel):
    """A model-building function as a HyperModel (KerasTuner wraps it the same way)."""

    def __init__(self, build):
        super().__init__()
        self._build = build

    def build(self, hp):
        return self._build(hp)


def discover_space(hypermodel: keras_tuner.HyperModel,
                   fixed: keras_tuner.HyperParameters | None = None) -> keras_tuner.HyperParameters:
    """The search space a hypermodel declares: its `declare_hyperparameters`, then what its
    `build` declares, built again until every conditional scope was active once (as
    KerasTuner finds them) and with each other value of every Boolean and Choice, so that
    a hyperparameter declared under a plain `if hp.Boolean(...)` is searched from the first
    trial (KerasTuner adds it to the space when a trial first declares it)."""
    space = keras_tuner.HyperParameters()
    if fixed is not None:
        space.merge(fixed)
    hypermodel.declare_hyperparameters(space)
    seen_active: list = []
    tried: set[tuple[str, str]] = set()
    changes: list[dict[str, Any]] = [{}]
    while changes:
        change = changes.pop(0)
        hp = space.copy()
        hp.values = {**space.values, **change}
        hp.ensure_active_values()
        try:
            hypermodel.build(hp)
        except keras_tuner.errors.FailedTrialError:
            continue  # a configuration the hypermodel refuses: what it declared before refusing is kept
        finally:
            keras.backend.clear_session()
        space.merge(hp, overwrite=False)  # the hyperparameters declared for the first time
        seen_active.extend(copy.deepcopy(scope) for scope in hp.active_scopes if scope not in seen_active)
        pending = pending_condition(seen_active, hp.inactive_scopes)
        if pending:
            changes.append(dict(pending))
        for declared in space.space:
            for value in alternative_values(declared):
                if (declared.name, repr(value)) not in tried:
                    tried.add((declared.name, repr(value)))
                    changes.append({declared.name: value})
    return space


def alternative_values(hp) -> list[Any]:
    """A Boolean's or Choice's values other than its default (none for ranges)."""
    kinds = keras_tuner.engine.hyperparameters
    if isinstance(hp, kinds.Boolean):
        return [not hp.default]
    if isinstance(hp, kinds.Choice):
        return [value for value in hp.values if value != hp.default]
    return []


def pending_condition(seen_active: list, inactive: list) -> list[tuple[str, Any]]:
    """(name, value) pairs that activate the first conditional scope never active yet."""
    for scope in inactive:
        if scope not in seen_active:
            return [(condition.name, condition.values[0]) for condition in scope]
    return []


def make_objective(objective) -> keras_tuner.Objective:
    """KerasTuner's objective of a name (direction inferred as KerasTuner infers it) or an Objective."""
    from keras_tuner.engine import metrics_tracking

    if objective is None:
        objective = "val_loss"
    if isinstance(objective, keras_tuner.Objective):
        return objective
    if not isinstance(objective, str):
        raise ValueError(f"kerashp's tuners rank trials by one objective (a name or a keras_tuner.Objective), "
                         f"got {objective!r}")
    direction = metrics_tracking.infer_metric_direction(objective)
    if direction is None:
        raise ValueError(f"cannot tell whether {objective!r} is better high or low: pass "
                         f"keras_tuner.Objective({objective!r}, direction=\"min\") or \"max\"")
    return keras_tuner.Objective(objective, direction)


def _materialize(dataset, what: str) -> tuple[np.ndarray, np.ndarray, int | None]:
    """A tf.data.Dataset of (x, y) batches (or of single examples) as arrays, and its batch
    size (None for single examples)."""
    spec = dataset.element_spec
    if not isinstance(spec, tuple) or len(spec) < 2 or isinstance(spec[0], (dict, tuple)) \
            or isinstance(spec[1], (dict, tuple)):
        raise StudyError(f"{what}: kerashp's tuners take a dataset of (x, y) pairs, one input and one target")
    if len(spec) > 2:
        raise StudyError(f"{what}: sample weights are not supported")
    batched = spec[0].shape.rank is not None and spec[0].shape.rank > 0 and spec[0].shape[0] is None
    features, labels = [], []
    for x, y in dataset.as_numpy_iterator():
        features.append(np.asarray(x))
        labels.append(np.asarray(y))
    if not features:
        raise StudyError(f"{what}: the dataset is empty")
    if batched:
        return np.concatenate(features), np.concatenate(labels), len(features[0])
    return np.stack(features), np.stack(labels), None


def _is_dataset(value: Any) -> bool:
    """Whether `value` is a tf.data.Dataset (TensorFlow is not imported for it: a dataset
    passed in means it is loaded already; under JAX without TensorFlow there is none)."""
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(value, tf.data.Dataset)


def _arrays(x, y, what: str) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(x, (dict, list, tuple)) or isinstance(y, (dict, list, tuple)):
        raise StudyError(f"{what}: kerashp's tuners take one input array and one target array "
                         "(not lists or dicts of them)")
    if y is None:
        raise StudyError(f"{what}: no targets (y) given")
    features, labels = np.asarray(x), np.asarray(y)
    if len(features) != len(labels):
        raise StudyError(f"{what}: {len(features)} examples but {len(labels)} targets")
    return features, labels


def fit_arguments(fit_args: tuple, fit_kwargs: dict) -> dict[str, Any]:
    """`search`'s arguments bound to `keras.Model.fit`'s parameters (refused in one line
    where kerashp cannot honour them)."""
    signature = inspect.signature(keras.Model.fit)
    try:
        bound = signature.bind(None, *fit_args, **fit_kwargs)
    except TypeError as error:
        raise StudyError(f"search(): {error} (it takes keras.Model.fit's arguments)") from None
    arguments = dict(bound.arguments)
    arguments.pop("self", None)
    extra = arguments.pop("kwargs", {}) or {}
    if extra:
        raise StudyError(f"search(): unexpected argument(s) {', '.join(sorted(extra))}")
    given = [name for name in UNSUPPORTED_FIT_ARGUMENTS
             if arguments.get(name) is not None and not (name == "initial_epoch" and arguments[name] == 0)]
    if given:
        raise StudyError(f"search(): {', '.join(given)} not supported by kerashp's tuners (kerashp builds each "
                         "epoch's batches itself)")
    return arguments


def splits_from_fit_arguments(arguments: dict[str, Any]) -> tuple[DataSplits, int | None]:
    """The training and validation splits of `search`'s fit arguments, and the batch size
    of a batched dataset (None: arrays)."""
    x, y, batch = arguments.get("x"), arguments.get("y"), None
    if x is None:
        raise StudyError("search(): no training data (x) given")
    if _is_dataset(x):
        features, labels, batch = _materialize(x, "search(x=...)")
    else:
        features, labels = _arrays(x, y, "search(x, y)")
    validation = arguments.get("validation_data")
    fraction = arguments.get("validation_split") or 0.0
    if validation is not None:
        if _is_dataset(validation):
            val_features, val_labels, _ = _materialize(validation, "search(validation_data=...)")
        elif isinstance(validation, (tuple, list)) and len(validation) in (2, 3):
            if len(validation) == 3:
                raise StudyError("search(validation_data=(x, y, sample_weight)): sample weights are not supported")
            val_features, val_labels = _arrays(*validation, "search(validation_data=...)")
        else:
            raise StudyError("search(validation_data=...): give (x_val, y_val) or a tf.data.Dataset")
    elif fraction:
        if not 0 < fraction < 1:
            raise StudyError(f"search(validation_split={fraction}): must be in (0, 1)")
        cut = int(len(features) * (1 - fraction))  # as Keras: the last examples, before any shuffling
        features, val_features = features[:cut], features[cut:]
        labels, val_labels = labels[:cut], labels[cut:]
        if not len(features) or not len(val_features):
            raise StudyError(f"search(validation_split={fraction}) leaves an empty split")
    else:
        raise StudyError("search(): pass validation_data=(x_val, y_val) or validation_split= (kerashp ranks "
                         "trials on a validation split)")
    integer = np.issubdtype(labels.dtype, np.integer) and labels.ndim == 1
    classes = int(max(labels.max(initial=0), val_labels.max(initial=0))) + 1 if integer else 0
    description = (f"arrays passed to search(): {len(features)} train / {len(val_features)} validation, "
                   f"input {tuple(features.shape[1:])}")
    return DataSplits(Split(features, labels), Split(val_features, val_labels), None, classes,
                      tuple(str(i) for i in range(classes)), description,
                      frozenset({"train_limit", "val_split"})), batch


class HyperModelStudy(Study):
    """A kerashp study made of a KerasTuner hypermodel and the data of a search's fit
    arguments (`Tuner.search` makes a subclass per search; not meant to be used directly)."""

    hypermodel: ClassVar[keras_tuner.HyperModel]
    space: ClassVar[keras_tuner.HyperParameters]
    splits: ClassVar[DataSplits]
    fit_kwargs: ClassVar[dict[str, Any]] = {}
    user_callbacks: ClassVar[list] = []
    tuner: ClassVar[Any] = None  # the user's tuner, where it overrides run_trial
    search_args: ClassVar[tuple[tuple, dict]] = ((), {})
    backup_interval_s = None
    split_seed = None

    def declare_hyperparameters(self, hp: keras_tuner.HyperParameters) -> None:
        hp.merge(self.space)

    def load_data(self) -> DataSplits:
        return self.splits

    def preprocessing(self, data):
        return None  # the arrays as the user gave them

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        model = self.hypermodel.build(hp)
        if not isinstance(model, keras.Model):
            raise keras_tuner.errors.FatalTypeError(
                f"the hypermodel's build returned {type(model).__name__}, not a Keras model")
        if not model.built:  # a Sequential without an Input: built on the first batch's shape, as fit would
            model(keras.ops.convert_to_tensor(self.splits.train.features[:1]))
        return model

    def fit(self, hp, model, *args, **kwargs):
        if type(self.hypermodel).fit is not keras_tuner.HyperModel.fit:
            kwargs.pop("shuffle", None)  # kerashp's pipeline shuffles; a HyperModel.fit may pass its own
        for name, value in self.fit_kwargs.items():
            kwargs.setdefault(name, value)
        with warnings.catch_warnings():  # Keras' warning of its own default shuffle=True: the pipeline shuffles
            warnings.filterwarnings("ignore", message=".*shuffle=True. was passed")
            return self.hypermodel.fit(hp, model, *args, **kwargs)

    def extra_callbacks(self, hp, run_dir, tensorboard_dir):
        callbacks = copy.deepcopy(self.user_callbacks)  # each run its own state, as KerasTuner copies them
        for callback in callbacks:  # a TensorBoard of the user's: a run directory of its own in its log_dir
            if isinstance(callback, keras.callbacks.TensorBoard):
                callback.log_dir = str(pathlib.Path(callback.log_dir) / run_dir.parent.name / run_dir.name)
        return callbacks

    def trains_runs_itself(self) -> bool:
        return self.tuner is not None

    def run_trial(self, trial, callbacks, run_dir):
        args, kwargs = self.search_args
        kwargs = dict(kwargs)
        kwargs["callbacks"] = [*callbacks, *self.extra_callbacks(trial.hyperparameters, run_dir, run_dir)]
        return self.tuner.run_trial(trial, *args, **kwargs)


class Tuner:
    """KerasTuner's tuner interface, each search a kerashp study (see the module).

    Args:
        hypermodel: a function `build(hp) -> compiled keras.Model`, or a
            `keras_tuner.HyperModel` (its `fit` is used where overridden).
        objective: a metric name ("val_accuracy"; direction as KerasTuner infers it) or a
            `keras_tuner.Objective`. Default "val_loss".
        max_trials: configurations to try.
        executions_per_trial: runs per configuration, with seeds `seed`, `seed + 1`, ...
        overwrite: delete what kerashp wrote of an earlier search in the directory and
            start afresh (default False: resume it).
        directory, project_name: the search's directory is `directory/project_name`.
        seed: the first run's seed and the search's (default 0).
        max_consecutive_failed_trials: stop after this many failed trials in a row.
        hyperparameters: a `keras_tuner.HyperParameters` whose values are fixed (and
            hyperparameters declared) before the hypermodel's.
    """

    method: ClassVar[str] = "random"

    def __init__(self, hypermodel=None, objective=None, max_trials: int | None = 10,
                 executions_per_trial: int = 1, overwrite: bool = False, directory: str | None = None,
                 project_name: str | None = None, seed: int | None = None,
                 max_consecutive_failed_trials: int = 3, hyperparameters=None, **kwargs: Any):
        unknown = sorted(set(kwargs) - set(KERAS_TUNER_ONLY))
        if unknown:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword argument(s) {', '.join(unknown)}")
        ignored = sorted(set(kwargs) - {"max_epochs", "factor", "hyperband_iterations"})
        if ignored:
            import logging

            logging.getLogger("kerashp").warning("%s: %s not used by kerashp's tuners", type(self).__name__,
                                                 ", ".join(ignored))
        if hypermodel is None:
            raise ValueError("a hypermodel is needed: a function build(hp) or a keras_tuner.HyperModel")
        self.hypermodel = hypermodel if isinstance(hypermodel, keras_tuner.HyperModel) \
            else _FunctionHyperModel(hypermodel)
        self.objective = make_objective(objective)
        self.max_trials = max_trials
        self.executions_per_trial = executions_per_trial
        self.overwrite = overwrite
        self.project_dir = pathlib.Path(directory or ".") / (project_name or "untitled_project")
        self.seed = 0 if seed is None else seed
        self.max_consecutive_failed_trials = max_consecutive_failed_trials
        self.fixed = hyperparameters
        self._space: keras_tuner.HyperParameters | None = None

    # ---- the search ---------------------------------------------------------------

    @property
    def search_space(self) -> keras_tuner.HyperParameters:
        if self._space is None:
            self._space = discover_space(self.hypermodel, self.fixed)
        return self._space

    def _options(self) -> dict[str, Any]:
        """kerashp.run's options for this tuner's search."""
        return {"search": self.method, "trials": self.max_trials}

    def search(self, *fit_args, **fit_kwargs) -> None:
        """Runs (or resumes) the search; the arguments are `keras.Model.fit`'s.

        Raises:
            StudyError: bad arguments or an incompatible directory, in one line.
        """
        from kerashp.api import run

        arguments = fit_arguments(fit_args, fit_kwargs)
        splits, dataset_batch = splits_from_fit_arguments(arguments)
        self._features_shape = tuple(splits.train.features.shape[1:])
        epochs = self._epochs(arguments)
        batch_size = int(arguments.get("batch_size") or dataset_batch or 32)
        callbacks = list(arguments.get("callbacks") or [])
        extra = {name: arguments[name] for name in ("class_weight",) if arguments.get(name) is not None}
        custom = type(self).run_trial is not Tuner.run_trial
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", self.project_dir.name).lstrip("._-") or "untitled_project"
        study = type(name, (HyperModelStudy,), {
            "name": name, "description": f"{type(self).__name__} of {type(self.hypermodel).__name__}",
            "hypermodel": self.hypermodel, "space": self.search_space, "splits": splits, "epochs": epochs,
            "batch_size": batch_size, "objective": self.objective.name,
            "objective_direction": self.objective.direction, "fit_kwargs": extra, "user_callbacks": callbacks,
            "table_hyperparameters": tuple(hp.name for hp in self.search_space.space),
            "max_consecutive_failed_trials": self.max_consecutive_failed_trials,
            "tuner": self if custom else None, "search_args": (fit_args, fit_kwargs),
        })
        verbose = arguments.get("verbose")
        self.results = run(study, out=self.project_dir, seeds=self.executions_per_trial, seed=self.seed,
                           overwrite=self.overwrite, keep_weights="all", restore_best_weights=True,
                           **({"verbose": int(verbose)} if isinstance(verbose, int) else {}), **self._options())
        self.overwrite = False  # a second search() in this process goes on with the first one's trials

    def _epochs(self, arguments: dict[str, Any]) -> int:
        return int(arguments.get("epochs") or 1)

    def run_trial(self, trial, *args, **kwargs):
        """One run of a trial, for a subclass that overrides it: KerasTuner's default
        (build the hypermodel, fit it with `args` and `kwargs`, `callbacks` included)."""
        hp = trial.hyperparameters
        model = self.hypermodel.build(hp)
        return self.hypermodel.fit(hp, model, *args, **kwargs)

    # ---- what KerasTuner's tuners answer ----------------------------------------------

    def _ranked(self) -> list:
        from kerashp.storage import layout, records

        trials = [t for t in records.load_trials(layout.project_dir(self.project_dir)) if t.status == "COMPLETED"]
        key = f"best_{self.objective.name}"

        def score(trial) -> float:
            values = [run.summary.get(key) for run in trial.executions if run.summary]
            values = [v for v in values if v is not None and math.isfinite(v)]
            return float(np.mean(values)) if values else math.nan

        scored = [(score(trial), trial) for trial in trials]
        scored = [(value, trial) for value, trial in scored if math.isfinite(value)]
        scored.sort(key=lambda item: item[0], reverse=self.objective.direction == "max")
        return scored

    def get_best_hyperparameters(self, num_trials: int = 1) -> list[keras_tuner.HyperParameters]:
        """The hyperparameters of the best `num_trials` trials, best first."""
        best = []
        for _, trial in self._ranked()[:num_trials]:
            hp = self.search_space.copy()
            hp.values = {**hp.values, **trial.values}
            best.append(hp)
        return best

    def get_best_models(self, num_models: int = 1) -> list[keras.Model]:
        """The best `num_models` trials' models (their first run's weights at its best
        epoch, as KerasTuner's checkpoints keep them), best first."""
        from kerashp.storage import records

        models = []
        for _, trial in self._ranked()[:num_models]:
            hp = self.search_space.copy()
            hp.values = {**hp.values, **trial.values}
            model = self.hypermodel.build(hp)
            if not model.built:
                model(keras.ops.convert_to_tensor(np.zeros((1, *self._input_shape()), "float32")))
            if model.optimizer is not None and not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)  # the saved weights hold its state too
            run = trial.executions[0]
            model.load_weights(str(pathlib.Path(run.directory) / records.FINAL_WEIGHTS_FILE))
            models.append(model)
        return models

    def _input_shape(self) -> tuple[int, ...]:
        """The features' shape (this process's search, else the study record's data line)."""
        from kerashp.report import spec as report_spec
        from kerashp.storage import layout

        if getattr(self, "_features_shape", None) is not None:
            return self._features_shape

        spec = report_spec.load(layout.project_dir(self.project_dir))
        shape = re.search(r"input \(([^)]*)\)", spec.data if spec else "")
        return tuple(int(part) for part in shape.group(1).split(",") if part.strip()) if shape else ()

    def search_space_summary(self, extended: bool = False) -> None:
        """Prints the search space, as KerasTuner does."""
        space = self.search_space.space
        print("Search space summary")
        print(f"Default search space size: {len(space)}")
        for hp in space:
            config = hp.get_config()
            config.pop("name", None)
            print(f"{hp.name} ({type(hp).__name__})")
            print(config)

    def results_summary(self, num_trials: int = 10) -> None:
        """Prints the best `num_trials` trials, as KerasTuner does."""
        print("Results summary")
        print(f"Results in {self.project_dir}")
        print(f"Showing {num_trials} best trials")
        print(f"Objective(name=\"{self.objective.name}\", direction=\"{self.objective.direction}\")")
        for value, trial in self._ranked()[:num_trials]:
            print()
            print(f"Trial {trial.trial_id} summary")
            print("Hyperparameters:")
            for name, hp_value in trial.values.items():
                print(f"{name}: {hp_value}")
            print(f"Score: {value}")


class RandomSearch(Tuner):
    """KerasTuner's `RandomSearch` (kerashp's resumable random search underneath)."""

    method = "random"


class GridSearch(Tuner):
    """KerasTuner's `GridSearch`: every point of the space's grid (Choice, Boolean and
    stepped Int/Float values), in a fixed order, each once; `max_trials` stops it early."""

    method = "grid"

    def __init__(self, hypermodel=None, objective=None, max_trials: int | None = None, **kwargs: Any):
        super().__init__(hypermodel, objective, max_trials, **kwargs)


class BayesianOptimization(Tuner):
    """KerasTuner's `BayesianOptimization` (its Gaussian-process oracle, made resumable)."""

    method = "bayesian"


class Hyperband(Tuner):
    """KerasTuner's `Hyperband`: `max_epochs` the longest run, `factor` the reduction
    between rungs; kerashp's Hyperband brackets with promotions that resume from the
    stopped run's checkpoint. The trials of `hyperband_iterations` iterations are run."""

    method = "hyperband"

    def __init__(self, hypermodel=None, objective=None, max_epochs: int = 100, factor: int = 3,
                 hyperband_iterations: int = 1, **kwargs: Any):
        kwargs.pop("max_trials", None)
        super().__init__(hypermodel, objective, None, **kwargs)
        if max_epochs < 2 or factor < 2:
            raise ValueError(f"Hyperband needs max_epochs >= 2 and factor >= 2, got {max_epochs} and {factor}")
        self.max_epochs, self.factor, self.hyperband_iterations = max_epochs, factor, hyperband_iterations
        # KerasTuner's brackets (keras_tuner/src/tuners/hyperband.py): max_epochs divided by factor
        # while at least 1; bracket b starts ceil(ceil(1 + log_factor(max_epochs)) / (b + 1) * factor**b)
        # configurations at ceil(max_epochs / factor**b) epochs.
        brackets, epochs = 0, float(max_epochs)
        while epochs >= 1:
            epochs, brackets = epochs / factor, brackets + 1
        end = math.ceil(1 + math.log(max_epochs, factor))
        self.min_epochs = math.ceil(max_epochs / factor ** (brackets - 1))
        self.max_trials = hyperband_iterations * sum(math.ceil(end / (b + 1) * factor ** b) for b in range(brackets))

    def _options(self) -> dict[str, Any]:
        return {"search": "hyperband", "trials": self.max_trials, "eta": self.factor, "min_epochs": self.min_epochs}

    def _epochs(self, arguments: dict[str, Any]) -> int:
        return self.max_epochs  # Hyperband decides each trial's epochs (as KerasTuner's ignores fit's)
