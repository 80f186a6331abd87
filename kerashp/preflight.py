"""Checks of a run's settings that need neither TensorFlow nor KerasTuner, made before
either loads: bad input is answered in about a second (unknown configuration names,
missing data paths, a study that cannot run), not after the ten seconds an import of
TensorFlow takes. The runner makes them again (a study run from Python skips nothing).
"""

from __future__ import annotations

import pathlib
import re
from typing import Any

from kerashp.errors import StudyError, option_name
from kerashp.settings import StudySettings

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # a study's or experiment's name: one directory level
PATH_SOURCES = ("file:", "folder:")  # --data sources that name a path on this machine


def check_study_class(study_class: Any) -> None:
    """One line for a study class that cannot run."""
    from kerashp.study import Study

    if not isinstance(study_class, type) or not issubclass(study_class, Study):
        raise StudyError(f"{study_class!r} is not a kerashp.Study subclass")
    label = study_class.__name__
    if not study_class.name:
        raise StudyError(f"{label} has no name: set name = \"...\" (its outputs go to artifacts/<name>/)")
    for kind, name in [("name", study_class.name), *(("experiment", n) for n in study_class.experiments or ())]:
        if not isinstance(name, str) or not SAFE_NAME.fullmatch(name) or ".." in name:
            raise StudyError(f"{label}'s {kind} {name!r} is not a plain name (letters, digits, '_', '-', '.'; "
                             "it names a directory under artifacts/, not a path)")
    if study_class.build is Study.build:
        raise StudyError(f"{label} has no build(self, hp) method returning a compiled Keras model")
    if not study_class.configs and not study_class.experiments and \
            study_class.declare_hyperparameters is Study.declare_hyperparameters:
        raise StudyError(f"{label} has neither named configurations (configs = {{...}}) nor a search space "
                         "(declare_hyperparameters): it has nothing to train")


def selected_configs(study) -> dict[str, dict[str, Any]]:
    """The configurations this run trains (`--configs`), with `--set` applied."""
    settings = study.settings
    names = settings.search.configs or list(study.configs)
    unknown = [name for name in names if name not in study.configs]
    if unknown:
        raise StudyError(
            f"unknown configuration {', '.join(map(repr, unknown))} for {study.name}; "
            f"choose from: {', '.join(study.configs)}"
        )
    return {name: {**study.configs[name], **settings.training.overrides} for name in names}


def check_data_path(settings: StudySettings) -> None:
    """A `--data file:PATH` or `folder:PATH` that does not exist, named in one line."""
    spec = settings.data.spec or ""
    for prefix in PATH_SOURCES:
        if spec.startswith(prefix):
            path = pathlib.Path(spec[len(prefix):]).expanduser()
            if not path.exists():
                raise StudyError(f"data path {path} does not exist")


def check(study_class: Any, settings: StudySettings) -> None:
    """Every check of this module, for one run."""
    from kerashp.options import SEED_LIMIT

    check_study_class(study_class)
    if settings.training.seed + settings.training.seeds > SEED_LIMIT:
        raise StudyError(f"{option_name('seed')} {settings.training.seed} with {option_name('seeds')} "
                         f"{settings.training.seeds}: the last seed would pass {SEED_LIMIT - 1}")
    if settings.search.method == "configs":
        selected_configs(study_class(settings))
    check_data_path(settings)
