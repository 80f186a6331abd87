"""Oracles whose next trial follows from the trials on disk, so a rerun resumes exactly."""

from __future__ import annotations

import copy
import itertools
import json
import logging
import os
import pathlib
import time
from typing import Any, Callable, Iterator, Mapping, Sequence

import keras_tuner
from keras_tuner.engine import trial as trial_module
from kerashp import compat

from kerashp.errors import StudyError
from kerashp.storage import layout, records
from kerashp.storage.weights import weights_expected
from kerashp.tuning.pruners import Pruner, RungBook

logger = logging.getLogger("kerashp")

CONFIG_KEY = "config"
COMPACT_STATE = "kerashp_compact"  # oracle.json without the per-trial lists (see ResumableOracle.save)
ENDED = (trial_module.TrialStatus.COMPLETED, trial_module.TrialStatus.FAILED, trial_module.TrialStatus.INVALID)


DIVERGED = "diverged: training loss became NaN/inf"  # a run's outcome (see StudyTuner), not a failure of code


class ConsecutiveFailures(RuntimeError):
    """`max_consecutive_failed_trials` trials failed in a row: the search stops (a
    RuntimeError, as KerasTuner's own)."""

    def __init__(self, count: int, message: str):
        super().__init__(f"Number of consecutive failures exceeded the limit of {count}.\n{message}")
        self.count, self.last_message = count, message


def trial_from_state(state: Mapping[str, Any], spaces: dict[str, Any]) -> trial_module.Trial:
    """`keras_tuner.engine.trial.Trial.from_state`, with the hyperparameter space taken
    from `spaces` (a cache: its JSON text -> a `HyperParameters` without values).

    Deserialising a trial's space (each hyperparameter through Keras' serialisation
    machinery) cost ~1 ms, most of a reload: 25 s for the 23,328 trials of the
    FashionMNIST grid, whose trials share one space. A trial gets a shallow copy of the
    cached space with its own values; nothing changes a trial's space after loading.
    """
    config = state["hyperparameters"]
    key = json.dumps(config["space"], sort_keys=True)
    template = spaces.get(key)
    if template is None:
        template = spaces[key] = keras_tuner.HyperParameters.from_config({"space": config["space"], "values": {}})
    hyperparameters = copy.copy(template)
    hyperparameters.values = dict(config["values"])
    trial = trial_module.Trial.from_state({**state, "hyperparameters": {"space": [], "values": {}}})
    trial.hyperparameters = hyperparameters
    return trial


