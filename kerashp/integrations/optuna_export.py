"""A study directory as an Optuna study: `kerashp export optuna OUT` and `Results.to_optuna()`.

One Optuna trial per kerashp run (a trial with `--seeds 3` is three Optuna trials), with

- its hyperparameters as Optuna distributions made from the search space the trial
  was drawn from (KerasTuner's `Choice` -> categorical, `Int`/`Float` -> int/float with
  their bounds, step and log scale, `Boolean` -> categorical; a value no declared
  distribution holds, such as a named configuration's name, -> a categorical of the
  study's values);
- each epoch's objective (`val_accuracy`, ...) as the intermediate value of that step
  (epochs counted from 1), the run's ranked figure (`best_val_accuracy`, ...) as its value;
- its state: COMPLETE, PRUNED (stopped at a rung of a search that has ended; its value
  is the objective at that rung, as Optuna's `tell` records a pruned trial), FAIL, or
  RUNNING (still training, or paused at a rung that a running search may promote);
- user attributes: the kerashp trial id, run index and seed, the configuration's name,
  the rung reached and why it stopped, the test figures, fixed hyperparameters.

Exporting again after more trials adds the new runs and brings the RUNNING ones up to
date; a finished Optuna trial is never rewritten (Optuna's storages do not allow it), so a
run exported as PRUNED that a later search promoted is reported, not changed. The Optuna
study remembers which directory it mirrors: exporting another study (or the same directory
started afresh with `--overwrite`) into it is refused.
"""

from __future__ import annotations

import datetime
import logging
import math
import os
import pathlib
from typing import TYPE_CHECKING, Any

from kerashp.errors import StudyError, last_line
from kerashp.integrations.optuna_space import distribution
from kerashp.storage import layout, records

if TYPE_CHECKING:
    import optuna

    from kerashp.report.study_report import Report

logger = logging.getLogger("kerashp")

DEFAULT_STORAGE_FILE = "optuna.db"  # beside the study's results
RUN_KEY = "kerashp_run"  # trial user attribute: "<trial id>/<run index>"
DIRECTORY_KEY = "kerashp_directory"  # study user attribute: which study directory this mirrors
JOURNAL_SUFFIXES = (".log", ".journal", ".jsonl")


def import_optuna():
    """The `optuna` module, or a one-line StudyError naming the extra to install."""
    try:
        import optuna
    except ImportError:
        raise StudyError('this needs Optuna: pip install "kerashp[optuna]"') from None
    return optuna


def open_storage(target: str | os.PathLike | None, out: pathlib.Path):
    """An Optuna storage from a URL (`sqlite:///FILE.db`, `postgresql://...`), a journal file's
    path (`FILE.log`), an SQLite file's path (`FILE.db`), or None: `OUT/optuna.db`."""
    optuna = import_optuna()
    target = str(out / DEFAULT_STORAGE_FILE) if target is None else str(target)
    try:
        if "://" in target:
            return optuna.storages.RDBStorage(target)
        path = pathlib.Path(target)
        if path.is_dir():
            raise StudyError(f"{path} is a directory; give a file (FILE.db for SQLite, FILE.log for Optuna's journal)")
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix in JOURNAL_SUFFIXES:
            from optuna.storages.journal import JournalFileBackend

            return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
        return optuna.storages.RDBStorage(f"sqlite:///{path.resolve()}")
    except StudyError:
        raise
    except Exception as error:  # SQLAlchemy's and Optuna's own errors: a bad URL, a file that is no database
        raise StudyError(f"cannot open the Optuna storage {target}: {type(error).__name__}: "
                         f"{last_line(str(error))}") from None


def directory_identity(out: pathlib.Path) -> str:
    """What tells one study directory from another (or from itself started afresh): its path
    and the id its first run gave it (`kerashp.storage.layout.directory_id`)."""
    return f"{pathlib.Path(out).resolve()}@{layout.directory_id(out) or '-'}"


