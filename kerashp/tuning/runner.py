"""Runs a study end to end: data -> tuner (oracle on disk) -> trials -> report."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import shutil
import time
from typing import Any

import keras_tuner
import pandas as pd

from kerashp import tensorboard_hparams
from kerashp.errors import StudyError
from kerashp.report import plot_learning_curve_grid, plot_learning_curves, results_table, uncertainty, write_results
from kerashp.report import pruning as pruning_report
from kerashp.report.figures import plot_seed_values
from kerashp.report.search_figures import plot_hyperparameter_panels, plot_isolation, top_trials
from kerashp.report.tables import epochs_table
from kerashp.settings import StudySettings
from kerashp.storage import records
from kerashp.tuning.hypermodel import StudyHyperModel
from kerashp.tuning.lock import exclusive_lock
from kerashp.tuning.oracle import (
    CONFIG_KEY,
    GridOracle,
    NamedConfigOracle,
    ResumableBayesianOracle,
    ResumableRandomSearchOracle,
    grid_values,
)
from kerashp.tuning.pruning import Rungs, with_pruning
from kerashp.tuning.tuner import StudyTuner

logger = logging.getLogger("kerashp")

PROJECT_NAME = "tuner"
TENSORBOARD_DIR = "tensorboard"
FINGERPRINT_FILE = "kerashp_settings.json"
RUN_LOG_FILE = "kerashp_runs.jsonl"
EPOCHS_FILE = "epochs.csv"
SEEDS_FILE = "seeds.csv"  # with --seeds N >= 2: every run's compared metrics and paired differences
TOP_K = 20  # trials shown in results.md of a search
TOP_CURVES = 5  # trials drawn in top_trials.png
REPORT_FILES = ("results.csv", "results.md", EPOCHS_FILE, SEEDS_FILE, "seeds.png", "learning_curves.png",
                "hyperparameters.png", "isolation.png", "top_trials.png", "pruned_curves.png")


def selected_configs(study: StudyHyperModel) -> dict[str, dict[str, Any]]:
    """The configurations this run trains (`--configs`), with `--set` applied."""
    settings = study.settings
    names = settings.configs or list(study.configs)
    unknown = [name for name in names if name not in study.configs]
    if unknown:
        raise StudyError(
            f"unknown configuration {', '.join(map(repr, unknown))} for {study.name}; "
            f"choose from: {', '.join(study.configs)}"
        )
    return {name: {**study.configs[name], **settings.overrides} for name in names}


def check_overrides(study: StudyHyperModel) -> None:
    """Rejects `--set` names the study does not have and values of the wrong kind
    (a string for a number), before anything is trained or deleted."""
    space = keras_tuner.HyperParameters()
    try:
        study.declare_hyperparameters(space)
    except NotImplementedError:
        pass
    declared = {hp.name: hp for hp in space.space}
    known = set(declared) | {name for values in study.configs.values() for name in values}
    for name, value in study.settings.overrides.items():
        if name not in known:
            raise StudyError(f"--set {name}: {study.name} has no hyperparameter {name!r}; "
                             f"it has: {', '.join(sorted(known))}")
        hp = declared.get(name)
        kinds = keras_tuner.engine.hyperparameters
        is_number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)  # noqa: E731
        numeric = isinstance(hp, (kinds.Float, kinds.Int)) or (
            isinstance(hp, kinds.Choice) and all(is_number(v) for v in hp.values))
        if numeric and not is_number(value):
            raise StudyError(f"--set {name}={value!r}: {name} must be a number")
        if isinstance(hp, kinds.Boolean) and not isinstance(value, bool):
            raise StudyError(f"--set {name}={value!r}: {name} must be True or False")


def check_configs(study: StudyHyperModel, configs: dict[str, dict[str, Any]]) -> None:
    """Rejects impossible hyperparameter values before anything is trained or deleted."""
    for name, values in configs.items():
        try:
            study.check_hyperparameters(values)
        except (ValueError, TypeError) as error:
            raise StudyError(f"configuration {name!r}: {error}") from None


def longest_trial_epochs(study: StudyHyperModel, configs: dict[str, dict[str, Any]]) -> int:
    """The epochs of the study's longest trial: of the configurations run, or the
    largest value of a searched `epochs` hyperparameter, else `--epochs`."""
    settings = study.settings
    if settings.search == "configs":
        return max(int(values.get("epochs", settings.epochs)) for values in configs.values())
    if "epochs" in settings.overrides:
        return int(settings.overrides["epochs"])
    space = keras_tuner.HyperParameters()
    try:
        study.declare_hyperparameters(space)
    except NotImplementedError:
        return settings.epochs
    for hp in space.space:
        if hp.name == "epochs":
            try:
                return int(max(grid_values(hp)))
            except ValueError:
                return int(hp.max_value)
    return settings.epochs


def pruning_rungs(study: StudyHyperModel, configs: dict[str, dict[str, Any]]) -> Rungs | None:
    """The rungs of `--prune` (None: not pruned); StudyError where they cannot prune."""
    settings = study.settings
    if settings.prune == "none":
        return None
    longest = longest_trial_epochs(study, configs)
    try:
        return Rungs(settings.min_epochs, settings.eta, longest)
    except ValueError:
        raise StudyError(f"--prune {settings.prune}: the first rung (--min-epochs {settings.min_epochs}) must be "
                         f"shorter than the longest trial ({longest} epochs)") from None


def make_oracle(study: StudyHyperModel, configs: dict[str, dict[str, Any]]) -> keras_tuner.Oracle:
    """The oracle for `--search configs|grid|random|bayesian|hyperband`, pruned with `--prune`."""
    settings = study.settings
    objective = keras_tuner.Objective(study.objective, study.objective_direction)
    common: dict[str, Any] = dict(objective=objective, seed=settings.seed + 1, worker_timeout_s=settings.worker_timeout_s,
                                  runs_per_trial=settings.seeds,
                                  deadline=time.monotonic() + 60 * settings.max_minutes if settings.max_minutes is not None else None)
    rungs = pruning_rungs(study, configs)
    if rungs is not None:
        common.update(pruner=settings.prune, rungs=rungs,
                      full_epochs=lambda values: int(values.get("epochs", settings.epochs)))
    def oracle_class(base: type) -> type:
        return with_pruning(base) if rungs is not None else base

    if settings.search == "configs":
        return oracle_class(NamedConfigOracle)(configs, **common)
    fixed = keras_tuner.HyperParameters()
    for name, value in settings.overrides.items():
        fixed.Fixed(name, value)
    common.update(max_trials=settings.trials, hyperparameters=fixed, max_consecutive_failed_trials=10**6)
    bases = {"grid": GridOracle, "random": ResumableRandomSearchOracle, "hyperband": ResumableRandomSearchOracle,
             "bayesian": ResumableBayesianOracle}
    if settings.search not in bases:
        raise StudyError(f"unknown search {settings.search!r}; choose configs, grid, random, bayesian or hyperband")
    return oracle_class(bases[settings.search])(**common)


def check_fingerprint(project_dir, settings: StudySettings) -> None:
    """Refuses to resume a project that was made with other training settings."""
    path = project_dir / FINGERPRINT_FILE
    if not path.exists():
        return
    saved = json.loads(path.read_text())
    current = json.loads(json.dumps(settings.training_fingerprint()))
    # A key added to the fingerprint after a project was made counts as its default there.
    saved = {key: saved.get(key, StudySettings.default_of(key)) for key in set(saved) | set(current)}
    differing = [
        f"{key} {saved.get(key)!r} there vs {current.get(key)!r} now"
        for key in sorted(saved)
        if saved.get(key) != current.get(key)
    ]
    if differing:
        raise StudyError(
            f"{settings.out} holds results made with other settings ({'; '.join(differing)}); "
            "pass --overwrite to start afresh or --out for a new directory"
        )


def remove_outputs(study: StudyHyperModel) -> None:
    """Deletes this study's earlier project, TensorBoard logs, tables and figures."""
    out = study.settings.out
    for name in (PROJECT_NAME, TENSORBOARD_DIR):
        shutil.rmtree(out / name, ignore_errors=True)
    for name in [*REPORT_FILES, *(f"{metric}.png" for metric, _ in study.curves)]:
        (out / name).unlink(missing_ok=True)


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


