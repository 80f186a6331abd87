"""One run's lifecycle: a trial at one seed trained from its checkpoint to its stage with
Keras, recorded (history, TensorBoard run, checkpoint, summary, weights) and finished.

`KerasRuns` is the executor the search loop (`kerashp.tuning.tuner.StudyTuner`) hands each
run to: `run(trial, index, data, stage)` trains run `index` of `trial` from where its files
stand to `stage` epochs and returns its summary. Another executor with that method (a table
look-up in the replay benchmark, a remote worker) plugs in without touching the search.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import math
import os
import pathlib
import re
import statistics
import time
import weakref
from typing import Any, Callable

import keras
import keras_tuner

from callbacks.tensorboard_events import EpochScalars
from callbacks.timing import Timing
from kerashp import compat, distribute, tensorboard_hparams
from kerashp.data import DataSplits
from kerashp.data.pipeline import steps_per_epoch
from kerashp.errors import option_value, last_line
from kerashp.models.state import copy_initial_state
from kerashp.storage import layout, records
from kerashp.storage.layout import read_rung_state
from kerashp.storage.weights import WEIGHTS_KEPT, WeightsPolicy, remove_best_epoch_weights
from kerashp.study import Study
from kerashp.tuning.backup import AtomicBackupAndRestore, CheckpointCost
from kerashp.tuning.best_epoch import BestEpochWeights, restored_best_weights
from kerashp.tuning.kept_models import KeptModels, ReusableModel, resident_bytes
from kerashp.tuning.oracle import DIVERGED
from kerashp.tuning.packing import repeat_targets
from kerashp.tuning.progress import Progress
from kerashp.tuning.signals import StopWhenSignalled

logger = logging.getLogger("kerashp")

FINAL_WEIGHTS_FILE = records.FINAL_WEIGHTS_FILE


def run_name(trial_id: str, execution: int, executions: int) -> str:
    """TensorBoard run name of one run of a trial."""
    return layout.tensorboard_run_name(trial_id, execution, executions)


def tensorboard_callbacks(run_dir: pathlib.Path) -> list[keras.callbacks.Callback]:
    """The TensorBoard callbacks of one run: its epoch scalars, on any backend."""
    return [EpochScalars(run_dir)]


def written_file(error: BaseException) -> str:
    """The file a failed write names (OSError's filename, or h5py's "filename = '...'")."""
    import re

    if isinstance(error, OSError) and error.filename:
        return str(error.filename)
    match = re.search(r"filename = '([^']+)'", str(error))
    return match.group(1) if match else last_line(str(error))


def build_optimizer_eagerly(model: keras.Model) -> None:
    """Creates the optimizer's variables (momenta, second moments) now, outside any
    traced function. Left to the first train step, TensorFlow creates them inside
    the traced step and keeps a pair of initialiser functions per variable, holding
    a copy of its initial value, for the life of the process: ~19 MiB per trial of
    the FashionMNIST grid's MLP, for ever (benchmarks/memory.py)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built and model.built and model.trainable_variables:
        optimizer.build(model.trainable_variables)


class DiskFull(keras_tuner.errors.FatalError):
    """The disk (or quota) of the study directory filled while a trial was written.
    A FatalError: KerasTuner stops the search without recording the trial as
    failed, so it resumes from its last checkpoint when the study is rerun."""

    def __init__(self, what: str, detail: str = ""):
        super().__init__(f"no space left on device while writing {what}" + (f" ({detail})" if detail else ""))
        self.what = what


class EpochProgress(keras.callbacks.Callback):
    """Tells the run's `Progress` each finished epoch (for `kerashp status` and the
    interruption line)."""

    def __init__(self, progress: Progress):
        super().__init__()
        self.progress = progress

    def on_epoch_begin(self, epoch, logs=None):
        self.progress.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self.progress.epoch_ends(epoch + 1)


