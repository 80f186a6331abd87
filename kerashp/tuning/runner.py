"""Runs a study end to end: data -> tuner (oracle on disk) -> trials -> report."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import pathlib
import platform
import shutil
import signal
import time
from typing import Any, Callable, Iterator

import keras_tuner
import pandas as pd

from kerashp import compat, tensorboard_hparams
from kerashp import preflight, searches
from kerashp.preflight import selected_configs
from kerashp.errors import Interrupted, RunInterrupted, StudyError, is_disk_full, last_line, option_name
from kerashp.report import study_report
from kerashp.settings import StudySettings
from kerashp.storage import layout, records
from kerashp.storage.layout import FINGERPRINT_FILE, PROJECT_NAME, TENSORBOARD_DIR
from kerashp.study import Study
from kerashp.tuning.lock import exclusive_lock
from kerashp.tuning.oracle import CONFIG_KEY, ConsecutiveFailures, grid_values
from kerashp.tuning import signals
from kerashp.tuning.progress import Progress
from kerashp.tuning.pruners import Rungs, first_rung, make_pruner
from kerashp.tuning.runs import DiskFull, KerasRuns
from kerashp.tuning.study_dir import check_definition, check_fingerprint, check_owner, remove_outputs
from kerashp.tuning.tuner import StudyTuner

logger = logging.getLogger("kerashp")



def check_overrides(study: Study) -> None:
    """Rejects `--set` names the study does not have and values of the wrong kind
    (a string for a number), before anything is trained or deleted."""
    space = study.search_space()
    declared = {hp.name: hp for hp in space.space}
    known = set(declared) | {name for values in study.configs.values() for name in values}
    for name, value in study.settings.training.overrides.items():
        if name not in known:
            raise StudyError(f"{option_name('set')} {name}: {study.name} has no hyperparameter {name!r}; "
                             f"it has: {', '.join(sorted(known))}")
        if isinstance(value, float) and not math.isfinite(value) or (
                isinstance(value, int) and not isinstance(value, bool) and not -2**63 <= value < 2**63):
            raise StudyError(f"{option_name('set')} {name}={value!r}: not a number Keras can use "
                             "(a finite float, an integer of at most 64 bits)")
        hp = declared.get(name)
        kinds = keras_tuner.engine.hyperparameters
        is_number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)  # noqa: E731
        numeric = isinstance(hp, (kinds.Float, kinds.Int)) or (
            isinstance(hp, kinds.Choice) and all(is_number(v) for v in hp.values))
        if numeric and not is_number(value):
            raise StudyError(f"{option_name('set')} {name}={value!r}: {name} must be a number")
        if isinstance(hp, kinds.Boolean) and not isinstance(value, bool):
            raise StudyError(f"{option_name('set')} {name}={value!r}: {name} must be True or False")


def check_configs(study: Study, configs: dict[str, dict[str, Any]]) -> None:
    """Rejects impossible hyperparameter values before anything is trained or deleted:
    each named configuration's, or for a search, its space's defaults with `--set` applied
    (so that an impossible `--set learning_rate=-1` is refused before the first trial)."""
    checks = [(f"configuration {name!r}", values) for name, values in configs.items()]
    if study.settings.search.method != "configs":
        space = study.search_space()
        overrides = study.settings.training.overrides
        label = (f"{option_name('set')} {', '.join(f'{k}={v!r}' for k, v in overrides.items())}" if overrides
                 else "the search space's defaults")
        checks.append((label, {**space.values, **overrides}))
    for label, values in checks:
        try:
            study.check_hyperparameters(values)
        except (ValueError, TypeError) as error:
            raise StudyError(f"{label}: {error}") from None


def longest_trial_epochs(study: Study, configs: dict[str, dict[str, Any]]) -> int:
    """The epochs of the study's longest trial, from `Study.trial_epochs` (the one
    place a trial's length is decided): over the configurations run, or at the largest
    value of a searched `epochs` hyperparameter (`--set epochs=N` fixes it)."""
    settings = study.settings
    space = study.search_space()
    if settings.search.method == "configs":
        candidates = [{**values, **settings.training.overrides} for values in configs.values()]
    else:
        values = {hp.name: hp.default for hp in space.space}
        for hp in space.space:
            if hp.name == "epochs":
                try:
                    values["epochs"] = max(grid_values(hp))
                except ValueError:
                    values["epochs"] = hp.max_value
        candidates = [{**values, **settings.training.overrides}]
    lengths = []
    for values in candidates:
        hp = keras_tuner.HyperParameters()
        hp.values.update(values)
        lengths.append(int(study.trial_epochs(hp)))
    return max(lengths)


def pruning_rungs(study: Study, configs: dict[str, dict[str, Any]]) -> Rungs | None:
    """The rungs of `--prune` (None: not pruned); StudyError where they cannot prune.

    A first rung left to its default (`settings.search.min_epochs` None) is chosen here,
    once the longest trial is known (`kerashp.tuning.pruners.first_rung`; 1 where nothing
    is pruned), and written into the settings, so that the project's fingerprint and
    saved settings hold the value trained with."""
    settings = study.settings
    if settings.search.prune == "none":
        if settings.search.min_epochs is None:
            settings.search.min_epochs = 1
        return None
    longest = longest_trial_epochs(study, configs)
    if settings.search.min_epochs is None:
        settings.search.min_epochs = first_rung(settings.search.prune, settings.search.eta, longest)
    try:
        return Rungs(settings.search.min_epochs, settings.search.eta, longest)
    except ValueError:
        raise StudyError(f"{option_name('prune')} {settings.search.prune}: the first rung ({option_name('min_epochs')} "
                         f"{settings.search.min_epochs}) must be "
                         f"shorter than the longest trial ({longest} epochs)") from None


def make_oracle(study: Study, configs: dict[str, dict[str, Any]]) -> keras_tuner.Oracle:
    """The oracle for `--search configs|grid|random|bayesian|tpe|hyperband`, pruned with `--prune`."""
    settings = study.settings
    objective = keras_tuner.Objective(study.objective, study.objective_direction)
    common: dict[str, Any] = dict(objective=objective, seed=settings.training.seed + 1, worker_timeout_s=settings.hardware.worker_timeout_s,
                                  runs_per_trial=settings.training.seeds,
                                  max_seconds=60 * settings.search.max_minutes if settings.search.max_minutes is not None else None)
    # A search stops after 3 failed trials in a row (KerasTuner's default; a diverged trial is an
    # outcome, not a failure); a grid or named configurations try every point.
    method = searches.get(settings.search.method)
    limit = study.max_consecutive_failed_trials
    common["max_consecutive_failed_trials"] = limit if limit is not None else (10**6 if method.exhaustive else 3)
    rungs = pruning_rungs(study, configs)
    if rungs is not None:
        common.update(pruner=make_pruner(settings.search.prune, rungs),
                      full_epochs=lambda trial: study.trial_epochs(trial.hyperparameters),
                      promote_when_exhausted=settings.search.when_exhausted == "promote")
    if method.name == "configs":
        return method.oracle_class()(configs, **common)
    fixed = keras_tuner.HyperParameters()
    for name, value in settings.training.overrides.items():
        fixed.Fixed(name, value)
    common.update(max_trials=settings.search.trials, hyperparameters=fixed)
    return method.oracle_class()(**common)


def machine_description() -> str:
    """One line naming the machine and software the run used."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        from kerashp.distribute import gpu_count

        backend = f"TensorFlow {tf.__version__}, {gpu_count()} GPU(s)"
    elif backend == "jax":
        import jax

        backend = f"JAX {jax.__version__} on {', '.join(sorted({d.device_kind for d in jax.devices()}))}"
    return (
        f"{platform.machine()} {platform.processor() or platform.system()}, {os.cpu_count()} CPU cores, "
        f"{backend}, Keras {keras.__version__}, KerasTuner {keras_tuner.__version__}"
    )