def epochs_text(study: StudyHyperModel) -> str:
    """The training length for the results note: `--epochs`, or the trials' own
    where epochs is one of the study's hyperparameters and not fixed."""
    settings = study.settings
    if study.epochs_hyperparameter and "epochs" not in settings.overrides:
        return "epochs per trial from its epochs hyperparameter (see the table)"
    return f"{settings.epochs} epochs"


def results_header(study: StudyHyperModel, data_description: str, runs: list[dict[str, Any]]) -> str:
    """The how-it-was-made note above the table in results.md."""
    settings = study.settings
    wall = sum(run.get("wall_s", 0.0) for run in runs)
    experiment = study.experiments[settings.experiment] if settings.experiment else None
    lines = [
        f"# {study.name}: {study.description}"
        + (f"; experiment {settings.experiment}: {experiment.description}" if experiment else ""),
        "",
        f"- data: {data_description}",
        f"- budget: {epochs_text(study)}, batch size {settings.batch_size}, "
        f"{settings.seeds} seed(s) from {settings.seed}, search: {settings.search}"
        + (f" ({settings.trials} trials)" if settings.search != "configs" else "")
        + (f", pruned: {settings.prune} (first rung {settings.min_epochs} epoch(s), eta {settings.eta})"
           if settings.prune != "none" else ""),
        f"- options: {json.dumps(settings.options, sort_keys=True)}"
        + (f", overrides {json.dumps(settings.overrides, sort_keys=True)}" if settings.overrides else ""),
        f"- machine: {runs[-1]['machine'] if runs else machine_description()}",
        f"- wall time: {wall:.0f} s over {len(runs)} invocation(s), the last on {runs[-1]['ended'] if runs else '-'}",
        "- images/s: mean training throughput of the epochs after the first (which pays for tracing)"
        + (f"; with --pack {settings.pack}, trials trained side by side share one step, so their"
           " training time and images/s are those of the packed model" if settings.pack > 1 else ""),
        "",
    ]
    return "\n".join(lines) + "\n"


