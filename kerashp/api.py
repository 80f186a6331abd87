"""`kerashp.run` and `kerashp.load_results`: a study from Python or a notebook."""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
import sys
from typing import Any, Iterator

from kerashp import preflight
from kerashp.errors import RunInterrupted, StudyError, option_style
from kerashp.results import Results
from kerashp.settings import StudySettings, resolve_runs

logger = logging.getLogger("kerashp")


@contextlib.contextmanager
def _progress_lines() -> Iterator[None]:
    """kerashp's INFO lines on stderr while a run lasts, unless logging is configured
    (a handler anywhere); a level set on the "kerashp" logger is kept."""
    package = logging.getLogger("kerashp")
    if package.handlers or logging.getLogger().handlers:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
    level = package.level
    package.addHandler(handler)
    if level == logging.NOTSET:
        package.setLevel(logging.INFO)
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(level)


def _root_out(runs: list[StudySettings]) -> pathlib.Path:
    first = runs[0]
    return first.output.out.parent if first.experiment else first.output.out


def _import_backend() -> None:
    from kerashp.quiet import import_keras_quietly

    import_keras_quietly()


def run(study_class, **options: Any) -> Results:
    """Runs (or resumes) a study and returns its results.

    Takes the command line's options under their Python names: `epochs=`,
    `batch_size=`, `seeds=`, `seed=`, `search=`, `trials=`, `prune=`, `out=`,
    `data=`, `pack=`, `configs=` (a list or "a,b"), `set=` (a dict of
    hyperparameter overrides), `overwrite=`, `quick=`, `experiment=`, ... and the
    study's own (see `python -m studies.NAME --help` or `kerashp run FILE.py
    --help`). Anything not given takes the study's default. Nothing reads
    `sys.argv`.

    Args:
        study_class: a `kerashp.Study` subclass.
        **options: the run's options.

    Returns:
        The study's `Results` (for a study made of experiments, those run:
        `results.experiments[name]`).

    Raises:
        StudyError: bad options (named as keyword arguments), missing data, a
            locked or incompatible output directory. Ctrl-C ends the run with
            `kerashp.errors.RunInterrupted` (a StudyError) after the
            report of what finished is written.

    Example:
        results = kerashp.run(MyStudy, epochs=3, seeds=2, out="runs/my_study")
        results.table
    """
    with option_style("python"):
        runs = resolve_runs(study_class, options)
        each_run = _EachRun(study_class, runs)
        each_run.preflight()  # bad input answered before TensorFlow loads
        with _progress_lines():
            for _ in each_run:
                pass
    out = _root_out(runs)
    results = Results.load(out)
    if len(runs) < len(results.experiments):  # only the experiments this call ran
        ran = {settings.experiment for settings in runs}
        results = Results(out, {name: report for name, report in results._reports.items() if name in ran})
    return results


def run_settings(study_class, runs: list[StudySettings], label: str) -> int:
    """Runs resolved settings for the command line: one line per error, exit status."""
    each_run = _EachRun(study_class, runs)
    try:
        each_run.preflight()  # bad input answered before TensorFlow loads
        for settings, table in each_run:
            run_label = _label(label, settings)
            failed = table[table["status"] != "COMPLETED"] if len(table) else table
            for _, row in failed.iterrows():
                name = "" if row["name"] == f"trial {row['trial']}" else f" {row['name']}"
                print(f"{run_label}: trial {row['trial']}{name} {row['status'].lower()}: {row['message']}",
                      file=sys.stderr)
            if len(table) and not (table["status"] == "COMPLETED").any():
                print(f"{run_label}: no trial finished (results.md says why)", file=sys.stderr)
                return 1
    except RunInterrupted as stopped:
        print(f"{_label(label, each_run.current)}: {stopped}", file=sys.stderr)
        return stopped.exit_status
    except StudyError as error:
        print(f"{_label(label, each_run.current)}: error: {error}", file=sys.stderr)
        return 2
    return 0


def _label(label: str, settings: StudySettings) -> str:
    return label + (f" {settings.experiment}" if settings.experiment else "")


class _EachRun:
    """Runs each of `runs` in turn (TensorFlow loaded before the first), yielding its
    settings and results table; `current` is the run in progress, for an error's label.
    The one loop of `run` and `run_settings`."""

    def __init__(self, study_class, runs: list[StudySettings]):
        self.study_class, self.all, self.runs = study_class, list(runs), iter(runs)
        self.current: StudySettings | None = None

    def preflight(self) -> None:
        """Every run's checks that need no TensorFlow (`kerashp.preflight`), before the first starts."""
        for self.current in self.all:
            preflight.check(self.study_class, self.current)

    def __iter__(self):
        return self

    def __next__(self):
        self.current = next(self.runs)
        _import_backend()
        from kerashp.tuning.runner import run_study

        return self.current, run_study(self.study_class, self.current)


def load_results(out: str | os.PathLike) -> Results:
    """The `Results` of a study directory, read from its files: also one still
    running, or run by another process or machine. Loads neither TensorFlow nor
    KerasTuner.

    Args:
        out: the study's output directory (for a study made of experiments,
            the directory holding one per experiment, or one of them).

    Raises:
        StudyError: `out` holds no study.
    """
    return Results.load(out)