def export_report(report: Report, storage: Any, study_name: str | None = None) -> "optuna.Study":
    """Writes (or brings up to date) the Optuna study mirroring one study directory.

    Args:
        report: the study directory as read by `kerashp.report.study_report.build_report`.
        storage: an Optuna storage (`open_storage`).
        study_name: the Optuna study's name (default: the study's, `name/experiment` for
            an experiment).

    Returns:
        The Optuna study.

    Raises:
        StudyError: the storage's study of that name mirrors another directory, or its
            distributions conflict with this one's.
    """
    optuna = import_optuna()
    spec = report.spec
    name = study_name or (f"{spec.name}/{spec.experiment}" if spec.experiment else spec.name)
    identity = directory_identity(report.out)
    direction = "maximize" if spec.higher_is_better else "minimize"
    try:
        study = optuna.create_study(storage=storage, study_name=name, direction=direction, load_if_exists=True)
    except ValueError as error:  # an existing study with other directions
        raise StudyError(f"the Optuna study {name!r} cannot hold {report.out}: {error}") from None
    known = study.user_attrs.get(DIRECTORY_KEY)
    if known is None:
        study.set_user_attr(DIRECTORY_KEY, identity)
        study.set_user_attr("kerashp_objective", spec.rank_by)
    elif known != identity:
        raise StudyError(f"the Optuna study {name!r} in this storage mirrors another study directory "
                         f"({known.rsplit('@', 1)[0]}, or this one before it was started afresh); "
                         "give --storage another file, or a new name with --study-name")
    study_id = storage.get_study_id_from_name(name)
    existing = {trial.user_attrs.get(RUN_KEY): trial for trial in study.get_trials(deepcopy=False)}
    runs = list(_runs(report, optuna))
    added = updated = 0
    moved_on = []
    for key, frozen in runs:
        before = existing.get(key)
        try:
            if before is None:
                storage.create_new_trial(study_id, template_trial=frozen)
                added += 1
            elif before.state == optuna.trial.TrialState.RUNNING:
                _update(storage, storage.get_trial_id_from_study_id_trial_number(study_id, before.number), before,
                        frozen)
                updated += 1
            elif before.state != frozen.state or len(before.intermediate_values) < len(frozen.intermediate_values):
                moved_on.append(key)
        except ValueError as error:  # Optuna refuses a distribution that differs from earlier trials'
            raise StudyError(f"run {key} cannot join the Optuna study {name!r}: {error} (the search space changed "
                             "since the last export?); give --storage another file") from None
    if moved_on:
        logger.warning("%d run(s) went on after they were exported as finished (%s); Optuna does not let a finished "
                       "trial change: export to a new storage for an exact copy", len(moved_on), ", ".join(moved_on[:5]))
    logger.debug("Optuna study %r: %d run(s) added, %d brought up to date, %d in all", name, added, updated,
                len(existing) + added)
    return study


def _update(storage: Any, trial_id: int, before: Any, frozen: Any) -> None:
    """Brings a RUNNING Optuna trial up to `frozen` (new epochs, attributes, its end)."""
    for step, value in frozen.intermediate_values.items():
        if step not in before.intermediate_values:
            storage.set_trial_intermediate_value(trial_id, step, value)
    for key, value in frozen.user_attrs.items():
        if before.user_attrs.get(key) != value:
            storage.set_trial_user_attr(trial_id, key, value)
    if frozen.state.is_finished():
        storage.set_trial_state_values(trial_id, frozen.state, frozen.values)