def ends_mid_line(path) -> bool:
    """True where a file's last line has no newline (cut by a kill)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) != b"\n"


def read_run_log(path) -> list[dict[str, Any]]:
    """The invocations recorded in kerashp_runs.jsonl; a line cut by a kill is skipped."""
    if not path.exists():
        return []
    runs = []
    for line in path.read_text().splitlines():
        try:
            runs.append(json.loads(line))
        except json.JSONDecodeError:
            logger.warning("%s: skipped an unreadable line (a run killed while writing it)", path)
    return runs


def write_report(study: StudyHyperModel, project_dir, data_description: str) -> pd.DataFrame:
    """Rebuilds results.csv, results.md and the figures from the trials on disk."""
    out = study.settings.out
    trials = records.load_trials(project_dir)
    run_log = project_dir / RUN_LOG_FILE
    runs = read_run_log(run_log)
    hyperparameters = study.table_hyperparameters
    searching = study.settings.search != "configs"
    rank_by = f"best_{study.objective}"
    higher_is_better = study.objective_direction == "max"
    metrics = tuple(study.table_metrics)
    if searching and rank_by not in dict(metrics):  # a search is ranked by its objective: show it
        metrics += ((rank_by, rank_by.replace("_", " ")),)
    table = results_table(trials, hyperparameters, metrics)
    comparisons = compare_seeds(study, trials) if study.settings.seeds > 1 else []
    if comparisons and len(table):
        table = table.join(uncertainty.comparison_columns(comparisons), on="name")
    footer = uncertainty.comparison_markdown(comparisons)
    pruned = pruning_report.pruned_trials(trials, project_dir) if study.settings.prune != "none" else []
    if pruned and len(table):
        settings = study.settings
        table = table.merge(pruning_report.pruning_columns(pruned, study.objective, higher_is_better, settings.eta,
                                                           settings.prune), on="trial", how="left")
        metrics += (("rung_epochs", "epochs (rung reached)"),)
        footer = pruning_report.pruning_markdown(pruned, settings.prune, settings.min_epochs, settings.eta) + footer
    write_results(
        table, out, hyperparameters, metrics,
        header=results_header(study, data_description, runs),
        top_k=TOP_K if searching else None, rank_by=rank_by, higher_is_better=higher_is_better,
        footer=footer,
    )
    if comparisons:
        uncertainty.per_seed_table(comparisons).to_csv(out / SEEDS_FILE, index=False)
        plot_seed_values(comparisons, out / "seeds.png", f"{study.name}"
                         + (f" / {study.settings.experiment}" if study.settings.experiment else "")
                         + f": {study.settings.seeds} seeds")
    epochs_table(trials, hyperparameters).to_csv(out / EPOCHS_FILE, index=False)
    title = study.name + (f" / {study.settings.experiment}" if study.settings.experiment else "")
    if len(trials) <= TOP_K:  # one line per trial; a larger search draws its best in top_trials.png
        for metric, metric_title in study.curves:
            plot_learning_curves(trials, metric, out / f"{metric}.png", f"{title}: {metric_title}")
        if study.curve_grid:
            plot_learning_curve_grid(trials, study.curve_grid, out / "learning_curves.png", title)
    if searching and len(table) and rank_by in table:
        plot_hyperparameter_panels(table, hyperparameters, rank_by, out / "hyperparameters.png",
                                   f"{title}: {rank_by} of every trial")
        isolated = study.isolation_hyperparameter or (hyperparameters[0] if hyperparameters else None)
        if isolated:
            plot_isolation(table, isolated, rank_by, out / "isolation.png",
                           f"{title}: best trial per {isolated}", higher_is_better)
        best = top_trials(trials, table, rank_by, TOP_CURVES, higher_is_better)
        plot_learning_curves(best, study.objective, out / "top_trials.png",
                             f"{title}: {study.objective} of the {len(best)} best trials")
    if pruned:
        pruning_report.plot_pruned_curves(pruned, study.objective, out / "pruned_curves.png",
                                          f"{title}: {study.objective} of every trial (pruned faded)",
                                          higher_is_better=higher_is_better)
    study.extra_report(trials, table, out)
    return table


def compare_seeds(study: StudyHyperModel, trials) -> list[uncertainty.MetricComparison]:
    """The across-seeds statistics of each of the study's compared metrics."""
    comparisons = []
    for metric in study.compared_metrics():
        if metric.endswith(f"_{study.objective}") and metric.split("_", 1)[0] in ("best", "final"):
            higher_is_better = study.objective_direction == "max"
        else:
            higher_is_better = not records.LOWER_IS_BETTER.search(metric)
        comparison = uncertainty.compare_metric(trials, metric, study.settings.reference, higher_is_better,
                                                seed=study.settings.seed)
        if comparison is not None:
            comparisons.append(comparison)
    return comparisons


