"""kerashp: resumable hyperparameter studies with Keras 3 and KerasTuner.

A study declares its data, model, fixed settings, named configurations and
search space; kerashp trains it resumably and writes the table, the figures
and TensorBoard logs::

    import kerashp

    class Widths(kerashp.Study):
        name = "widths"
        epochs = 3
        configs = {"narrow": {"units": 16}, "wide": {"units": 128}}

        def build(self, hp):
            import keras
            model = keras.Sequential([
                keras.Input(self.data.input_shape), keras.layers.Flatten(),
                keras.layers.Dense(hp["units"], activation="relu"),
                keras.layers.Dense(self.data.num_classes, activation="softmax")])
            model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
            return model

    results = kerashp.run(Widths, data="sample:fashion_mnist", seeds=2, out="runs/widths")
    results.table                    # a pandas DataFrame, as results.csv
    kerashp.load_results("runs/widths").figures()["val_accuracy"]

Public API:
    Study: the base class of a study.
    Experiment: one experiment of a study made of several.
    variant: a configuration that is a base configuration with some changes.
    option: one field of a study's `Options` dataclass (its own command-line
        options, `self.options` in the study).
    Original, Claim, Reported: what a mirrored study's original reported (its
        numbers, with their deviation and what each measured, and its claims),
        for results.md's "Original vs here" (`kerashp.original`).
    run: runs (or resumes) a study; returns its `Results`.
    load_results: the `Results` of any study directory, also one still running.
    Results: tables, per-epoch records, statistics across seeds and figures.
    StudySettings: the settings of one run, defaults resolved, in groups (data,
        training, search, hardware, output; `kerashp.settings`).
    StudyError: the one-line errors of bad input or environment.
    main: the command line of a study file (`sys.exit(kerashp.main(MyStudy))`).
    RandomSearch, GridSearch, BayesianOptimization, Hyperband: KerasTuner's tuners
        (its constructor arguments and methods), each search a resumable kerashp
        study in `directory/project_name` (`kerashp.tuners`).

Into other tools (optional extras, imported only when used): `Results.to_optuna()` and
`kerashp export optuna` (optuna-dashboard, Optuna's importance and plots), `--search
optuna-tpe|optuna-qmc|optuna-cmaes|optuna-gp` (Optuna's samplers as proposers), `--track mlflow` / `run(...,
track="mlflow")` (`kerashp.integrations`).

Importing kerashp has no side effects and loads neither TensorFlow nor Keras:
they load when a run starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kerashp.lazy import lazy_exports

__version__ = "0.3.0"

_EXPORTS = {
    "Study": "kerashp.study",
    "Experiment": "kerashp.study",
    "variant": "kerashp.study",
    "option": "kerashp.study",
    "Original": "kerashp.original",
    "Claim": "kerashp.original",
    "Reported": "kerashp.original",
    "run": "kerashp.api",
    "load_results": "kerashp.api",
    "Results": "kerashp.results",
    "StudySettings": "kerashp.settings",
    "StudyError": "kerashp.errors",
    "main": "kerashp.cli",
    "RandomSearch": "kerashp.tuners",
    "GridSearch": "kerashp.tuners",
    "BayesianOptimization": "kerashp.tuners",
    "Hyperband": "kerashp.tuners",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from kerashp.api import load_results, run
    from kerashp.cli import main
    from kerashp.errors import StudyError
    from kerashp.original import Claim, Original, Reported
    from kerashp.results import Results
    from kerashp.settings import StudySettings
    from kerashp.study import Experiment, Study, option, variant
    from kerashp.tuners import BayesianOptimization, GridSearch, Hyperband, RandomSearch


__getattr__ = lazy_exports(__name__, globals(), _EXPORTS)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