def epochs_text(study: Study) -> str:
    """The training length for the results note: `--epochs`, or the trials' own
    where epochs is one of the study's hyperparameters and not fixed."""
    settings = study.settings
    if study.epochs_hyperparameter and "epochs" not in settings.training.overrides:
        return "epochs per trial from its epochs hyperparameter (see the table)"
    return f"{settings.training.epochs} epochs"


def distributed_role() -> str | None:
    """"chief" or "worker" in KerasTuner's distributed mode (`KERASTUNER_*` variables), else None."""
    if not compat.has_chief_oracle():
        return None
    return "chief" if compat.is_chief_oracle() else "worker"




def table_hyperparameters(study: Study) -> tuple[str, ...]:
    """The table's hyperparameter columns: the study's `table_hyperparameters`, and in a
    search every other hyperparameter of its space (what was searched is always shown)."""
    names = list(study.table_hyperparameters)
    if study.settings.search.method != "configs":
        space = study.search_space()
        names += [hp.name for hp in space.space if hp.name not in names and hp.name != CONFIG_KEY]
    return tuple(names)


def report_spec(study: Study, data_description: str, total: int | None) -> study_report.ReportSpec:
    """What the report needs of the study, saved beside its trials."""
    settings = study.settings
    experiment = study.experiments[settings.experiment] if settings.experiment else None
    original = experiment.original if experiment else study.original
    return study_report.ReportSpec(
        name=study.name, description=study.description,
        experiment_description=experiment.description if experiment else "", experiment_names=tuple(study.experiments),
        hyperparameters=table_hyperparameters(study), metrics=tuple(study.table_metrics),
        curves=tuple(study.curves), curve_grid=tuple(study.curve_grid) if study.curve_grid else None,
        objective=study.objective, objective_direction=study.objective_direction,
        isolation_hyperparameter=study.isolation_hyperparameter, compared_metrics=tuple(study.compared_metrics()),
        epochs_text=epochs_text(study), original=original.to_json() if original is not None else None,
        settings=settings, data=data_description, total=total,
    )


