"""The search loop of a study: KerasTuner's tuner, handing each run to an executor."""

from __future__ import annotations

import contextlib
import copy
import gc
import io
import logging
import math
import pathlib
import statistics
import time
from typing import Callable

import keras
import keras_tuner
from keras_tuner.engine import base_tuner
from keras_tuner.engine import trial as trial_module

from kerashp import compat
from kerashp.data import DataSplits
from kerashp.errors import StudyError, is_disk_full
from kerashp.storage import layout, records
from kerashp.study import Study
from kerashp.tuning.hypermodel import StudyHyperModel
from kerashp.tuning.oracle import ConsecutiveFailures
from kerashp.tuning.packed_runs import PackedRuns
from kerashp.tuning.progress import Progress
from kerashp.tuning.runs import DiskFull, KerasRuns, failure_line, written_file

logger = logging.getLogger("kerashp")

FINAL_WEIGHTS_FILE = records.FINAL_WEIGHTS_FILE
IDLE_WAIT_S = 2.0


class PatientOracleClient(compat.oracle_client_class()):
    """A worker's link to the chief that waits `IDLE_WAIT_S` after an IDLE answer
    (KerasTuner asks again at once, which would keep the chief busy answering)."""

    def create_trial(self, tuner_id):
        trial = super().create_trial(tuner_id)
        if trial.status == trial_module.TrialStatus.IDLE:
            time.sleep(IDLE_WAIT_S)
        return trial