def distributed_role() -> str | None:
    """"chief" or "worker" in KerasTuner's distributed mode (`KERASTUNER_*` variables), else None."""
    from keras_tuner.src.distribute import utils as dist_utils

    if not dist_utils.has_chief_oracle():
        return None
    return "chief" if dist_utils.is_chief_oracle() else "worker"


def run_study(study_class: type[StudyHyperModel], settings: StudySettings) -> pd.DataFrame:
    """Runs (or resumes) a study and returns its results table.

    Every check that can fail on bad input runs before anything on disk is
    changed; `--overwrite` deletes earlier results only once the data loaded.

    Raises:
        StudyError: bad input, missing data, or a locked output directory.
    """
    study = study_class(settings)
    check_overrides(study)
    configs = selected_configs(study) if settings.search == "configs" else {}
    check_configs(study, configs)
    if settings.reference is not None and settings.search == "configs" and settings.reference not in configs:
        raise StudyError(f"--reference {settings.reference!r} is not among the configurations run: "
                         f"{', '.join(configs)}")
    pruning_rungs(study, configs)  # refuses rungs that cannot prune, before anything changes
    if settings.search in ("random", "bayesian", "hyperband") and not settings.trials:
        raise StudyError(f"--search {settings.search} needs --trials N")
    out = settings.out
    role = distributed_role()
    if role == "worker" and settings.overwrite:
        raise StudyError("--overwrite is for the chief (or a single process), not for a worker")
    # Workers share the chief's output directory; the chief holds the lock for all of them.
    started = time.time()
    data = study.load_data()  # before the lock: data errors leave --out as it was
    study.data = data
    with exclusive_lock(out, settings.study) if role != "worker" else contextlib.nullcontext():
        logger.info("data: %s", data.description)
        if settings.overwrite:
            remove_outputs(study)
        project_dir = out / PROJECT_NAME
        check_fingerprint(project_dir, settings)
        tuner = StudyTuner(
            make_oracle(study, configs),
            study,
            directory=str(out),
            project_name=PROJECT_NAME,
            tensorboard_dir=out / TENSORBOARD_DIR,
        )
        project_dir.mkdir(parents=True, exist_ok=True)
        tuner.oracle.verbose = 0  # one summary line per trial instead (StudyTuner.on_trial_end)
        if role == "worker":
            tuner.search(data=data)
            logger.info("worker %s: no trials left", os.environ.get("KERASTUNER_TUNER_ID"))
            return pd.DataFrame()
        records.write_json_atomic(project_dir / FINGERPRINT_FILE, settings.training_fingerprint())
        hparam_names = [CONFIG_KEY, *(hp.name for hp in tuner.oracle.get_space().space), "seed"]
        tensorboard_hparams.write_experiment_config(out / TENSORBOARD_DIR, list(dict.fromkeys(hparam_names)))
        if role == "chief":
            logger.info("chief: serving the oracle on %s:%s; workers train",
                        os.environ["KERASTUNER_ORACLE_IP"], os.environ["KERASTUNER_ORACLE_PORT"])
        try:
            tuner.search(data=data)
        finally:
            run = {
                "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
                "ended": time.strftime("%Y-%m-%d %H:%M:%S"),
                "wall_s": time.time() - started,
                "machine": machine_description(),
            }
            with open(project_dir / RUN_LOG_FILE, "a") as log:
                log.write(("\n" if ends_mid_line(project_dir / RUN_LOG_FILE) else "") + json.dumps(run) + "\n")
        table = write_report(study, project_dir, data.description)
    logger.info("results: %s and %s", out / "results.csv", out / "results.md")
    return table