def write_report(study: Study, data_description: str, total: int | None = None,
                 figures: bool = True) -> study_report.Report:
    """Rebuilds results.csv, results.md and (with `figures`) the figures from the trials on disk."""
    out = study.settings.output.out
    spec = report_spec(study, data_description, total)
    report = study_report.build_report(out, spec, machine=machine_description())
    extra = study.extra_report(report.trials, report.table) if figures else None
    study_report.write_report(report, extra, figures=figures)
    return report


def make_tracker(study: Study):
    """The MLflow tracker of `--track` (None without it)."""
    track = study.settings.output.track
    if not track:
        return None
    from kerashp.integrations.mlflow_tracking import MlflowTracker

    return MlflowTracker(study.settings.output.out, track)


def live_report(study: Study, data_description: str, total: int | None, tracker) -> Callable[[], None]:
    """What runs after each trial: the tables rewritten, and MLflow brought up to them."""
    def write() -> None:
        report = write_report(study, data_description, total, figures=False)
        if tracker is not None:
            tracker.sync(report)
    return write


def apply_shared_data_options(study: Study, data):
    """`--train-limit` and `--val-split` applied to what the study's `load_data`
    returned, where it did not apply them itself (`DataSplits.applied`)."""
    from kerashp.data.splits import apply_shared_options

    settings = study.settings
    return apply_shared_options(data, settings.data.train_limit, settings.data.val_split,
                                settings.training.seed if study.split_seed is None else study.split_seed)


def expected_trials(study: Study, configs: dict[str, dict[str, Any]], oracle) -> int | None:
    """How many trials the study has when done (None where no bound is known)."""
    settings = study.settings
    if settings.search.method == "configs":
        return len(configs)
    if settings.search.method == "grid":
        size = oracle.grid_size()
        return min(size, settings.search.trials) if settings.search.trials else size
    return settings.search.trials


def check_space(study: Study, configs: dict[str, dict[str, Any]]) -> None:
    """A search needs a declared space; a named configuration may only name its hyperparameters."""
    space = study.search_space()
    declared = {hp.name for hp in space.space}
    if study.settings.search.method != "configs" and not declared:
        raise StudyError(f"{option_name('search')} {study.settings.search.method}: {study.name} declares no search space; "
                         "give it a declare_hyperparameters(self, hp) method, or run its named configurations")
    if study.settings.search.method == "grid":
        for hp in space.space:
            if hp.name not in study.settings.training.overrides:
                try:
                    grid_values(hp)
                except ValueError as error:
                    raise StudyError(f"{option_name('search')} grid: {error}") from None
    if declared:
        for name, values in configs.items():
            unknown = sorted(set(values) - declared - set(study.settings.training.overrides))
            if unknown:
                raise StudyError(f"configuration {name!r} names {', '.join(map(repr, unknown))}, which "
                                 f"{study.name}'s search space does not declare ({', '.join(sorted(declared))})")


