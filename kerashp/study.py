"""`Study`, the base class of every study: its whole declaration.

Importing this module loads neither TensorFlow nor Keras nor KerasTuner (they
load when a run starts), so a study file answers `--help` at once. KerasTuner
sees a study through `kerashp.tuning.hypermodel.StudyHyperModel`, a
`keras_tuner.HyperModel` that forwards to it.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import TYPE_CHECKING, Any, ClassVar, Hashable, Mapping, Sequence

from kerashp.original import Original
from kerashp.names import DEFAULT_METRICS
from kerashp.settings import StudySettings

if TYPE_CHECKING:
    import keras
    import keras_tuner

    from kerashp.data import DataSplits, Split
    from kerashp.frameworks import Framework


def option(default: Any, *, help: str = "", choices: Sequence[Any] | None = None,
           metavar: str | None = None) -> Any:
    """A study option: one field of a study's `Options` dataclass.

    The field `grad_norm_every: int = option(20, help="...")` becomes the
    command-line option `--grad-norm-every N` (an int, default 20; a `bool` field
    becomes `--name/--no-name`, a `T | None` field takes a T), the keyword
    `grad_norm_every=` of `kerashp.run`, and `self.options.grad_norm_every` in
    the study. Its value is part of the training fingerprint.

    Args:
        default: the value when the option is not given.
        help: one line for `--help`.
        choices: the only values accepted.
        metavar: the placeholder shown in `--help`.
    """
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices, "metavar": metavar})


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One experiment of a study with several (`--experiment NAME`).

    Attributes:
        configs: its named configurations, run in order.
        epochs: its training length (`--epochs` overrides it).
        description: one line for the results note.
        original: what the original reported for this experiment (its
            numbers and claims; `kerashp.original`), for results.md's
            "Original vs here" section.
    """

    configs: Mapping[str, Mapping[str, Any]]
    epochs: int
    description: str = ""
    original: Original | None = None