class StudyTuner(base_tuner.BaseTuner):
    """Trains each trial `settings.training.seeds` times and keeps every run on disk.

    Closes these gaps of KerasTuner 1.4.8:
    - an interrupted trial restarted from scratch (#439): each run trains with
      `AtomicBackupAndRestore` (a crash-safe `keras.callbacks.BackupAndRestore`)
      in its own directory, so a rerun resumes
      from the last finished epoch, and a finished run (its `summary.json`
      exists) is never trained again;
    - memory grew from trial to trial (#873): the Keras session is cleared and
      the model released before each run, except that trials the study declares
      interchangeable (`Study.architecture_key`) share one compiled model per
      architecture, reset between them, instead of tracing a new one, and that
      runs stopped at a pruning rung keep theirs for a promotion (`KeptModels`);
    - the HParams dashboard stayed empty (#427): see `kerashp.tensorboard_hparams`;
    - `results_summary()` only printed: the per-epoch history and summary of
      every run are files that `kerashp.report` turns into tables and figures.

    Args:
        oracle: the KerasTuner oracle choosing the trials.
        study: the study (with its settings and data).
        directory: the study's output directory; the KerasTuner project is
            `directory/project_name`.
        tensorboard_dir: where each run gets its TensorBoard run directory.
        executor: the class that trains each run (`KerasRuns`, Keras training; a
            subclass may answer from elsewhere, as the replay benchmark's table
            look-up does); its `clock` is the search's (`--max-minutes`).
    """

    def __init__(
        self,
        oracle: keras_tuner.Oracle,
        study: Study,
        *,
        directory: str,
        project_name: str,
        tensorboard_dir: pathlib.Path,
        overwrite: bool = False,
        executor: type[KerasRuns] = KerasRuns,
    ):
        self.study = study
        with contextlib.redirect_stdout(io.StringIO()):  # KerasTuner prints "Reloading Tuner from ..."
            super().__init__(oracle, StudyHyperModel(study), directory=directory, project_name=project_name,
                             overwrite=overwrite)
        if compat.is_oracle_client(self.oracle):  # a worker: talk to the chief gently
            self.oracle = PatientOracleClient(oracle)
        self.on_trial_done: Callable[[], None] | None = None  # the runner's live table
        self._quiet_failures: contextlib.AbstractContextManager | None = None  # entered by on_search_begin
        # Each run goes to the executor (Keras training; `kerashp.tuning.runs`), packed ones through it.
        self.runs = executor(study, pathlib.Path(self.project_dir), pathlib.Path(tensorboard_dir), self.oracle)
        if hasattr(self.oracle, "clock"):
            self.oracle.clock = self.runs.clock
        self.packs = PackedRuns(self.runs)
        logger.info("training with Keras' %s backend on %d replica(s) with %s, precision %s, jit %s, "
                    "steps per execution %d", keras.backend.backend(),
                    self.runs.strategy.num_replicas_in_sync, type(self.runs.strategy).__name__,
                    self.runs.fast_path.precision, self.runs.fast_path.jit_compile,
                    self.runs.fast_path.steps_per_execution)

    @property
    def progress(self) -> Progress | None:
        """Trial k of n and the record `kerashp status` reads (set by the runner)."""
        return self.runs.progress

    @progress.setter
    def progress(self, progress: Progress | None) -> None:
        self.runs.progress = progress

    @property
    def weights(self):
        """`--keep-weights` applied as trials finish (`kerashp.storage.weights.WeightsPolicy`)."""
        return self.runs.weights

    def stage_epochs(self, trial) -> tuple[int, int]:
        return self.runs.stage_epochs(trial)

    def execution_dir(self, trial_id: str, index: int) -> pathlib.Path:
        return self.runs.execution_dir(trial_id, index)

    @property
    def settings(self):
        return self.study.settings

    def _populate_initial_space(self):
        """The study's whole space, conditional scopes included. KerasTuner builds the
        model again until every `hp.conditional_scope` has been active once (seconds
        per build); here the study's `declare_hyperparameters` is called instead, with
        the values that activate each scope not yet seen, as KerasTuner does."""
        never_active: list = []
        once_active: list = []
        hp = self.oracle.get_space()
        for _ in range(1000):
            self.study.declare_hyperparameters(hp)
            self.oracle.update_space(hp)
            for conditions in hp.active_scopes:
                if conditions not in once_active:
                    once_active.append(copy.deepcopy(conditions))
                if conditions in never_active:
                    never_active.remove(conditions)
            for conditions in hp.inactive_scopes:
                if conditions not in once_active and conditions not in never_active:
                    never_active.append(copy.deepcopy(conditions))
            if not never_active:
                return
            hp = self.oracle.get_space()
            for condition in never_active[0]:
                hp.values[condition.name] = condition.values[0]
            hp.ensure_active_values()
        raise StudyError(f"{self.study.name}: declare_hyperparameters has conditional scopes that no values activate "
                         f"({never_active[0]})")

    def on_search_begin(self):
        super().on_search_begin()
        # Failures are reported by `on_trial_end`, once, without KerasTuner's
        # traceback for expected ones (a diverged run).
        self._quiet_failures = compat.keras_tuner_debug(False)
        self._quiet_failures.__enter__()
        if not compat.is_oracle_client(self.oracle):  # a worker starts from its own trials
            for trial in self.oracle.trials.values():
                if trial.status == "COMPLETED":
                    self.runs.note_score(trial.score)
        # What exists now (TensorFlow, Keras, the data) outlives every trial: moved out of
        # the collector's sight, the collection between trials scans only what trials made
        # (0.37 s -> a few ms per trial with TensorFlow loaded). Back at the end of the search.
        gc.collect()
        gc.freeze()

    # ---- packed trials (--pack K) ----------------------------------------------

    def search(self, *fit_args, **fit_kwargs):
        """KerasTuner's search loop; with `--pack K`, takes up to K trials from the
        oracle at a time and trains those that can be packed side by side first
        (see `kerashp.tuning.packing`). Each trial is then reported, resumed or
        retrained one by one exactly as without packing: a packed run leaves
        the same files as a run of its own."""
        try:
            if self.settings.hardware.pack <= 1 or compat.is_chief_oracle():
                return super().search(*fit_args, **fit_kwargs)
            return self._packed_search(*fit_args, **fit_kwargs)
        finally:  # also when a search stops on an error, a signal or a full disk
            gc.unfreeze()
            if self._quiet_failures is not None:
                self._quiet_failures.__exit__(None, None, None)
                self._quiet_failures = None

    def _packed_search(self, *fit_args, **fit_kwargs):
        self.on_search_begin()
        while True:
            trials, stopped = self._create_trials(self.settings.hardware.pack)
            if trials:
                self.packs.train_packs(trials, *fit_args, **fit_kwargs)
            for trial in trials:
                self.on_trial_begin(trial)
                self._try_run_and_update_trial(trial, *fit_args, **fit_kwargs)
                self.on_trial_end(trial)
            if stopped and not trials:
                break
        self.on_search_end()

    def _create_trials(self, count: int) -> tuple[list, bool]:
        """Up to `count` new trials (each held under its own tuner id) and whether the oracle stopped."""
        trials = []
        for slot in range(count):
            self.pre_create_trial()
            trial = self.oracle.create_trial(self.tuner_id if slot == 0 else f"{self.tuner_id}-pack{slot}")
            if trial.status in (trial_module.TrialStatus.STOPPED, trial_module.TrialStatus.IDLE):
                return trials, trial.status == trial_module.TrialStatus.STOPPED
            trials.append(trial)
        return trials, False

    def run_trial(self, trial, data: DataSplits) -> dict[str, float]:
        stage, _ = self.stage_epochs(trial)
        try:
            summaries = [self.runs.run(trial, index, data, stage) for index in range(self.settings.training.seeds)]
        except Exception as error:
            if is_disk_full(error):  # the environment's failure, not the trial's: stop, resume on rerun
                raise DiskFull(f"trial {trial.trial_id}", written_file(error)) from None
            raise
        objective = self.study.objective
        best_values = [s.get(f"best_{objective}", math.nan) for s in summaries]
        return {objective: statistics.fmean(best_values)}

    def _run_and_update_trial(self, trial, *fit_args, **fit_kwargs):
        """Reports the objective at the epochs trained, the rung's step in a pruned
        search (KerasTuner's own would skip every report after a trial's first)."""
        results = self.run_trial(trial, *fit_args, **fit_kwargs)
        self.oracle.update_trial(trial.trial_id, results, step=self.stage_epochs(trial)[0])

    def save(self) -> None:
        """KerasTuner's save, with the tuner's file written atomically (KerasTuner truncates
        and rewrites it in place after each trial: a power cut there left it empty)."""
        if not compat.is_worker(self):
            self.oracle.save()
        records.write_json_atomic(pathlib.Path(compat.tuner_file(self)), self.get_state())

    def reload(self) -> None:
        """KerasTuner's reload; a damaged tuner file (it holds no result) is rebuilt."""
        if not compat.is_worker(self):
            self.oracle.reload()
        path = pathlib.Path(compat.tuner_file(self))
        try:
            state = records.read_json(path)
            if not isinstance(state, dict):
                raise StudyError(f"{path} holds no tuner state")
        except StudyError:
            logger.warning("%s is damaged: rebuilt (it holds no result)", path)
            state = {}
            self.set_state(state)
            records.write_json_atomic(path, self.get_state())
            return
        self.set_state(state)

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        if self.progress is not None:
            stage, _ = self.stage_epochs(trial)
            self.progress.trial_begins(trial.trial_id, str(trial.hyperparameters.values.get("config", "")), stage)

    def on_trial_end(self, trial):
        try:
            super().on_trial_end(trial)
        except ConsecutiveFailures:  # this trial's line first, then the search stops
            self._report_trial_end(trial)
            raise
        self._report_trial_end(trial)

    def _report_trial_end(self, trial) -> None:
        ended = self.oracle.get_trial(trial.trial_id)
        label = f"trial {ended.trial_id} {ended.hyperparameters.values.get('config', '')}".rstrip()
        objective = self.study.objective
        if ended.status == "COMPLETED":
            self.runs.note_score(ended.score)
            stage, full = self.stage_epochs(ended)
            if stage >= full:
                self.weights.trial_finished(ended.trial_id, ended.score)
            outcome = (f"completed, best {objective} {ended.score:.4f} (mean of {self.settings.training.seeds} run"
                       f"{'' if self.settings.training.seeds == 1 else 's'})")
            if self.progress is None:
                logger.info("%s: %s", label, outcome)
        else:
            message = ended.message or ""
            outcome = f"{ended.status.lower()}, {failure_line(message)}"
            if "Traceback" in message:  # the whole traceback goes to the project's error log
                try:
                    path = layout.append_error(pathlib.Path(self.project_dir),
                                               f"{time.strftime('%Y-%m-%d %H:%M:%S')} {label}", message)
                    outcome += f" (traceback in {path.parent.name}/{path.name})"
                except OSError:
                    pass
            if self.progress is None:
                logger.warning("%s: %s", label, outcome)
        if self.progress is not None:
            self.progress.trial_ends(ended.trial_id, outcome)
        if self.on_trial_done is not None:
            self.on_trial_done()

    def load_model(self, trial) -> keras.Model:
        """The model of the trial's first run, with its final weights."""
        path = self.execution_dir(trial.trial_id, 0) / FINAL_WEIGHTS_FILE
        if not path.exists():
            raise StudyError(f"trial {trial.trial_id} kept no weights ({path} is absent; --keep-weights "
                             f"{self.settings.output.keep_weights}: rerun it with --keep-weights all to keep them)")
        model = self.study.build(trial.hyperparameters)
        model.load_weights(str(path))
        return model

    def save_model(self, trial_id, model, step=0):
        """Runs save their own final weights; nothing to do here."""