def counted_trials(project_dir: pathlib.Path, oracle: keras_tuner.Oracle) -> list[str]:
    """The trials counted as done: those that ended, and those running again after a rung
    (a promotion), which were counted when they first ended."""
    return [trial.trial_id for trial in oracle.trials.values()
            if trial.status in ("COMPLETED", "FAILED", "INVALID") or (
                trial.status == "RUNNING" and ((layout.read_rung_state(layout.trial_dir(project_dir, trial.trial_id))
                                                 or {}).get("rung") or 0) > 0)]


def resume_summary(project_dir: pathlib.Path, total: int | None, oracle: keras_tuner.Oracle) -> tuple[int, str | None]:
    """(trials finished, a line saying what is done and what resumes, or None for a new
    study), from the reloaded oracle's trials (the files were read once, by its reload)."""
    trials = sorted(oracle.trials.values(), key=lambda trial: records.trial_order(layout.trial_dir(".", trial.trial_id)))
    if not trials:
        return 0, None
    finished = counted_trials(project_dir, oracle)
    running = [t for t in trials if t.status == "RUNNING"]
    line = f"{len(finished)} of {total or len(trials)} trials done"
    if running:
        trial = running[0]
        trial_dir = layout.trial_dir(project_dir, trial.trial_id)
        epoch = max((layout.checkpoint_epoch(run) for _, run in records.execution_dirs(trial_dir)), default=0)
        state = layout.read_rung_state(trial_dir)
        epochs = (state or {}).get("epochs") or (trial.hyperparameters.values.get("epochs"))
        line += f"; resuming trial {trial.trial_id}" + (f" at epoch {epoch + 1}" if epoch else " from its start") \
            + (f"/{epochs}" if epochs and epoch else "")
    return len(finished), line


def run_study(study_class: type[Study], settings: StudySettings, executor: type[KerasRuns] = KerasRuns) -> pd.DataFrame:
    """Runs (or resumes) a study and returns its results table (see `_run_study`);
    a full disk anywhere ends it with one line (StudyError), nothing recorded as failed.

    `executor` trains each run the search hands it (`KerasRuns.run(trial, index, data,
    stage)`); the replay benchmark passes a subclass that answers from a recorded table."""
    worker = distributed_role() == "worker"
    if worker:  # a chief that is gone (or never came) ends this worker after --worker-timeout, in one line
        compat.set_oracle_client_timeout(settings.hardware.worker_timeout_s)
    try:
        return _run_study(study_class, settings, executor)
    except OSError as error:
        if is_disk_full(error):
            raise StudyError(disk_full_message(settings.output.out, f"no space left on device ({last_line(str(error))})")) from None
        raise
    except Exception as error:
        if worker and compat.is_unanswered_call(error):
            address = f"{os.environ.get('KERASTUNER_ORACLE_IP')}:{os.environ.get('KERASTUNER_ORACLE_PORT')}"
            raise StudyError(f"the chief at {address} did not answer for {settings.hardware.worker_timeout_s:g} s "
                             f"({option_name('worker_timeout')}); this worker stops, what it finished is in "
                             f"{settings.output.out}, and a worker started again takes up where it left") from None
        raise