def failure_line(message: str) -> str:
    """A failed trial's one line: its exception's type and message (KerasTuner keeps the
    whole traceback in the trial's message)."""
    lines = [line for line in (message or "").strip().splitlines() if line.strip()]
    if not lines:
        return "failed"
    last = lines[-1].strip()
    match = re.match(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception|Interrupt)): ?(.*)$", last)
    if match and match.group(1) == "FailedTrialError":
        return match.group(2)  # the user's own reason, as they wrote it
    return f"{match.group(1)}: {match.group(2)}" if match else last


def reported_metrics(reported: Any, objective: str, summary: dict[str, Any]) -> dict[str, Any]:
    """The summary entries of what a study's `fit` or `run_trial` returned, where the run's
    history has no value of the objective: a number is the objective's value; a dict
    (KerasTuner's `{metric: value}`) gives the objective's; a History or None adds nothing."""
    if isinstance(reported, keras.callbacks.History) or reported is None:
        return {}
    best = summary.get(f"best_{objective}")
    if best is not None and math.isfinite(best):
        return {}
    if isinstance(reported, dict):
        reported = reported.get(objective)
    if isinstance(reported, (list, tuple)) and reported:  # one value per execution: KerasTuner averages
        reported = statistics.fmean(float(value) for value in reported)
    try:
        value = float(reported)
    except (TypeError, ValueError):
        return {}
    return {f"best_{objective}": value, f"final_{objective}": value}