def _runs(report: Report, optuna) -> Any:
    """(key, FrozenTrial) for every run of every trial, in trial order."""
    spec = report.spec
    distributions = study_distributions(report, optuna)
    pruned = {trial.record.trial_id: trial for trial in report.pruned}
    progress = layout.read_progress(layout.project_dir(report.out)) or {}
    search_ended = progress.get("state") == "finished"
    table = report.table
    stopped = (dict(zip(table["trial"].astype(str), table["stopped"])) if "stopped" in table else {})
    State = optuna.trial.TrialState
    for record in report.trials:
        params = {name: value for name, value in record.values.items() if name in distributions}
        fixed = {name: value for name, value in record.values.items() if name not in distributions}
        for execution in record.executions or [None]:
            index = execution.index if execution is not None else 0
            summary = execution.summary if execution is not None else None
            steps = _intermediate_values(execution, spec.objective)
            value = summary.get(spec.rank_by) if summary else None
            value = float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
            rung = pruned.get(record.trial_id)
            if record.status in ("FAILED", "INVALID"):
                state, value = State.FAIL, None
            elif summary is None:
                state, value = State.RUNNING, None
            elif rung is not None and rung.rungs and not rung.full_budget:
                state = State.PRUNED if search_ended else State.RUNNING
                value = steps[max(steps)] if steps and state == State.PRUNED else None
            elif value is None:
                state = State.FAIL  # finished without a finite objective (a diverged run)
            else:
                state = State.COMPLETE
            attrs: dict[str, Any] = {RUN_KEY: f"{record.trial_id}/{index}", "kerashp_trial": record.trial_id,
                                     "run": index, "seed": spec.settings.training.seed + index, "name": record.name,
                                     "epochs": len(steps) if steps else int((summary or {}).get("epochs", 0))}
            attrs.update({name: value_ for name, value_ in fixed.items() if _plain(value_)})
            if rung is not None and rung.rungs:
                attrs.update({"rung": rung.reached, "rungs": "/".join(map(str, rung.rungs))})
                if isinstance(stopped.get(record.trial_id), str):
                    attrs["stopped"] = stopped[record.trial_id]
            if record.message:
                attrs["message"] = last_line(str(record.message))
            for key, figure in (summary or {}).items():
                if "test_" in key and not key.endswith("_seconds") and isinstance(figure, (int, float)) \
                        and math.isfinite(figure):
                    attrs[key] = float(figure)
            start, end = _times(execution)
            frozen = optuna.trial.FrozenTrial(
                number=0, state=state, value=None, values=[value] if value is not None else None,
                datetime_start=start, datetime_complete=end if state.is_finished() else None, params=params,
                distributions={name: distributions[name] for name in params}, user_attrs=attrs, system_attrs={},
                intermediate_values=steps, trial_id=0)
            frozen._validate()
            yield attrs[RUN_KEY], frozen


def study_distributions(report: Report, optuna) -> dict[str, Any]:
    """Hyperparameter name -> Optuna distribution, for every searched (not fixed) value."""
    dist = optuna.distributions
    declared: dict[str, Any] = {}
    fixed: set[str] = set()
    for record in report.trials:
        for entry in record.space:
            name = entry.get("config", {}).get("name") if isinstance(entry, dict) else None
            if name is None or name in declared or name in fixed:
                continue
            made = distribution(entry)
            if made is None:
                fixed.add(name)
            else:
                declared[name] = made
    observed: dict[str, list[Any]] = {}
    for record in report.trials:
        for name, value in record.values.items():
            if name not in fixed and _plain(value):
                observed.setdefault(name, [])
                if value not in observed[name]:
                    observed[name].append(value)
    configs = list((records.read_json_if_present(layout.project_dir(report.out) / layout.DEFINITION_FILE)
                    or {}).get("configs", {}))
    result = {}
    for name, values in observed.items():
        made = declared.get(name)
        if made is None or not all(made._contains(made.to_internal_repr(value)) for value in values):
            # no declared distribution (a configuration's name) or values outside it (--set): the values seen
            choices = configs if name == "config" and set(values) <= set(configs) else values
            made = dist.CategoricalDistribution(sorted(choices, key=lambda v: (type(v).__name__, v)))
        result[name] = made
    return result


def _intermediate_values(execution: Any, objective: str) -> dict[int, float]:
    if execution is None:
        return {}
    steps = {}
    for row in execution.history_rows():
        value = row.get(objective)
        if isinstance(value, (int, float)) and math.isfinite(value) and "epoch" in row:
            steps[int(row["epoch"])] = float(value)
    return steps


def _times(execution: Any) -> tuple[datetime.datetime, datetime.datetime]:
    """When a run began and ended, from its files (the summary's time, less the epochs' seconds)."""
    now = datetime.datetime.now()
    if execution is None or execution.directory is None:
        return now, now
    directory = pathlib.Path(execution.directory)
    try:
        ended = max(path.stat().st_mtime for path in directory.iterdir() if path.is_file())
    except (OSError, ValueError):
        return now, now
    seconds = sum(float(row.get("epoch_seconds", 0) or 0) for row in execution.history_rows())
    seconds = seconds if math.isfinite(seconds) else 0.0
    return datetime.datetime.fromtimestamp(ended - seconds), datetime.datetime.fromtimestamp(ended)


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))