def _run_study(study_class: type[Study], settings: StudySettings, executor: type[KerasRuns]) -> pd.DataFrame:
    """Runs (or resumes) a study and returns its results table.

    Every check that can fail on bad input runs before anything on disk is
    changed; `--overwrite` deletes earlier results only once the data loaded.

    Raises:
        StudyError: bad input, missing data, or a locked output directory.
        RunInterrupted: Ctrl-C or SIGTERM; the report of what finished is
            written and the invocation recorded first.
    """
    preflight.check(study_class, settings)
    study = study_class(settings)
    check_overrides(study)
    configs = selected_configs(study) if settings.search.method == "configs" else {}
    check_space(study, configs)
    check_configs(study, configs)
    if settings.output.reference is not None and settings.search.method == "configs" and settings.output.reference not in configs:
        raise StudyError(f"{option_name('reference')} {settings.output.reference!r} is not among the configurations run: "
                         f"{', '.join(configs)}")
    pruning_rungs(study, configs)  # refuses rungs that cannot prune, before anything changes
    if searches.get(settings.search.method).needs_trials and not settings.search.trials:
        raise StudyError(f"{option_name('search')} {settings.search.method} needs {option_name('trials')} N")
    out = settings.output.out
    role = distributed_role()
    if role == "worker" and settings.output.overwrite:
        raise StudyError(f"{option_name('overwrite')} is for the chief (or a single process), not for a worker")
    # Workers share the chief's output directory; the chief holds the lock for all of them.
    started = time.time()
    data = apply_shared_data_options(study, study.load_data())  # before the lock: data errors leave --out as it was
    study.data = data
    if role != "worker":
        check_owner(study)  # before the lock, which would leave its file in a directory that is not ours
    with exclusive_lock(out, settings.study) if role != "worker" else contextlib.nullcontext():
        logger.info("data: %s", data.description)
        if role != "worker":
            check_owner(study)  # again, now that no other run can write here
            if settings.output.overwrite:
                remove_outputs(study)
            layout.write_owner(out, study.name, settings.experiment)
        project_dir = out / PROJECT_NAME
        check_fingerprint(project_dir, settings, {field.name: field.default for field in dataclasses.fields(study.Options)
                                                  if field.default is not dataclasses.MISSING})
        definition = check_definition(project_dir, study)
        oracle = make_oracle(study, configs)
        tuner = StudyTuner(
            oracle,
            study,
            directory=str(out),
            project_name=PROJECT_NAME,
            tensorboard_dir=out / TENSORBOARD_DIR,
            executor=executor,
        )
        project_dir.mkdir(parents=True, exist_ok=True)
        tuner.oracle.verbose = 0  # one summary line per trial instead (StudyTuner.on_trial_end)
        if role == "worker":
            tuner.search(data=data)
            logger.info("worker %s: no trials left", os.environ.get("KERASTUNER_TUNER_ID"))
            return pd.DataFrame()
        total = expected_trials(study, configs, tuner.oracle)
        done, resumed = resume_summary(project_dir, total, tuner.oracle)
        if resumed:
            logger.info("%s: %s", out, resumed)
        records.write_json_atomic(project_dir / FINGERPRINT_FILE, settings.training_fingerprint())
        records.write_json_atomic(project_dir / layout.DEFINITION_FILE, definition)
        layout.write_study(project_dir, report_spec(study, data.description, total).to_json())
        hparam_names = [CONFIG_KEY, *(hp.name for hp in tuner.oracle.get_space().space), "seed"]
        tensorboard_hparams.write_experiment_config(out / TENSORBOARD_DIR, list(dict.fromkeys(hparam_names)))
        if role == "chief":
            logger.info("chief: serving the oracle on %s:%s; workers train",
                        os.environ["KERASTUNER_ORACLE_IP"], os.environ["KERASTUNER_ORACLE_PORT"])
        progress = Progress(project_dir, total, done, counted_trials(project_dir, tuner.oracle))
        tuner.progress = progress
        tuner.weights.start([(t.trial_id, t.score) for t in tuner.oracle.trials.values()
                             if t.status == "COMPLETED"])
        tracker = make_tracker(study)
        if tracker is not None:  # an unreachable server is found before any training, not after it
            tracker.sync(write_report(study, data.description, total, figures=False))
        tuner.on_trial_done = LiveTable(live_report(study, data.description, total, tracker))
        stopped: BaseException | None = None
        failures: ConsecutiveFailures | None = None
        try:
            with signals.stop_signals_raise():
                tuner.search(data=data)
        except (KeyboardInterrupt, Interrupted) as error:
            stopped = error
        except DiskFull as error:
            stopped = error
        except ConsecutiveFailures as error:
            failures = error
        finally:
            run = {
                "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
                "ended": time.strftime("%Y-%m-%d %H:%M:%S"),
                "wall_s": time.time() - started,
                "machine": machine_description(),
                **({"interrupted": getattr(stopped, "signal_name", "SIGINT")} if stopped is not None else {}),
            }
            with ignoring_signals():
                try:
                    layout.append_run(project_dir, run)
                    progress.close("interrupted" if stopped is not None else "finished")
                except OSError as error:
                    if not is_disk_full(error):
                        raise
        if stopped is None and total is not None and resume_summary(project_dir, total, tuner.oracle)[0] >= total:
            tuner.weights.search_finished()  # no trial can be promoted any more
        with ignoring_signals():
            try:
                report = write_report(study, data.description, total, figures=tuner.runs.report_figures)
                table = report.table
            except OSError as error:
                if not is_disk_full(error):
                    raise
                stopped = stopped if isinstance(stopped, DiskFull) else DiskFull("the report")
                report = None
            if tracker is not None and report is not None:
                try:
                    tracker.sync(report, final=True, interrupted=stopped is not None)
                except StudyError as error:  # the results are on disk; the next run of the command syncs again
                    logger.warning("%s; the results are in %s, and rerunning the command brings MLflow up to "
                                   "them", error, out)
    if isinstance(stopped, DiskFull):
        raise StudyError(disk_full_message(out, stopped)) from None
    if failures is not None and stopped is None:
        raise StudyError(f"stopped after {failures.count} failed trials in a row (the study's "
                         f"max_consecutive_failed_trials), the last: {last_line(failures.last_message)}; "
                         f"what finished is in {out / 'results.md'}, the tracebacks in "
                         f"{out / PROJECT_NAME / layout.ERROR_LOG_FILE}")
    if stopped is not None:
        where = progress.where()
        raise RunInterrupted(
            f"interrupted ({getattr(stopped, 'signal_name', 'Ctrl-C')}) {where}; the report of what finished "
            f"is in {out / 'results.md'}; rerun the same command to resume",
            getattr(stopped, "exit_status", 130))
    logger.info("results: %s and %s", out / "results.csv", out / "results.md")
    if settings.quick:
        logger.info("a --quick demo (%d epochs on a small sample, from scratch): it shows that the study runs and "
                    "reports, not which configuration is better; results.md says so", settings.training.epochs)
    return table