class StopOnNaN(keras.callbacks.TerminateOnNaN):
    """Keras' TerminateOnNaN without its line on stdout: the run's summary records the
    divergence and the trial's one line reports it."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.model.stop_training = True


class Heartbeat(keras.callbacks.Callback):
    """Tells the chief after each epoch that this worker is alive (see `ResumableOracle`)."""

    def __init__(self, oracle, *trial_ids: str):
        super().__init__()
        self.oracle, self.trial_ids = oracle, trial_ids

    def on_epoch_end(self, epoch, logs=None):
        for trial_id in self.trial_ids:
            self.oracle.update_trial(trial_id, {}, step=epoch)


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """One run (a trial at one seed) at its current stage: where it writes and what it trains.

    Attributes:
        trial_id, index: the trial and the run's index among its seeds.
        hp: the trial's hyperparameters.
        seed: the run's seed (`--seed` + index).
        directory: its execution directory (history, checkpoint, summary, weights).
        tensorboard_run: its TensorBoard run directory.
        batch_size: `Study.trial_batch_size`.
        stage: the epochs it is trained to now (a rung of a pruned search, else `full`).
        full: its full length (`Study.trial_epochs`).
    """

    trial_id: str
    index: int
    hp: Any
    seed: int
    directory: pathlib.Path
    tensorboard_run: pathlib.Path
    batch_size: int
    stage: int
    full: int

    @property
    def backup(self) -> pathlib.Path:
        """Its checkpoint directory."""
        return layout.checkpoint_dir(self.directory)



class KerasRuns:
    """Trains and records the runs of a study's trials with Keras (see the module).

    Args:
        study: the study, with its settings and data.
        project_dir: the KerasTuner project directory (`<out>/tuner`).
        tensorboard_dir: where each run gets its TensorBoard run directory.
        oracle: the search's oracle (a worker's runs tell the chief they are alive).
    """

    # The final report draws its figures (a replay's executor, whose runs no one looks at, does not).
    report_figures: bool = True

    def __init__(self, study: Study, project_dir: pathlib.Path, tensorboard_dir: pathlib.Path, oracle: Any):
        self.study = study
        self.project_dir = pathlib.Path(project_dir)
        self.tensorboard_dir = pathlib.Path(tensorboard_dir)
        self.oracle = oracle
        self.progress: Progress | None = None  # set by the runner: trial k of n, the record `kerashp status` reads
        # One compiled model per architecture key (`Study.architecture_key`), for the next
        # trial of that architecture, however many trials of others came between.
        # Half of `Study.kept_models_mib` each (what the models really hold: see KeptModels).
        budget = max(0, int(study.kept_models_mib * 2**20 / 2))
        self._reusable = KeptModels(max_models=16 if budget else 0, max_bytes=budget)
        # The models of runs that stopped at a rung: promoted (as ASHA often does a few
        # trials later), such a run trains on without being built and traced again.
        self._stopped = KeptModels(max_models=None if budget else 0, max_bytes=budget)
        # A fresh model and the resident memory before it was built: what its build and first
        # training took is counted for it once it trained (`_measure`). The first build of a
        # process also pays for TensorFlow's own start (kernels, thread pools): not counted.
        self._fresh: tuple[weakref.ref, int] | None = None  # (the model, weakly: never kept alive by this)
        self._builds = 0
        self.checkpoint_cost = CheckpointCost()  # what a run's checkpoint takes, for the next runs' intervals
        self._custom_gradients_before = compat.custom_gradient_names()  # those of the user's own graphs stay
        # The best score of any completed trial (or rung) so far: a run stopped at a rung is
        # evaluated on the test split only when it could be the search's pick (`_tests_run`).
        self._best_score: float | None = None
        self._steps_noted: set[tuple[int, int]] = set()  # (batches per call, per epoch) logged once
        settings = study.settings
        self.weights = WeightsPolicy(settings.output.keep_weights, self.project_dir,
                                     study.objective_direction == "max")
        self.strategy = distribute.choose_strategy(settings.hardware.strategy)
        self.fast_path = distribute.resolve_fast_path(settings.training.precision, settings.hardware.jit,
                                                      settings.hardware.steps_per_execution)

    @property
    def settings(self):
        return self.study.settings

    @staticmethod
    def clock() -> float:
        """The search's clock in seconds (`--max-minutes` is measured on it): real time here."""
        return time.monotonic()

    def trial_dir(self, trial_id: str) -> pathlib.Path:
        return layout.trial_dir(self.project_dir, trial_id)

    def note_score(self, score: float | None) -> None:
        if score is not None and math.isfinite(score) and self._at_least_best(score):
            self._best_score = float(score)

    def _at_least_best(self, value: float) -> bool:
        if self._best_score is None:
            return True
        return value >= self._best_score if self.study.objective_direction == "max" else value <= self._best_score

    def _tests_run(self, plan: RunPlan, summary: dict[str, Any]) -> bool:
        """Whether a finished run is evaluated on the test split (`Study.evaluate`): every
        run that trained to its trial's full length, and every run of a trial with several
        seeds; a run stopped at a pruning rung only where its objective is at least the
        best score so far, so that the search's pick always has its test figures while
        the trials a pruner stops early (most of them) cost no test pass."""
        if plan.stage >= plan.full or self.settings.training.seeds > 1:
            return True
        value = summary.get(f"best_{self.study.objective}")
        return value is None or not math.isfinite(value) or self._at_least_best(value)

    @contextlib.contextmanager
    def fresh_build_scope(self):
        """Clears Keras' session (releasing the previous model unless kept for reuse or a
        promotion), then builds under the run's dtype policy and strategy scope (layers
        keep the policy they were built with)."""
        # The custom gradients keep released graphs alive: forget them first, so that the one
        # garbage collection clear_session makes frees those graphs too (a full collection
        # costs a third of a second with TensorFlow loaded: one per trial, not three).
        compat.forget_custom_gradients(self._custom_gradients_before)
        keras.backend.clear_session()
        with self._build_scope():
            yield

    @contextlib.contextmanager
    def _build_scope(self):
        """The run's dtype policy and strategy scope, for building a model."""
        policy_before = keras.config.dtype_policy()
        keras.config.set_dtype_policy(self.fast_path.precision)
        try:
            with self.strategy.scope():
                yield
        finally:
            keras.config.set_dtype_policy(policy_before)

    def plan(self, trial, index: int) -> RunPlan:
        """Run `index` of `trial` at its current stage; creates its directory."""
        hp = trial.hyperparameters
        stage, full = self.stage_epochs(trial)
        directory = self.execution_dir(trial.trial_id, index)
        directory.mkdir(parents=True, exist_ok=True)
        return RunPlan(trial_id=trial.trial_id, index=index, hp=hp, seed=self.settings.training.seed + index,
                       directory=directory,
                       tensorboard_run=self.tensorboard_dir / run_name(trial.trial_id, index,
                                                                       self.settings.training.seeds),
                       batch_size=self.study.trial_batch_size(hp), stage=stage, full=full)

    def run_callbacks(self, plan: RunPlan) -> list:
        """The callbacks that record one run: the study's own, its CSV history, its TensorBoard run."""
        records.drop_torn_last_line(plan.directory / records.HISTORY_FILE)  # resumed after a kill mid-write
        best = ([BestEpochWeights(plan.directory, self.study.objective, self.study.objective_direction)]
                if self.settings.training.restore_best_weights else [])
        return [
            *self.study.extra_callbacks(plan.hp, plan.directory, plan.tensorboard_run),
            keras.callbacks.CSVLogger(str(plan.directory / records.HISTORY_FILE), append=True),
            *tensorboard_callbacks(plan.tensorboard_run),
            *best,
        ]

    def fit(self, model: keras.Model, plans: list[RunPlan], data: DataSplits, *, first_epoch: int,
             initial_epoch: int, recording: list, backup: keras.callbacks.Callback) -> Any:
        """The one training step of the run lifecycle, for one run or a pack of runs of
        equal seed, batch size and stage: the seed's epochs from `first_epoch` (a resumed
        run continues its stream of batches where its checkpoint left it), then
        `fit` with the timing first (its figures reach every log), the `recording`
        callbacks, and the checkpoint `backup` last (it saves what the others did)."""
        plan = plans[0]
        train_data = self.study.make_dataset(data.train, training=True, seed=plan.seed, batch_size=plan.batch_size,
                                             first_epoch=first_epoch, num_epochs=plan.stage - first_epoch)
        validation_data = self.study.make_dataset(data.validation, training=False, batch_size=plan.batch_size)
        if len(plans) > 1:  # one copy of the targets per replica
            train_data = repeat_targets(train_data, len(plans))
            validation_data = repeat_targets(validation_data, len(plans))
            fit = model.fit
        else:
            fit = functools.partial(self.study.fit, plan.hp, model)
        callbacks = [
            Timing(samples_per_epoch=len(data.train)),
            StopWhenSignalled(),
            *recording,
            *([Heartbeat(self.oracle, *(p.trial_id for p in plans))] if compat.is_oracle_client(self.oracle) else []),
            *([EpochProgress(self.progress)] if self.progress is not None and len(plans) == 1 else []),
            backup,
        ]
        batches = steps_per_epoch(len(data.train), plan.batch_size)
        self._set_steps_per_execution(model, batches)
        return fit(train_data, validation_data=validation_data, epochs=plan.stage, initial_epoch=initial_epoch,
                   steps_per_epoch=batches, callbacks=callbacks,
                   verbose=self.settings.output.verbose, shuffle=False)  # the input pipeline shuffles

    def _set_steps_per_execution(self, model: keras.Model, batches: int) -> None:
        """Sets `model`'s batches per compiled call to the largest divisor of an epoch's
        `batches` up to `--steps-per-execution`, so that every epoch ends on its own last
        batch (`distribute.steps_per_execution_for`); a model reused with another count
        makes its train step again."""
        steps = distribute.steps_per_execution_for(self.fast_path.steps_per_execution, batches)
        if steps != self.fast_path.steps_per_execution and (steps, batches) not in self._steps_noted:
            self._steps_noted.add((steps, batches))
            logger.info("%s: batches per call %d instead, a divisor of the %d batches of an epoch (Keras "
                        "runs whole calls; epochs would run into each other)",
                        option_value("steps_per_execution", self.fast_path.steps_per_execution), steps, batches)
        if model.steps_per_execution != steps:
            model.steps_per_execution = steps
            model.make_train_function(force=True)
            model.make_test_function(force=True)

    def stage_epochs(self, trial) -> tuple[int, int]:
        """(epochs to train the trial to now, its full length): in a pruned search
        the rung its `rung.json` names (see `kerashp.tuning.pruners`), else the full length."""
        full = self.study.trial_epochs(trial.hyperparameters)
        state = read_rung_state(self.trial_dir(trial.trial_id)) if self.settings.search.prune != "none" else None
        return (int(state["epochs"]) if state else full), full

    def execution_dir(self, trial_id: str, index: int) -> pathlib.Path:
        return layout.execution_dir(self.project_dir, trial_id, index)

    @staticmethod
    def run_finished(directory: pathlib.Path, stage: int) -> bool:
        """Whether a run holds its summary and final weights for `stage` epochs
        (see `kerashp.storage.layout.RunState.finished`)."""
        return layout.run_state(directory).finished(stage)

    def run(self, trial, index: int, data: DataSplits, stage: int) -> dict[str, Any]:
        state = layout.run_state(self.execution_dir(trial.trial_id, index))
        if state.finished(stage):  # finished before an interruption: keep as is
            summary = records.load_execution(state.directory, index).summary
        else:
            if state.summary is not None and state.missing_epochs:
                records.truncate_history(state.directory / records.HISTORY_FILE, 0)  # retrained whole, as it first ran
            summary = self._train_by_study(trial, index) if self.study.trains_runs_itself() else \
                self._train(trial, index, data, state.committed_epoch)
        if summary.get("diverged_epoch") is not None:
            raise keras_tuner.errors.FailedTrialError(f"{DIVERGED} at epoch {summary['diverged_epoch']}")
        return summary

    def _train(self, trial, index: int, data: DataSplits, committed: int) -> dict[str, Any]:
        """Trains one run to its stage (of its full length: the model and its schedules are
        those of the full run; below it the checkpoint is kept for a promotion), from its
        checkpoint's epoch `committed` (0: none)."""
        plan = self.plan(trial, index)
        model = self._stopped.take((plan.trial_id, index))
        if model is not None:  # its state is the checkpoint's, which is loaded into it again below
            logger.info("trial %s continues with the model in memory", plan.trial_id)
        else:
            model = self._model_for(plan.hp, plan.seed)
        if committed and not self._checkpoint_agrees(model, plan.trial_id, index, plan.directory, committed):
            model = self._model_for(plan.hp, plan.seed)  # a failed load may have changed it: start as a fresh run
            committed = 0
        # The epochs logged after the checkpoint (all, without one) are trained again: their rows go.
        records.truncate_history(plan.directory / records.HISTORY_FILE, committed)
        # The backup callback restores the checkpoint's epoch (and so fit's first epoch) itself.
        reported = self.fit(model, [plan], data, first_epoch=min(committed, plan.stage - 1), initial_epoch=0,
                             recording=[*self.run_callbacks(plan), StopOnNaN(), *self._early_stopping()],
                             backup=AtomicBackupAndRestore(str(plan.backup), min_interval_s=self.study.backup_interval_s,
                                                           cost=self.checkpoint_cost,
                                                           delete_checkpoint=plan.stage >= plan.full))
        summary = self.finish_run(plan, model, functools.partial(self.study.evaluate, model, data, plan.batch_size),
                                   reported=reported)
        footprint = self._measure(model)
        if plan.stage < plan.full and summary.get("diverged_epoch") is None:
            self._stopped.put((plan.trial_id, index), model, footprint=footprint)
        del model  # unless kept, collected when the next model is built (see _fresh_build_scope)
        return summary

    def _train_by_study(self, trial, index: int) -> dict[str, Any]:
        """One run trained by the study's own `run_trial` (a KerasTuner tuner whose
        `run_trial` was overridden): handed the recording callbacks, retrained whole
        after a kill (no checkpoint of a loop kerashp does not run)."""
        plan = self.plan(trial, index)
        records.truncate_history(plan.directory / records.HISTORY_FILE, 0)
        keras.utils.set_random_seed(plan.seed)
        reported = self.study.run_trial(trial, [StopWhenSignalled(), *self.run_callbacks(plan), StopOnNaN()],
                                        plan.directory)
        return self.finish_run(plan, None, dict, reported=reported)

    def _checkpoint_agrees(self, model: keras.Model, trial_id: str, index: int, directory: pathlib.Path,
                           committed: int) -> bool:
        """Whether a run's checkpoint loads and its history holds every epoch it has.

        Where not (a truncated or garbage weights file behind an intact manifest, or a
        history.csv that lost a row the checkpoint holds, as an unflushed write can after a
        power cut), the checkpoint is moved aside (`backup.damaged-<time>`, nothing
        deleted), the history emptied, and the run trains again from its first epoch, so
        that its numbers are the uninterrupted run's."""
        backup = layout.checkpoint_dir(directory)
        history = records.read_history(directory / records.HISTORY_FILE)
        logged = set(history["epoch"]) if "epoch" in history else set()
        missing = [epoch for epoch in range(1, committed + 1) if epoch not in logged]
        problem = f"history.csv lacks epoch(s) {', '.join(map(str, missing))} of its checkpoint's {committed}" \
            if missing else None
        if problem is None:
            try:
                AtomicBackupAndRestore.load_checkpoint(model, backup)
            except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
                problem = f"its checkpoint cannot be read ({last_line(str(error)) or type(error).__name__})"
        if problem is None:
            return True
        aside = backup.with_name(f"backup.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(backup, aside)
        records.truncate_history(directory / records.HISTORY_FILE, 0)
        logger.warning("trial %s run %d: %s; moved it to %s and training this run again from epoch 1",
                       trial_id, index, problem, aside.name)
        return False

    def finish_run(self, plan: RunPlan, model: keras.Model | None, evaluate: Callable[[], dict[str, float]],
                    reported: Any = None, **extra: Any) -> dict[str, Any]:
        """Writes a trained run's summary (last: its presence marks the run finished),
        final weights and HParams record. `reported`: what the study's `fit` (or its own
        `run_trial`) returned: a number or a dict of metrics stands for the objective
        where the history holds none (a training loop of its own), as in KerasTuner.
        Without a `model` (a study that trained it itself), no weights and no test pass."""
        directory = plan.directory
        history = records.read_history(directory / records.HISTORY_FILE)
        summary = records.summarize_history(history, self.study.objective, self.study.objective_direction)
        summary.update(seed=plan.seed, diverged_epoch=records.first_nan_epoch(history), stage_epochs=plan.stage,
                       **reported_metrics(reported, self.study.objective, summary), **extra)
        full_length = plan.stage >= plan.full
        if model is None:
            summary[WEIGHTS_KEPT] = False
            tensorboard_hparams.write_run_summary(plan.tensorboard_run, {**plan.hp.values, "seed": plan.seed}, summary)
            records.write_json_atomic(directory / records.SUMMARY_FILE, summary)
            return summary
        with self._weights_to_report(plan, model, summary, keep=full_length):
            if summary["diverged_epoch"] is None and self._tests_run(plan, summary):
                summary.update(evaluate())
            if self.weights.saves_final_weights(full_length=full_length):
                model.save_weights(str(directory / FINAL_WEIGHTS_FILE))
            else:
                summary[WEIGHTS_KEPT] = False
        tensorboard_hparams.write_run_summary(plan.tensorboard_run, {**plan.hp.values, "seed": plan.seed}, summary)
        records.write_json_atomic(directory / records.SUMMARY_FILE, summary)
        if self.settings.training.restore_best_weights:  # after the summary: a kill before it retrains the run
            diverged = summary["diverged_epoch"] is not None
            remove_best_epoch_weights(directory, keep=None if full_length or diverged else summary.get("best_epoch"))
        return summary

    @contextlib.contextmanager
    def _weights_to_report(self, plan: RunPlan, model: keras.Model, summary: dict[str, Any], keep: bool):
        """With `--restore-best-weights`, the run's best epoch's weights for its test pass and
        saved weights (`kerashp.tuning.best_epoch`), recorded as `restored_epoch`; else (and
        for a diverged run, neither tested nor kept) the last epoch's."""
        if not self.settings.training.restore_best_weights or summary["diverged_epoch"] is not None:
            yield
            return
        with restored_best_weights(model, plan.directory, summary.get("best_epoch"), summary["epochs"],
                                   keep=keep) as epoch:
            summary["restored_epoch"] = epoch
            yield

    def _early_stopping(self) -> list[keras.callbacks.Callback]:
        """`--early-stopping PATIENCE`: EarlyStopping on the objective, restoring the best weights
        (its patience count restarts when a killed run resumes)."""
        patience = self.settings.training.early_stopping
        if not patience:
            return []
        return [keras.callbacks.EarlyStopping(monitor=self.study.objective, mode=self.study.objective_direction,
                                              patience=patience, restore_best_weights=True)]

    def _measure(self, model: keras.Model) -> int:
        """The memory a fresh model's build and first run took (its traced functions, its
        variables, what its first pass through the data kept), once; 0 for a reused model."""
        if self._fresh is None or self._fresh[0]() is not model:
            return 0
        after = resident_bytes()
        footprint = max(0, (after or 0) - self._fresh[1])
        self._fresh = None
        self._reusable.resize(model, footprint)
        logger.debug("a fresh model took %.1f MiB; the kept models count %.1f MiB (Study.kept_models_mib: %g)",
                     footprint / 2**20, self.kept_bytes / 2**20, self.study.kept_models_mib)
        return footprint

    @property
    def kept_bytes(self) -> int:
        """The memory counted for the compiled models kept between runs (`Study.kept_models_mib`)."""
        return self._reusable.nbytes + self._stopped.nbytes

    def _model_for(self, hp, seed: int) -> keras.Model:
        """A fresh compiled model, or the one kept for the trial's architecture key
        (`Study.architecture_key`), reset and reconfigured for the trial."""
        key = self.study.architecture_key(hp)
        cached = self._reusable.get(key) if key is not None else None
        if cached is not None:
            # Without clearing TensorFlow's caches (no re-instantiated train step): Keras draws its
            # randomness from seed generators, not from TensorFlow's global seed.
            compat.set_random_seed(seed, tensorflow_seed=False)
            self._stopped.release(cached.model)  # a run stopped at a rung with it continues from its checkpoint
            model = cached.reset()
            if cached.seed != seed:
                # Another seed draws other initial weights and dropout seeds: build the trial's
                # model again (cheap: nothing is traced before fit) and take its initial state.
                with self._build_scope():
                    copy_initial_state(model, self.study.build(hp))
                compat.set_random_seed(seed, tensorflow_seed=False)
            self.study.reconfigure(model, hp)
            logger.info("reusing the compiled model of the previous trial (same architecture%s)",
                        " and seed" if cached.seed == seed else f"; initial state drawn with seed {seed}")
            return model
        with self.fresh_build_scope():
            keras.utils.set_random_seed(seed)
            before = resident_bytes()
            model = self.study.build(hp)
            build_optimizer_eagerly(model)
        self._builds += 1
        self._fresh = (weakref.ref(model), before) if before is not None and self._builds > 1 else None
        model.jit_compile = self.fast_path.jit_compile
        model.steps_per_execution = self.fast_path.steps_per_execution
        if key is not None:
            self._reusable.put(key, model, ReusableModel.capture(key, seed, model), copies=2)
        return model