class ResumableOracle(keras_tuner.Oracle):
    """An oracle that neither reruns finished trials nor waits forever for dead workers.

    KerasTuner saves the oracle before it drops an ended trial from
    `ongoing_trials`, so a process killed right after a trial ended would, on
    reload, queue that finished trial for another run. Here the oracle saves
    again once the trial has ended, and a reload drops finished trials from the
    retry queue; an interrupted trial is still resumed first, under the same
    trial id (and thus the same trial directory, where `BackupAndRestore`
    finds its last epoch).

    In distributed tuning (a chief serving this oracle to workers), KerasTuner
    1.4.8 keeps a killed worker's trial "ongoing" forever: its configuration is
    never retried and the chief never exits. Here every call from a worker
    (asking for a trial, reporting an epoch, ending a trial) counts as a sign of
    life; a worker silent for `worker_timeout_s` loses its trial, which goes
    back to the retry queue for the next worker that asks, and resumes there
    from its last checkpoint. While such trials are still running elsewhere, a
    worker that finds nothing new to do is told to wait (IDLE) instead of
    stopping, so it can take them over.
    """

    def __init__(self, *args, worker_timeout_s: float | None = None, runs_per_trial: int | None = None,
                 max_seconds: float | None = None, pruner: Pruner | None = None,
                 full_epochs: Callable[[trial_module.Trial], int] | None = None,
                 promote_when_exhausted: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.worker_timeout_s = worker_timeout_s
        self.runs_per_trial = runs_per_trial
        self.max_seconds = max_seconds  # after this long no trial starts (`--max-minutes`)
        # The search's clock: real seconds, unless the executor keeps its own (a replay's simulated one).
        self.clock: Callable[[], float] = time.monotonic
        self._started_at: float | None = None  # the clock at the first trial asked for
        self._last_seen: dict[str, float] = {}
        self._unusual: set[str] = set()  # trials whose run count differs from the usual (see save)
        self._ends_seen = 0  # len(end_order) at the last save
        self.pruner = pruner
        # `--when-exhausted promote`: with no new configuration left, promote beyond the pruner's quota.
        self.promote_when_exhausted = promote_when_exhausted
        self.rung_book: RungBook | None = None
        if pruner is not None:
            if full_epochs is None:
                raise ValueError("a pruned oracle needs full_epochs, a trial's full length")
            self.rung_book = RungBook(lambda trial_id: compat.trial_dir(self, trial_id), self.objective,
                                      full_epochs, pruner.rungs, pruner.bracket)

    def _touch(self, tuner_id: str) -> None:
        self._last_seen[tuner_id] = time.monotonic()

    def _release_silent_workers(self) -> None:
        if not self.worker_timeout_s:
            return
        now = time.monotonic()
        for tuner_id, trial in list(self.ongoing_trials.items()):
            silent = now - self._last_seen.get(tuner_id, now)
            if silent > self.worker_timeout_s:
                logger.warning("worker %s silent for %.0f s: trial %s goes back to the queue",
                               tuner_id, silent, trial.trial_id)
                del self.ongoing_trials[tuner_id]
                self.tuner_ids.discard(tuner_id)
                self._last_seen.pop(tuner_id, None)
                compat.retry_queue(self).append(trial.trial_id)
                self.save()

    def past_deadline(self) -> bool:
        """Whether `max_seconds` of the search's clock passed since its first trial was asked for."""
        if self.max_seconds is None:
            return False
        now = self.clock()
        if self._started_at is None:
            self._started_at = now
        return now - self._started_at >= self.max_seconds

    @keras_tuner.synchronized
    def create_trial(self, tuner_id):
        if self.past_deadline() and tuner_id not in self.ongoing_trials:
            self.tuner_ids.discard(tuner_id)
            return trial_module.Trial(self.get_space(), status=trial_module.TrialStatus.STOPPED)
        self._touch(tuner_id)
        self._release_silent_workers()
        if self.pruner is not None and tuner_id not in self.ongoing_trials and not compat.retry_queue(self):
            promoted = self._promotion()
            if promoted is not None:
                return self._hand_out(tuner_id, promoted)
        trial = self._create_numbered_trial(tuner_id)
        if (trial.status == trial_module.TrialStatus.STOPPED and self.promote_when_exhausted
                and self.pruner is not None and not compat.retry_queue(self)):
            promoted = self._promotion(beyond_quota=True)
            if promoted is not None:  # the space is tried whole: the best trial that can train on does
                return self._hand_out(tuner_id, promoted)
        if (self.rung_book is not None and trial.status == trial_module.TrialStatus.RUNNING
                and self.rung_book.state(trial.trial_id) is None):
            self.rung_book.write(trial.trial_id, self.rung_book.first_state(trial))
        serving_workers = compat.has_chief_oracle()
        if trial.status == trial_module.TrialStatus.STOPPED and self.ongoing_trials and serving_workers:
            # Others still hold trials that may come back to the queue: wait, don't leave.
            self.tuner_ids.add(tuner_id)
            trial.status = trial_module.TrialStatus.IDLE
        return trial

    def _hand_out(self, tuner_id, promoted):
        """The promoted trial, running for `tuner_id`, recorded."""
        promoted.status = trial_module.TrialStatus.RUNNING
        self.ongoing_trials[tuner_id] = promoted
        self.tuner_ids.add(tuner_id)
        compat.save_trial(self, promoted)
        self.save()
        return promoted

    def _create_numbered_trial(self, tuner_id):
        """KerasTuner's `create_trial`, a new trial numbered by the first id no trial holds.

        KerasTuner numbers it by the count of trials: where a trial's directory was
        deleted, that is another trial's id, whose record and score the new trial took
        over. Here the lost trial's place is taken by a new trial (the configuration
        that lost its trial, the next proposal of a search) and nothing else changes.
        """
        count = len(self.trials)
        if str(count).zfill(len(str(self.max_trials))) not in self.trials or (
                self.max_trials and count >= self.max_trials):
            return super().create_trial(tuner_id)
        taken = {int(trial_id) for trial_id in self.trials if trial_id.isdigit()}
        number = next(n for n in itertools.count() if n not in taken)
        with compat.new_trial_numbered(self, number):
            return super().create_trial(tuner_id)

    def _promotion(self, beyond_quota: bool = False):
        """The trial to train on now, its rung target already written (None: start a new configuration).
        With `beyond_quota` (no new configuration is left), the pruner's choice, else the best trial
        that can train on (`Pruner.beyond_quota`)."""
        book = self.rung_book
        busy = {trial.trial_id for trial in self.ongoing_trials.values()}
        trials = sorted(self.trials.values(), key=lambda t: int(t.trial_id))
        with book.deciding():
            for trial in trials:  # a decision made before a kill, not yet acted on
                if (trial.trial_id not in busy and trial.status == trial_module.TrialStatus.COMPLETED
                        and book.target(trial) > book.reached(trial)):
                    return trial
            chosen = self.pruner.choose(book, trials, busy)
            if chosen is None and beyond_quota:
                chosen = self.pruner.beyond_quota(book, trials, busy)
        if chosen is None:
            return None
        trial, rung = chosen
        book.promote(trial, rung)
        return trial

    @keras_tuner.synchronized
    def update_trial(self, trial_id, metrics, step=0):
        for tuner_id, trial in self.ongoing_trials.items():
            if trial.trial_id == trial_id:
                self._touch(tuner_id)
        if not metrics:  # a heartbeat (see `kerashp.tuning.runs.Heartbeat`)
            return self.trials[trial_id]
        if self.rung_book is not None:
            self.rung_book.reported(trial_id)
        return super().update_trial(trial_id, metrics, step=step)

    @keras_tuner.synchronized
    def end_trial(self, trial):
        for tuner_id, ongoing in self.ongoing_trials.items():
            if ongoing.trial_id == trial.trial_id:
                self._touch(tuner_id)
        try:
            super().end_trial(trial)
        except ConsecutiveFailures:  # raised before KerasTuner records the trial: record it, then stop
            self._save_trial(self.trials[trial.trial_id])
            self.save()
            raise
        self.save()

    def save(self):
        """Writes oracle.json without what grows with the number of trials.

        KerasTuner's state holds every trial's id (start and end order), values hash,
        run count and start time, so writing it after each trial cost time in
        proportion to the trials so far (80 ms per trial at 5,000 trials). Those are
        implied by the trial files, which a reload reads anyway: `set_state` derives
        them again. Only run counts other than a finished trial's 1 are kept; they
        are found among the trials that ran or ended since the last save, so that a
        save costs the same whatever the number of trials.
        """
        running = {trial.trial_id for trial in self.ongoing_trials.values()}
        with compat.without_trial_lists(self, running):
            state = self.get_state()
        state.update(start_order=None, end_order=None, tried_so_far=None, id_to_hash=None,
                     run_times=self._unusual_run_times(running), **{COMPACT_STATE: True})
        records.write_json_atomic(pathlib.Path(compat.oracle_file(self)), state, indent=None)

    def _unusual_run_times(self, running: set[str]) -> dict[str, int]:
        """Run counts that differ from 1 for an ended trial and 0 for any other."""
        counts = compat.run_times(self)
        candidates = self._unusual | running | set(compat.retry_queue(self))
        candidates.update(self.end_order[self._ends_seen:])
        self._ends_seen = len(self.end_order)
        unusual = {}
        for trial_id in candidates:
            trial = self.trials.get(trial_id)
            expected = 1 if trial is not None and trial.status in ENDED else 0
            if trial_id in counts and counts[trial_id] != expected:
                unusual[trial_id] = counts[trial_id]
        self._unusual = set(unusual)
        return dict(sorted(unusual.items()))

    def _check_consecutive_failures(self):
        # KerasTuner scans every ended trial after each one ends (time in proportion to the
        # trials so far); a run of failures is noticed when it forms, so its tail suffices.
        failures = 0
        for trial_id in reversed(self.end_order):
            trial = self.trials[trial_id]
            if trial.status != trial_module.TrialStatus.FAILED or DIVERGED in (trial.message or ""):
                return
            failures += 1
            if failures >= self.max_consecutive_failed_trials:
                raise ConsecutiveFailures(failures, trial.message or "")

    def set_state(self, state):
        lost = sorted({*state.get("ongoing_trials", {}).values(), *state.get("retry_queue", [])} - set(self.trials))
        if lost:  # a running or queued trial whose directory is gone: a new trial takes its place
            state = {**state,
                     "ongoing_trials": {tuner: i for tuner, i in state["ongoing_trials"].items() if i in self.trials},
                     "retry_queue": [i for i in state.get("retry_queue", []) if i in self.trials]}
        compact = bool(state.get(COMPACT_STATE))
        kept = dict(state.get("run_times") or {})
        if compact:
            ids = sorted(self.trials, key=lambda trial_id: (len(trial_id), trial_id))
            ended = [trial_id for trial_id in ids if self.trials[trial_id].status in ENDED]
            hashes = {trial_id: compat.values_hash(self, self.trials[trial_id].hyperparameters.values)
                      for trial_id in ids}
            state = {**state, "start_order": ids, "end_order": ended, "tried_so_far": sorted(set(hashes.values())),
                     "id_to_hash": hashes, "run_times": {**dict.fromkeys(ended, 1), **kept}}
            display = state.get("display")
            if isinstance(display, dict):  # "Running Trial #N": N in the order trials began
                state["display"] = {**display, "trial_number": {
                    **{trial_id: number for number, trial_id in enumerate(ids, start=1)},
                    **(display.get("trial_number") or {})}}
        super().set_state(state)
        # A compact state kept only the unusual run counts; KerasTuner's own state is checked whole at the next save.
        self._unusual = set(kept)
        self._ends_seen = len(self.end_order) if compact else 0

    def _save_trial(self, trial):
        records.write_json_atomic(pathlib.Path(compat.trial_dir(self, trial.trial_id)) / "trial.json", trial.get_state())

    def reload(self):
        if self.rung_book is not None:
            self.rung_book.forget()
        # KerasTuner reads these with a bare json.loads: name a damaged trial file instead
        # (its hyperparameters are nowhere else), and rebuild a damaged oracle.json from the trials.
        trial_files = records.trial_files(compat.project_dir(self))
        states = [records.read_trial_state(path) for path in trial_files]
        path = pathlib.Path(compat.oracle_file(self))
        try:
            state = records.read_json(path)
            if not isinstance(state, dict):
                raise StudyError(f"{path} holds no oracle state")
            # KerasTuner's own reload (trials, then the oracle's state; ongoing trials are retried),
            # with each distinct search space deserialised once rather than once per trial.
            spaces: dict[str, Any] = {}
            for trial_state in states:
                trial = trial_from_state(trial_state, spaces)
                self.trials[trial.trial_id] = trial
            try:
                self.set_state(state)
            except (KeyError, TypeError, ValueError, AttributeError) as error:  # JSON of another shape
                raise StudyError(f"{path} holds no oracle state ({type(error).__name__}: {error})") from None
        except StudyError:
            logger.warning("%s is missing or damaged: rebuilt from the %d trials on disk", path, len(trial_files))
            self.trials = {}
            self._rebuild_from_trials(trial_files)
        else:
            for trial in self.ongoing_trials.values():
                compat.retry_queue(self).append(trial.trial_id)
            self.ongoing_trials = {}
        finished = (trial_module.TrialStatus.COMPLETED, trial_module.TrialStatus.FAILED)
        compat.set_retry_queue(self, [
            trial_id for trial_id in compat.retry_queue(self) if self.trials[trial_id].status not in finished
        ])
        self._queue_orphaned_trials()
        self._reopen_incomplete_trials()
        numbers = {int(trial_id) for trial_id in self.trials if trial_id.isdigit()}
        lost = [n for n in range(max(numbers, default=-1)) if n not in numbers]
        if lost:
            logger.warning("trial(s) %s: directory gone from %s; a new trial takes each one's place",
                           ", ".join(map(str, lost)), compat.project_dir(self))

    def _queue_orphaned_trials(self) -> None:
        """Queues a trial whose file says RUNNING but which oracle.json does not know as
        running: KerasTuner writes a new trial's file, then oracle.json, and a process
        killed between the two writes would otherwise leave that trial never run. It is
        run first, as it would have been (the queue is taken from its end)."""
        queued = set(compat.retry_queue(self))
        orphans = [trial_id for trial_id in sorted(self.trials, key=lambda trial_id: (len(trial_id), trial_id))
                   if self.trials[trial_id].status == trial_module.TrialStatus.RUNNING and trial_id not in queued]
        for trial_id in reversed(orphans):
            logger.warning("trial %s was handed out when the process stopped, before the oracle recorded it: "
                           "running it now", trial_id)
            compat.retry_queue(self).append(trial_id)

    def _reopen_incomplete_trials(self) -> None:
        """Queues a finished trial again where a run's summary or final weights
        are gone (deleted by hand, or lost with a disk), or its history lost an
        epoch its summary counts: that run is retrained, its finished siblings are
        kept. Each run's summary and history are read once (a resume of the whole
        grid checks 23,328 runs)."""
        if not self.runs_per_trial:
            return
        queued = set(compat.retry_queue(self))
        project = compat.project_dir(self)
        for trial_id in sorted(self.trials):
            trial = self.trials[trial_id]
            if trial.status != trial_module.TrialStatus.COMPLETED or trial_id in queued:
                continue
            missing = []
            for index in range(self.runs_per_trial):
                run_dir = layout.execution_dir(project, trial_id, index)
                summary = records.read_summary(pathlib.Path(run_dir, records.SUMMARY_FILE))
                if summary is None:
                    missing.append(f"{run_dir.name}/{records.SUMMARY_FILE}")
                if weights_expected(summary) and not os.path.exists(os.path.join(run_dir, records.FINAL_WEIGHTS_FILE)):
                    missing.append(f"{run_dir.name}/{records.FINAL_WEIGHTS_FILE}")
                if summary is not None:
                    lost = records.missing_epochs(pathlib.Path(run_dir), summary)
                    if lost:
                        missing.append(f"{run_dir.name}/{records.HISTORY_FILE} epoch(s) {', '.join(map(str, lost))}")
            if missing:
                logger.warning("trial %s: %s missing; retraining what is missing", trial_id, ", ".join(missing))
                compat.retry_queue(self).insert(0, trial_id)  # the queue is taken from its end: after interrupted ones

    def _rebuild_from_trials(self, trial_files) -> None:
        """The oracle's state as the trials on disk imply it: every trial known and
        hashed (never proposed again), unfinished ones queued to resume first."""
        for path in trial_files:
            trial = trial_module.Trial.load(str(path))
            self.trials[trial.trial_id] = trial
        finished = (trial_module.TrialStatus.COMPLETED, trial_module.TrialStatus.FAILED,
                    trial_module.TrialStatus.INVALID)
        ids = sorted(self.trials)
        hashes = {trial_id: compat.values_hash(self, self.trials[trial_id].hyperparameters.values) for trial_id in ids}
        state = self.get_state()  # this oracle's own keys, at their fresh values
        state.update(
            ongoing_trials={}, start_order=ids, end_order=[i for i in ids if self.trials[i].status in finished],
            run_times={}, retry_queue=[i for i in ids if self.trials[i].status not in finished],
            tried_so_far=sorted(set(hashes.values())), id_to_hash=hashes,
        )
        self.set_state(state)
        self.save()


class NamedConfigOracle(ResumableOracle):
    """Runs named configurations, each exactly once, in the order given.

    KerasTuner's `GridSearchOracle` keeps its position in memory only, so a
    reloaded grid can raise `KeyError` or stop early (keras-tuner #1055). Here
    the next configuration is always the first one in `names` that no trial in
    the project has taken yet (finished, failed or interrupted), so the order
    survives any number of restarts and a configuration never runs twice.
    An interrupted trial is resumed first (see `ResumableOracle`).

    Args:
        configs: all configurations of the study, name -> hyperparameter values.
        names: the configurations to run now (a subset of `configs`, in order).
        objective: forwarded to `keras_tuner.Oracle`.
    """

    def __init__(
        self,
        configs: Mapping[str, Mapping[str, Any]],
        names: Sequence[str] | None = None,
        **kwargs,
    ):
        kwargs.setdefault("max_consecutive_failed_trials", 10**6)  # a failed config must not stop the study
        super().__init__(**kwargs)
        self.configs = {name: dict(values) for name, values in configs.items()}
        self.names = list(names) if names is not None else list(self.configs)
        unknown = [name for name in self.names if name not in self.configs]
        if unknown:
            raise ValueError(f"unknown configurations {unknown}; known: {list(self.configs)}")

    def taken_names(self) -> set[str]:
        """Configurations that already have a trial (of any status) in the project."""
        return {
            trial.hyperparameters.values.get(CONFIG_KEY)
            for trial in self.trials.values()
        }

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        taken = self.taken_names()
        for name in self.names:
            if name not in taken:
                return {
                    "status": trial_module.TrialStatus.RUNNING,
                    "values": {CONFIG_KEY: name, **self.configs[name]},
                }
        return {"status": trial_module.TrialStatus.STOPPED}

    def _record_values(self, trial):
        # The configuration name is part of the values; hash them as they are.
        compat.mark_tried(self, trial)


def grid_values(hp: keras_tuner.engine.hyperparameters.HyperParameter) -> list[Any]:
    """The values a grid takes for one hyperparameter, in its declared order."""
    hyperparameters = keras_tuner.engine.hyperparameters
    if isinstance(hp, hyperparameters.Fixed):
        return [hp.value]
    if isinstance(hp, hyperparameters.Boolean):
        return [False, True]
    if isinstance(hp, hyperparameters.Choice):
        return list(hp.values)
    if isinstance(hp, (hyperparameters.Int, hyperparameters.Float)) and hp.step:
        return list(hp.values)
    raise ValueError(f"hyperparameter {hp.name!r} has no finite set of values for a grid (give it a step or choices)")


class GridOracle(ResumableOracle):
    """Every point of the search space's grid, each once, in a fixed order.

    The order is `itertools.product` over the hyperparameters in their declared
    order (the last varies fastest). The next point is always the first one that
    no trial in the project holds (finished, failed or interrupted), so unlike
    KerasTuner's `GridSearchOracle` (which keeps its position in memory only,
    keras-tuner #1055) a resumed grid neither repeats nor skips a point.
    `max_trials` (optional) stops the grid after that many trials in all.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("max_consecutive_failed_trials", 10**6)
        super().__init__(**kwargs)
        self._cursor: tuple[list[str], set[tuple], Iterator[dict[str, Any]]] | None = None

    def reload(self):
        super().reload()
        self._cursor = None  # the trials on disk decide again where the grid stands

    def grid(self) -> Iterator[dict[str, Any]]:
        """All grid points, in order."""
        space = self.get_space().space
        names = [hp.name for hp in space]
        for combination in itertools.product(*(grid_values(hp) for hp in space)):
            yield dict(zip(names, combination))

    def grid_size(self) -> int:
        size = 1
        for hp in self.get_space().space:
            size *= len(grid_values(hp))
        return size

    @staticmethod
    def point_key(values: Mapping[str, Any], names: Sequence[str]) -> tuple:
        return tuple(repr(values.get(name)) for name in names)

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        """The first grid point no trial holds, in O(1) amortised: the points taken are
        read from the trials once (per process, and again after a reload), then a
        cursor walks the grid, never back (a point passed was taken then and stays so)."""
        names = [hp.name for hp in self.get_space().space]
        if self._cursor is None or self._cursor[0] != names:
            taken = {self.point_key(trial.hyperparameters.values, names) for trial in self.trials.values()}
            self._cursor = (names, taken, self.grid())
        _, taken, points = self._cursor
        for values in points:
            key = self.point_key(values, names)
            if key not in taken:
                taken.add(key)
                return {"status": trial_module.TrialStatus.RUNNING, "values": values}
        return {"status": trial_module.TrialStatus.STOPPED}


class ResumableRandomSearchOracle(ResumableOracle, keras_tuner.oracles.RandomSearchOracle):
    """KerasTuner's random search with `ResumableOracle`'s restart and dead-worker handling."""


class ResumableBayesianOracle(ResumableOracle, keras_tuner.oracles.BayesianOptimizationOracle):
    """KerasTuner's Bayesian optimisation with `ResumableOracle`'s restart and dead-worker handling."""