def variant(base: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A configuration that is `base` with `changes` (one experiment's setting).

    `vary = functools.partial(variant, BASE)` then `vary(num_layers=3)`.
    """
    unknown = set(changes) - set(base)
    if unknown:
        raise KeyError(f"{sorted(unknown)} are not hyperparameters of the base configuration")
    return {**base, **changes}


class Study:
    """A study: its data, model, fixed settings, configurations and search space.

    Subclasses set the class attributes and implement `build` (and
    `declare_hyperparameters` for a search, `load_data` for data other than
    image classification); `kerashp.run` does everything else (tuner,
    resumption, callbacks, TensorBoard, tables, figures). Import Keras inside
    the methods that use it, so that `--help` answers before TensorFlow loads.

    A complete example is in the `kerashp` package docstring (and README.md);
    docs/writing-a-study.md grows it into a multi-experiment study.

    Class attributes:
        name: the study's name; outputs go to `artifacts/<name>/`.
        description: one line for `--help` and the results note.
        default_data: `--data` when none is given.
        default_val_split: `--val-split` when none is given (None: validate
            on the test split).
        epochs, batch_size: the original study's training length and batch.
        configs: named configurations, each a mapping of hyperparameter values,
            run in this order by `--search configs` (the default).
        table_hyperparameters: hyperparameters shown as table columns.
        table_metrics: (summary key, title) pairs shown as table columns.
        curves: (metric, title) pairs; one figure each, one line per trial.
        objective: the metric (a key of the Keras logs) that ranks trials.
        experiments: for studies made of several experiments, name ->
            `Experiment`; each runs into `<out>/<name>/` with its own configs
            and epochs, chosen with `--experiment NAME|all`.
        curve_grid: four (metric, title) pairs drawn as one 2x2 figure
            (`learning_curves.png`), or None.
        default_search: `--search` when none is given ("configs", "grid",
            "random", "bayesian", "tpe" or "hyperband").
        epochs_hyperparameter: True where `epochs` is one of the searched
            hyperparameters; an explicit `--epochs N` (or `--quick`) then fixes it.
        quick_data: `--data` of `--quick` (None: the study's default data);
            a shipped sample, so that `--quick` runs offline.
        quick_experiments: the experiments `--quick` runs when no
            `--experiment` is given (empty: all of them).
        isolation_hyperparameter: the hyperparameter of the isolation plot a
            search draws (best trial per value); default the first table column.
        split_seed: seed of the held-out validation split (None: the run's `--seed`).
        backup_interval_s: None (the default): a run checkpoints after an
            epoch unless its last checkpoint is younger than 20 times what
            writing one takes, so that checkpoints cost at most 5% of the
            training (every epoch where epochs take seconds; about every second
            for a small MLP's sub-second epochs); a killed run resumes from its
            last checkpoint and trains the epochs after it again, to the same
            numbers. 0: every epoch; a positive number: at most every this many
            seconds (a resumed run repeats at most that much training).
        kept_models_mib: the memory (MiB) the compiled models kept between trials
            may hold, half for a later trial of the same architecture
            (`architecture_key`), half for the promotions of runs stopped at a
            rung; each counts what its build and first training took (its traced
            functions, not only its weights). Default 1024; lower it where memory
            is short (0 keeps none: every trial builds and traces its model).
        original_framework: the framework the original study was run in,
            "keras" (the default) or "pytorch": kerashp's builders and optimizer
            factories then use its defaults (`self.framework`; see
            `kerashp.frameworks`; `--defaults` overrides it).
        original: what the original reported (`kerashp.original.Original`:
            its numbers, where it gave them, its claims); results.md then has
            an "Original vs here" section. Studies made of experiments
            declare it per `Experiment`.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    default_data: ClassVar[str] = "sample"
    default_val_split: ClassVar[float | None] = None
    epochs: ClassVar[int] = 1
    batch_size: ClassVar[int] = 32
    configs: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    table_hyperparameters: ClassVar[tuple[str, ...]] = ()
    table_metrics: ClassVar[tuple[tuple[str, str], ...]] = DEFAULT_METRICS
    curves: ClassVar[tuple[tuple[str, str], ...]] = (
        ("val_accuracy", "Validation accuracy"),
        ("loss", "Training loss"),
        ("val_loss", "Validation loss"),
    )
    objective: ClassVar[str] = "val_accuracy"
    objective_direction: ClassVar[str] = "max"
    experiments: ClassVar[Mapping[str, Experiment]] = {}
    curve_grid: ClassVar[Sequence[tuple[str, str]] | None] = None
    default_search: ClassVar[str] = "configs"
    epochs_hyperparameter: ClassVar[bool] = False
    quick_data: ClassVar[str | None] = "sample"
    quick_experiments: ClassVar[tuple[str, ...]] = ()
    isolation_hyperparameter: ClassVar[str | None] = None
    backup_interval_s: ClassVar[float | None] = None
    kept_models_mib: ClassVar[float] = 1024
    max_consecutive_failed_trials: ClassVar[int | None] = None  # a search stops after so many failures in a row
    split_seed: ClassVar[int | None] = 0
    original_framework: ClassVar[str] = "keras"
    original: ClassVar[Original | None] = None

    def __init__(self, settings: StudySettings, data: DataSplits | None = None):
        self.settings = settings
        self.data = data
        if settings.experiment is not None:
            self.configs = self.experiments[settings.experiment].configs

    @property
    def framework(self) -> Framework:
        """The framework defaults of this run (`--defaults`, else `original_framework`):
        pass it to the builders and optimizer factories as `framework=`."""
        from kerashp import frameworks

        return frameworks.get(self.settings.training.defaults)

    # ---- what a study declares -------------------------------------------------

    @dataclasses.dataclass(frozen=True)
    class Options:
        """The study's own options: a study declares them as a frozen dataclass of the
        same name whose fields are made with `kerashp.option` (see there)."""

    @property
    def options(self) -> Any:
        """This run's study options, as an instance of the study's `Options`."""
        return type(self).Options(**self.settings.training.options)

    def declare_hyperparameters(self, hp: keras_tuner.HyperParameters) -> None:
        """Declares the search space (used by `--search grid|random|bayesian|tpe|hyperband`).

        A study that only runs its named configurations need not override it.
        KerasTuner's conditional scopes work as in a HyperModel's `build`: enter
        each `with hp.conditional_scope(parent, values):` and take the branch
        inside it; the method is called again with values that activate each
        scope, so every branch's hyperparameters reach the search.
        """

    def search_space(self) -> keras_tuner.HyperParameters:
        """The declared search space (`declare_hyperparameters`), built once per study;
        read it, or `.copy()` it to set values."""
        space = self.__dict__.get("_search_space")
        if space is None:
            import keras_tuner

            space = keras_tuner.HyperParameters()
            self.declare_hyperparameters(space)
            self.__dict__["_search_space"] = space
        return space

    def check_hyperparameters(self, values: Mapping[str, Any]) -> None:
        """Raises ValueError for impossible values, before anything is trained."""

    def load_data(self) -> DataSplits:
        """Loads the study's data as configured by `self.settings`.

        Default: an image classification data set from `--data` (see
        `kerashp.data.load_image_classification`) with `--train-limit` and
        `--val-split` applied.
        """
        from kerashp.data import load_image_classification

        s = self.settings
        return load_image_classification(
            s.data.spec, data_dir=s.data.data_dir, train_limit=s.data.train_limit, val_split=s.data.val_split,
            split_seed=s.training.seed if self.split_seed is None else self.split_seed,
        )

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        """Returns the compiled model for the hyperparameter values in `hp`."""
        raise NotImplementedError

    # ---- what a study may override --------------------------------------------

    def preprocessing(self, data: DataSplits):
        """The batch function applied to every split (default: pixels to [0, 1])."""
        from kerashp.data import scale_to_unit

        return scale_to_unit

    def augmentation(self, data: DataSplits):
        """The batch function applied to training batches only (default: none)."""
        return None

    def architecture_key(self, hp: keras_tuner.HyperParameters) -> Hashable | None:
        """What makes two trials' compiled models interchangeable, or None.

        Trials with equal keys share one compiled model: the tuner restores its
        initial weights (for a run of another seed, those of the trial's model built
        again under that seed, which traces nothing), resets the optimizer's state
        and calls `reconfigure`, instead of building and tracing a new model (tens
        of seconds for MobileNetV2 on a CPU). Only for studies whose trials differ in values
        that `reconfigure` can set in place (e.g. optimizer hyperparameters held in
        variables, or initial weights drawn again: `kerashp.models.copy_initial_state`)
        and whose optimizer slots start at zero (SGD, Adam, RMSprop),
        and not together with callbacks that rewrite the train step
        (`callbacks.GradientNorm`). Default None: every trial builds its own model.
        """
        return None

    def pack_key(self, hp: keras_tuner.HyperParameters) -> Hashable | None:
        """What lets trials train side by side in one packed model (`--pack K`), or None.

        Trials with equal keys (and equal epochs and batch size) may be packed:
        their models must share an input and differ only in what each model's
        own compile arguments (optimizer, loss, metrics) and its per-run
        callbacks (e.g. a learning-rate schedule) hold. Not for studies whose
        callbacks rewrite the train step (`callbacks.GradientNorm`) or that
        override `fit`. Default: `architecture_key`.
        """
        return self.architecture_key(hp)

    def reconfigure(self, model: keras.Model, hp: keras_tuner.HyperParameters) -> None:
        """Sets `hp`'s values on a reused model (see `architecture_key`)."""
        raise NotImplementedError(f"{type(self).__name__} gives an architecture_key but no reconfigure")

    def trial_epochs(self, hp: keras_tuner.HyperParameters) -> int:
        """Epochs of a trial: its `epochs` hyperparameter where the study has one, else `--epochs`."""
        return int(hp.values.get("epochs", self.settings.training.epochs))

    def trial_batch_size(self, hp: keras_tuner.HyperParameters) -> int:
        """Batch size of a trial: its `batch_size` hyperparameter where the study has one, else `--batch-size`."""
        return int(hp.values.get("batch_size", self.settings.training.batch_size))

    def make_dataset(self, split: Split, *, training: bool, seed: int | None = None,
                     batch_size: int | None = None, first_epoch: int = 0, num_epochs: int = 1):
        """The tf.data pipeline of one split for one run (training: epochs
        `first_epoch`... of the run's seed, see `kerashp.data.make_dataset`), built once
        and shared by every run that asks for the same (`kerashp.data.pipeline.Pipelines`)."""
        from kerashp.data.pipeline import Pipelines

        pipelines = self.__dict__.setdefault("_pipelines", Pipelines())
        return pipelines.get(split, batch_size or self.settings.training.batch_size, training=training, seed=seed,
                             preprocess=self.preprocessing(self.data),
                             augment=self.augmentation(self.data) if training else None,
                             first_epoch=first_epoch, num_epochs=num_epochs)

    def extra_callbacks(self, hp: keras_tuner.HyperParameters, run_dir: pathlib.Path,
                        tensorboard_dir: pathlib.Path) -> list[keras.callbacks.Callback]:
        """Callbacks a study adds to each run (e.g. gradient-norm logging)."""
        return []

    def evaluate(self, model: keras.Model, data: DataSplits, batch_size: int) -> dict[str, float]:
        """Final figures of a finished run, added to its summary (and the table).

        Default: the compiled metrics on the test split as `test_<metric>`, where
        the data has a test split apart from the validation split.
        """
        if data.test is None:
            return {}
        metrics = model.evaluate(
            self.make_dataset(data.test, training=False, batch_size=batch_size), verbose=0, return_dict=True
        )
        return {f"test_{name}": float(value) for name, value in metrics.items()}

    def compared_metrics(self) -> tuple[str, ...]:
        """Summary keys the across-seeds report (`--seeds N`, N >= 2) compares:
        the best and final value of the objective, and the table's first test metric."""
        tests = [key for key, _ in self.table_metrics if key.startswith("test_")]
        return (f"best_{self.objective}", f"final_{self.objective}", *tests[:1])

    def extra_report(self, trials, table) -> dict[str, Any]:
        """Figures or tables a study adds to the report, from the trial records
        (`kerashp.storage.records.TrialRecord`) and the results table: file name ->
        `matplotlib.figure.Figure` (saved as that file) or Markdown text."""
        return {}

    def trains_runs_itself(self) -> bool:
        """Whether each run is trained by `run_trial` instead of kerashp's own lifecycle
        (the KerasTuner-style tuners, where the user overrode `run_trial`)."""
        return False

    def run_trial(self, trial: Any, callbacks: list, run_dir: pathlib.Path) -> Any:
        """Trains one run of `trial` itself (its files in `run_dir`), handing `callbacks`
        to its `fit`; returns a number, a dict of metrics or a History (see
        `trains_runs_itself`)."""
        raise NotImplementedError

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, *args, **kwargs):
        """Trains `model`; the runner passes data, epochs and callbacks.

        A study that overrides it with a training loop of its own keeps `pack_key`
        returning None: packed trials train through the packed model's own `fit`."""
        return model.fit(*args, **kwargs)