def disk_full_message(out, error) -> str:
    """One line: where the disk filled, how much is free there, what a checkpoint needs."""
    free = shutil.disk_usage(out).free if out.exists() else 0
    runs = [run for trial_file in records.trial_files(out / PROJECT_NAME)
            for _, run in records.execution_dirs(trial_file.parent)]
    sizes = [path.stat().st_size for run in runs
             for path in (*run.glob("*.weights.h5"), *layout.checkpoint_dir(run).glob("*.weights.h5"))]
    need = max(sizes, default=0)
    size = lambda n: f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"  # noqa: E731
    needed = f"; a checkpoint of this model takes about {size(need)}" if need else ""
    return (f"{error}: the file system of {out} is full ({size(free)} free){needed}. Free some space and rerun "
            "the same command: finished trials are kept, a trial in flight resumes from its last checkpoint")


class LiveTable:
    """results.csv and results.md rewritten after a trial (figures at the end), at most
    `SHARE` of the time: rebuilding them reads every trial, so after each of 20,000 trials
    it would cost more than the trials. A rewrite under `CHEAP_S` is done after every
    trial; after a longer one the next waits `1 / SHARE` times as long (the final report
    is always written)."""

    SHARE = 0.05
    CHEAP_S = 0.05

    def __init__(self, write: Callable[[], Any]):
        self.write = write
        self.next_at = 0.0

    def __call__(self) -> None:
        started = time.monotonic()
        if started < self.next_at:
            return
        try:
            self.write()
        except (OSError, StudyError) as error:  # a convenience: the run goes on (a full disk stops it later)
            logger.warning("results table not updated: %s", error)
        ended = time.monotonic()
        took = ended - started
        self.next_at = 0.0 if took < self.CHEAP_S else ended + took / self.SHARE


@contextlib.contextmanager
def ignoring_signals() -> Iterator[None]:
    """A second Ctrl-C or SIGTERM waits while the report of what finished is written."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
