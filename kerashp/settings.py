"""The settings of one study run, with every default resolved in one place.

`StudySettings.for_study(Study, **options)` and `resolve_runs` turn the
options of `kerashp.run` (or of the command line, parsed into the same names)
into settings: the study's own defaults (epochs, batch size, validation split,
an experiment's epochs, `--quick`'s data) are filled in here, not by a caller.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import sys
from typing import Any, Mapping

from kerashp import options as options_module
from kerashp import searches
from kerashp.errors import StudyError, option_name, option_style, option_value

def _setting(default: Any = dataclasses.MISSING, *, resumable: bool = False, key: str | None = None,
             factory: Any = dataclasses.MISSING) -> Any:
    """A settings field. `resumable`: a project on disk made with another value can be
    resumed with this one (it changes no trained number: the output directory, a
    larger `--trials`, a deadline); every other field of the data, training and
    search groups is part of the training fingerprint, under `key` (default: its name)."""
    metadata = {"resumable": resumable, "key": key}
    if factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass
class DataSettings:
    """What a run trains and is evaluated on.

    Attributes:
        spec: data specification (`cifar10`, `folder:PATH`, `sample`, ...; `--data`).
        data_dir: where data sets are stored or extracted.
        train_limit: use only the first N training examples.
        val_split: hold out this fraction of the training data for validation
            (None: validate on the test split).
    """

    spec: str = _setting("sample", key="data")
    data_dir: str | None = _setting(None, resumable=True)
    train_limit: int | None = _setting(None)
    val_split: float | None = _setting(None)


@dataclasses.dataclass
class TrainingSettings:
    """How each run trains: everything here changes its numbers.

    Attributes:
        epochs: training epochs per trial.
        batch_size: global batch size.
        seeds: repeats of each configuration with different seeds.
        seed: first seed; repeat i uses `seed + i`.
        overrides: hyperparameter values applied to every configuration (`--set`).
        options: the study's own options by name (see `Study.Options`; the typed
            view is `Study.options`).
        precision: Keras dtype policy, or "auto" (see `kerashp.distribute`).
        early_stopping: stop a run after this many epochs without improving
            the study's objective, keeping its best weights (None: off).
        restore_best_weights: end each run with the weights of its best epoch (by the
            study's objective) for its test pass and saved weights, as Keras'
            `EarlyStopping(restore_best_weights=True)` does (False: its last epoch's,
            as the mirrored originals report; see `kerashp.tuning.best_epoch`). From
            the options, on by default for a pruned search (the epoch it ranks a run
            by) and off otherwise.
        defaults: whose defaults the builders and optimizer factories use,
            "keras" or "pytorch" (see `kerashp.frameworks`; by default the
            study's `original_framework`). Projects made before this setting
            existed used Keras'.
    """

    epochs: int = _setting(1)
    batch_size: int = _setting(32)
    seeds: int = _setting(1)
    seed: int = _setting(0)
    overrides: dict[str, Any] = _setting(factory=dict)
    options: dict[str, Any] = _setting(factory=dict)
    precision: str = _setting("auto")
    early_stopping: int | None = _setting(None)
    defaults: str = _setting("keras")
    restore_best_weights: bool = _setting(False)


@dataclasses.dataclass
class SearchSettings:
    """Which trials run, and how they are pruned.

    Attributes:
        method: "configs" (the named configurations), "grid", "random",
            "bayesian" (a Gaussian process proposes), "tpe" (a tree-structured Parzen
            estimator proposes; `kerashp.tuning.tpe`) or "hyperband" (random
            proposals, Hyperband's brackets; `--search`).
        configs: names of the configurations to run (None: all of them).
        trials: number of trials (configurations) of a search.
        prune: "none", "asha", "median" or "hyperband": train trials in stages
            to rungs of `min_epochs * eta**k` epochs and stop the poor ones
            (see `kerashp.tuning.pruners`).
        min_epochs: epochs of the first rung of a pruned search (None: chosen when
            the study's longest trial is known, see `kerashp.tuning.pruners.first_rung`;
            a run's saved settings hold the value chosen).
        eta: reduction factor of a pruned search.
        max_minutes: start no trial (or rung) after this many minutes; the
            report is written and a rerun goes on where this one stopped.
        when_exhausted: what a pruned search does once it starts no new configuration
            (a finite space tried whole, or `trials` reached): "stop" (the trials
            running end; ASHA's rule) or "promote" (the best trial that can train
            on trains to its next rung, beyond the pruner's quota, highest rung first,
            until every trial is at full length or `max_minutes` is up).
    """

    method: str = _setting("configs", key="search")
    configs: list[str] | None = _setting(None, resumable=True)
    trials: int | None = _setting(None, resumable=True)
    prune: str = _setting("none")
    min_epochs: int | None = _setting(None)
    eta: int = _setting(3)
    max_minutes: float | None = _setting(None, resumable=True)
    when_exhausted: str = _setting("stop", resumable=True)


@dataclasses.dataclass
class HardwareSettings:
    """Where and how fast runs train; none of it changes a number (packing is
    checked loss for loss against unpacked runs).

    Attributes:
        strategy: `--strategy` (see `kerashp.distribute.choose_strategy`).
        jit: XLA: "auto", "on" or "off".
        steps_per_execution: batches per compiled call, at most: training uses the
            largest divisor of an epoch's batches up to it, so that epochs end where they should.
        pack: train up to this many trials with equal `Study.pack_key`
            side by side in one compiled model (1: one trial at a time).
        worker_timeout_s: in distributed tuning, a worker silent this long
            (no epoch finished) loses its trial to the next worker.
    """

    strategy: str = "auto"
    jit: str = "auto"
    steps_per_execution: int = 1
    pack: int = 1
    worker_timeout_s: float = 1800.0


@dataclasses.dataclass
class OutputSettings:
    """Where results go and what is kept and shown.

    Attributes:
        out: output directory (`artifacts/<study>` by default).
        overwrite: start afresh, deleting this study's earlier results in `out`.
        verbose: Keras `fit` verbosity (0, 1 progress bar, 2 one line per epoch).
        reference: the configuration the across-seeds report compares the
            others with (None: the first).
        keep_weights: what a finished trial keeps on disk, "all", "best" or
            "none" (see `kerashp.storage.weights`).
        track: "mlflow" or "mlflow=URI": copy the study into MLflow as it runs
            (`kerashp.integrations.mlflow_tracking`); None: no tracking.
    """

    out: pathlib.Path = pathlib.Path("artifacts")
    overwrite: bool = False
    verbose: int = 2
    reference: str | None = None
    keep_weights: str = "all"
    track: str | None = None


# The groups whose fields (all but the resumable ones) make the training fingerprint.
FINGERPRINTED_GROUPS = ("data", "training", "search")


@dataclasses.dataclass
class StudySettings:
    """Everything a study run needs to know besides the study itself, in groups.

    Attributes:
        study: the study's name (its module name under `studies/`).
        experiment: the experiment run, for studies made of several.
        quick: the `--quick` demo mode (shipped sample, 2 epochs).
        data: what is trained on (`DataSettings`).
        training: how each run trains (`TrainingSettings`).
        search: which trials run and how they are pruned (`SearchSettings`).
        hardware: where and how fast (`HardwareSettings`).
        output: where results go (`OutputSettings`).
    """

    study: str
    experiment: str | None = None
    quick: bool = False
    data: DataSettings = dataclasses.field(default_factory=DataSettings)
    training: TrainingSettings = dataclasses.field(default_factory=TrainingSettings)
    search: SearchSettings = dataclasses.field(default_factory=SearchSettings)
    hardware: HardwareSettings = dataclasses.field(default_factory=HardwareSettings)
    output: OutputSettings = dataclasses.field(default_factory=OutputSettings)

    @staticmethod
    def _fingerprint_fields():
        """(group name, field, fingerprint key) of every setting that changes results."""
        for group_name in FINGERPRINTED_GROUPS:
            group = StudySettings.__dataclass_fields__[group_name].default_factory
            for field in dataclasses.fields(group):
                if not field.metadata.get("resumable"):
                    yield group_name, field, field.metadata.get("key") or field.name

    @classmethod
    def default_of(cls, key: str) -> Any:
        """The default of the fingerprint entry `key` (None where it has none): what a
        project made before the setting existed is taken to have used."""
        for _, field, name in cls._fingerprint_fields():
            if name == key:
                if field.default is not dataclasses.MISSING:
                    return field.default
                return field.default_factory() if field.default_factory is not dataclasses.MISSING else None
        return None

    def training_fingerprint(self) -> dict[str, Any]:
        """The settings that must match for a project on disk to be resumed: the
        experiment and every non-resumable field of the data, training and search
        groups, by flat name (as projects on disk store them)."""
        fingerprint: dict[str, Any] = {"experiment": self.experiment}
        for group_name, field, key in self._fingerprint_fields():
            value = getattr(getattr(self, group_name), field.name)
            fingerprint[key] = dict(sorted(value.items())) if isinstance(value, dict) else value
        return fingerprint

    def describe(self) -> dict[str, Any]:
        """All settings as JSON-friendly values, by group (read back by `from_json`)."""
        values = dataclasses.asdict(self)
        values["output"]["out"] = str(self.output.out)
        return json.loads(json.dumps(values, default=str))

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> "StudySettings":
        """Settings from `describe()`'s JSON. Keys this version does not know are skipped and
        missing ones take their defaults, so settings saved by another kerashp version load."""
        groups = {}
        for field in dataclasses.fields(cls):
            value = payload.get(field.name)
            if field.default_factory is not dataclasses.MISSING and dataclasses.is_dataclass(field.default_factory):
                group = field.default_factory
                known = {item.name for item in dataclasses.fields(group)}
                given = value if isinstance(value, Mapping) else {}
                groups[field.name] = group(**{key: given[key] for key in known if key in given})
            elif field.name in payload:
                groups[field.name] = value
        settings = cls(**{"study": "", **groups})
        settings.output.out = pathlib.Path(settings.output.out)
        return settings

    @classmethod
    def for_study(cls, study_class, experiment: str | None = None, **options: Any) -> "StudySettings":
        """The settings of one run of `study_class` from `kerashp.run`'s options.

        Args:
            study_class: the study.
            experiment: for a study made of experiments, which one (default:
                the first that `options` select).
            **options: the command line's options by their Python names
                (`epochs=10`, `batch_size=64`, `set={"dropout": 0.2}`, ...).

        Raises:
            StudyError: an unknown option or an impossible value, named as given.
        """
        with option_style("python"):
            runs = resolve_runs(study_class, {**options, **({"experiment": experiment} if experiment else {})})
        return runs[0]


def _check_value(action: argparse.Action, value: Any) -> Any:
    """A keyword argument checked (and converted) as argparse would check its option."""
    name = option_name(action.dest)
    if action.dest == "set":
        pairs = value.items() if isinstance(value, Mapping) else value
        result = []
        for pair in pairs:
            if isinstance(pair, str):
                try:
                    pair = options_module.assignment(pair)
                except argparse.ArgumentTypeError as error:
                    raise StudyError(f"{name} {error}") from None
            result.append(tuple(pair))
        return result
    if action.dest == "configs" and not isinstance(value, str):
        value = ",".join(value)
    if action.nargs == 0:  # a flag
        if not isinstance(value, bool):
            raise StudyError(f"{name} must be True or False, got {value!r}")
        return value
    kind = action.type
    if kind in (options_module.positive_int, options_module.fraction):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise StudyError(f"{name} expected a number, got {value!r}")
        if kind is options_module.positive_int and isinstance(value, float) and not value.is_integer():
            raise StudyError(f"{name} expected a positive integer, got {value!r}")
        try:
            value = kind(str(int(value) if kind is options_module.positive_int and not isinstance(value, str)
                             else value))
        except argparse.ArgumentTypeError as error:
            raise StudyError(f"{name} {error}") from None
    elif kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise StudyError(f"{name} must be a number, got {value!r}")
        value = kind(value)
    elif kind is pathlib.Path:
        value = pathlib.Path(os.fspath(value))
    elif callable(kind) and isinstance(value, str):
        value = kind(value)
    if action.choices is not None and value not in action.choices:
        raise StudyError(f"{name} must be one of {', '.join(map(str, action.choices))}; got {value!r}")
    return value


def resolve_options(study_class, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every option of a run: the defaults, then `given` checked one by one."""
    table = options_module.option_table(study_class)
    values = dict(table.defaults)
    for key, value in given.items():
        if key not in table.actions:
            known = ", ".join(sorted(k for k in table.actions if not k.startswith("_")))
            raise StudyError(f"unknown option {key}= for {study_class.name or study_class.__name__}; options: {known}")
        action = table.actions[key]
        values[key] = None if value is None else _check_value(action, value)
        if values[key] is None and action.default is not None:
            values[key] = action.default
    return values


def check_track(track: str | None) -> None:
    """`--track`: None, `mlflow` or `mlflow=URI`, with MLflow installed; StudyError otherwise."""
    if track is None:
        return
    kind, _, uri = str(track).partition("=")
    if kind != "mlflow" or ("=" in str(track) and not uri):
        raise StudyError(f"{option_name('track')} takes mlflow or mlflow=URI, got {track!r}")
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        raise StudyError(f'{option_value("track", track)} needs MLflow: pip install "kerashp[mlflow]"')


def resolve_runs(study_class, given: Mapping[str, Any], *, parsed: bool = False) -> list[StudySettings]:
    """One `StudySettings` per experiment to run, from `kerashp.run`'s options, or
    (`parsed=True`) from every option as the command line's parser typed them.

    Raises:
        StudyError: an unknown option or an impossible value, named as given.
    """
    values = dict(given) if parsed else resolve_options(study_class, given)
    searches.get(values["search"]).check_available()
    check_track(values.get("track"))
    implied = searches.get(values["search"]).prune
    if implied and values["prune"] not in (None, implied):
        raise StudyError(f"{option_value('search', values['search'])} prunes with {implied}, not "
                         f"{option_value('prune', values['prune'])} (for that: {option_value('search', 'random')} "
                         f"{option_value('prune', values['prune'])})")
    if values["max_minutes"] is not None and values["max_minutes"] < 0:
        raise StudyError(f"{option_name('max_minutes')} must be 0 or more, got {values['max_minutes']}")
    if values["eta"] < 2:
        raise StudyError(f"{option_name('eta')} must be at least 2, got {values['eta']}")
    if not study_class.experiments:
        return [_settings(study_class, values, None)]
    if values.get("experiment") is None:
        names = list(study_class.quick_experiments or study_class.experiments) if values["quick"] \
            else list(study_class.experiments)
        if values["configs"]:  # the experiments that hold the named configurations
            wanted = {name.strip() for name in values["configs"].split(",")}
            names = [name for name in study_class.experiments
                     if wanted & set(study_class.experiments[name].configs)] or names
    else:
        names = list(study_class.experiments) if values["experiment"] == "all" else [values["experiment"]]
    return [_settings(study_class, values, name) for name in names]


def _settings(study_class, values: Mapping[str, Any], experiment: str | None) -> StudySettings:
    """The settings of one run from resolved options, with the study's defaults filled in."""
    quick_epochs, quick_trials = options_module.QUICK_EPOCHS, options_module.QUICK_TRIALS
    data = values["data"] or ((study_class.quick_data or study_class.default_data) if values["quick"] else study_class.default_data)
    study_epochs = study_class.experiments[experiment].epochs if experiment else study_class.epochs
    epochs = values["epochs"] or (quick_epochs if values["quick"] else study_epochs)
    out = values["out"] or pathlib.Path("artifacts") / (f"{study_class.name}_quick" if values["quick"] else study_class.name)
    verbose = values["verbose"] if values["verbose"] is not None else (
        0 if "ipykernel" in sys.modules else 1 if sys.stdout.isatty() else 2)  # a notebook: kerashp's trial lines only
    overrides = dict(values["set"])
    prune = values["prune"] or searches.get(values["search"]).prune or "none"
    if study_class.epochs_hyperparameter and (values["epochs"] or values["quick"]):
        overrides.setdefault("epochs", epochs)  # an explicit length fixes the searched one
    return StudySettings(
        study=study_class.name,
        experiment=experiment,
        quick=values["quick"],
        data=DataSettings(
            spec=data,
            data_dir=values["data_dir"],
            train_limit=values["train_limit"],
            val_split=values["val_split"] if values["val_split"] is not None else study_class.default_val_split,
        ),
        training=TrainingSettings(
            epochs=epochs,
            batch_size=values["batch_size"] or study_class.batch_size,
            seeds=values["seeds"],
            seed=values["seed"],
            overrides=overrides,
            options={dest: values[dest] for dest in options_module.option_table(study_class).study_options},
            precision=values["precision"],
            early_stopping=values["early_stopping"],
            defaults=values["defaults"] or study_class.original_framework,
            restore_best_weights=(values["restore_best_weights"] if values["restore_best_weights"] is not None
                                  else prune != "none"),
        ),
        search=SearchSettings(
            method=values["search"],
            configs=[name.strip() for name in values["configs"].split(",") if name.strip()] if values["configs"] else None,
            trials=values["trials"] or (quick_trials if values["quick"] and values["search"] != "configs" else None),
            prune=prune,
            min_epochs=values["min_epochs"],
            eta=values["eta"],
            max_minutes=values["max_minutes"],
            when_exhausted=values["when_exhausted"],
        ),
        hardware=HardwareSettings(
            strategy=values["strategy"],
            jit=values["jit"],
            steps_per_execution=values["steps_per_execution"],
            pack=values["pack"],
            worker_timeout_s=values["worker_timeout"],
        ),
        output=OutputSettings(
            out=out / experiment if experiment else out,
            overwrite=values["overwrite"],
            verbose=verbose,
            reference=values["reference"],
            keep_weights=values["keep_weights"] or ("all" if values["search"] == "configs" else "best"),
            track=values["track"],
        ),
    )
