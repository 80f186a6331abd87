"""Pruned multi-fidelity search on epochs: asynchronous successive halving (ASHA),
its Hyperband brackets, and the median stopping rule.

A trial trains in stages. Its rungs are the epochs `min_epochs * eta**k` below
its full length, then its full length (a trial of 20 epochs with
`min_epochs=1, eta=3`: 1, 3, 9, 20). A trial first trains to its first rung
and reports its objective there (the best value so far, as KerasTuner scores
trials); whether it trains on to the next rung is decided by the pruner:

- `asha` (Li et al., 2020): whenever a worker asks for work, the best trial
  that stands at rung k, is among the top `floor(n / eta)` of the n trials that
  reached rung k, and has not been promoted yet, is promoted (top rung first);
  otherwise a new configuration starts at rung 0. Nothing waits for a rung to
  fill, so it runs the same on one process or many workers.
- `hyperband`: ASHA in several brackets (Li et al., 2018, asynchronously as
  in Ray Tune's AsyncHyperBand); bracket b starts its trials at rung b, so the
  less aggressive brackets hedge against a low rung misjudging slow starters.
  New trials go to the brackets in Hyperband's proportions, in a fixed
  interleaved order.
- `median` (Golovin et al., 2017): a trial at rung k trains on unless its
  objective there is worse than the median of the other trials that reached
  rung k (always while fewer than `MEDIAN_MIN_TRIALS` have).

A promoted trial continues from its checkpoint: its model is built for its
full length (a schedule spans the full run) and the stage stops at the rung,
so the epochs it trains are those of the unpruned run, none twice.

State lives on disk, as the other oracles': each trial's `rung.json` (bracket,
rungs and the rung it is to be trained to, written before the trial is handed
out) and the objective the tuner reported at each rung (in `trial.json`, at
step = the rung's epochs). Every decision is a function of these files, so a
search killed at any moment and rerun makes the same promotions, and a
decision written but not yet acted on is acted on first.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import statistics
from typing import Any, Callable, Mapping, Sequence

import keras_tuner
from keras_tuner.engine import trial as trial_module

from kerashp import compat
from kerashp.storage import records
from kerashp.storage.layout import read_rung_state, rung_path

logger = logging.getLogger("kerashp")

PRUNERS = ("none", "asha", "median", "hyperband")
MEDIAN_MIN_TRIALS = 3  # the median rule prunes only once this many other trials reached the rung


@dataclasses.dataclass(frozen=True)
class Rungs:
    """The epochs at which trials are compared.

    Attributes:
        min_epochs: epochs of the first rung.
        eta: reduction factor: each rung has eta times the epochs of the one
            before, and ASHA promotes the top 1/eta of a rung.
        max_epochs: the longest trial's epochs (sets the number of rungs and
            of Hyperband brackets).
    """

    min_epochs: int
    eta: int
    max_epochs: int

    def __post_init__(self):
        if self.eta < 2:
            raise ValueError(f"eta must be at least 2, got {self.eta}")
        if not 1 <= self.min_epochs < self.max_epochs:
            raise ValueError(f"the first rung ({self.min_epochs} epochs) must be shorter than the longest "
                             f"trial ({self.max_epochs} epochs) for pruning to stop anything")

    def global_epochs(self) -> list[int]:
        """min_epochs * eta**k below max_epochs, then max_epochs."""
        epochs, value = [], self.min_epochs
        while value < self.max_epochs:
            epochs.append(value)
            value *= self.eta
        return epochs + [self.max_epochs]

    @property
    def brackets(self) -> int:
        """Hyperband's brackets: one starting at each rung."""
        return len(self.global_epochs())

    def for_trial(self, full_epochs: int, bracket: int = 0) -> list[int]:
        """The rungs (epochs) of a trial of `full_epochs` in `bracket`; the last is its full length."""
        return [epochs for epochs in self.global_epochs()[bracket:] if epochs < full_epochs] + [full_epochs]

    def bracket_of(self, index: int) -> int:
        """The Hyperband bracket of the `index`-th trial (0-based).

        Bracket b (starting at rung b, of S + 1 = `brackets`) gets Hyperband's
        share `ceil((S + 1) / (S + 1 - b) * eta**(S - b))` of the trials, handed
        out by smooth weighted round robin, so the sequence is fixed and the
        brackets are interleaved."""
        last = self.brackets - 1
        weights = [math.ceil((last + 1) / (last + 1 - b) * self.eta ** (last - b)) for b in range(last + 1)]
        current = [0] * len(weights)
        chosen = 0
        for _ in range(index + 1):
            current = [c + w for c, w in zip(current, weights)]
            chosen = max(range(len(current)), key=lambda b: (current[b], -b))
            current[chosen] -= sum(weights)
        return chosen


class PruningMixin:
    """Adds successive-halving pruning to a `ResumableOracle` that proposes configurations.

    Put it first among the bases: `type("Pruned", (PruningMixin, GridOracle), {})`
    (see `with_pruning`). The base oracle's `populate_space` still proposes
    the new configurations (grid points, random or Bayesian samples, named
    configurations); this mixin decides, before each new one, whether a trial
    already begun should train on to its next rung instead.

    Args:
        pruner: "asha", "hyperband" or "median".
        rungs: where trials are compared.
        full_epochs: a trial's full length from its hyperparameter values.
    """

    def __init__(self, *args, pruner: str, rungs: Rungs, full_epochs: Callable[[Mapping[str, Any]], int], **kwargs):
        super().__init__(*args, **kwargs)
        if pruner not in PRUNERS[1:]:
            raise ValueError(f"unknown pruner {pruner!r}; choose from {', '.join(PRUNERS[1:])}")
        self.pruner = pruner
        self.rungs = rungs
        self.full_epochs = full_epochs
        self._rung_states: dict[str, dict[str, Any] | None] = {}  # this oracle is their only writer

    def reload(self):
        self._rung_states = {}
        super().reload()

    # ---- state on disk --------------------------------------------------------

    def rung_state(self, trial_id: str) -> dict[str, Any] | None:
        if trial_id not in self._rung_states:
            self._rung_states[trial_id] = read_rung_state(compat.trial_dir(self, trial_id))
        return self._rung_states[trial_id]

    def _write_rung_state(self, trial_id: str, state: dict[str, Any]) -> None:
        path = rung_path(compat.trial_dir(self, trial_id))
        path.parent.mkdir(parents=True, exist_ok=True)
        records.write_json_atomic(path, state)
        self._rung_states[trial_id] = state

    def _first_rung_state(self, trial) -> dict[str, Any]:
        bracket = self.rungs.bracket_of(int(trial.trial_id)) if self.pruner == "hyperband" else 0
        epochs = self.rungs.for_trial(self.full_epochs(trial.hyperparameters.values), bracket)
        return {"bracket": bracket, "rungs": epochs, "rung": 0, "epochs": epochs[0]}

    def target(self, trial) -> int:
        """The rung the trial is (to be) trained to."""
        state = self.rung_state(trial.trial_id)
        return state["rung"] if state else 0

    def trial_rungs(self, trial) -> list[int]:
        state = self.rung_state(trial.trial_id) or self._first_rung_state(trial)
        return list(state["rungs"])

    def reached(self, trial) -> int:
        """The highest rung the trial reported its objective at (-1: none yet)."""
        name = self.objective.name
        if not trial.metrics.exists(name):
            return -1
        steps = {observation.step for observation in trial.metrics.get_history(name)}
        reached = -1
        for index, epochs in enumerate(self.trial_rungs(trial)):
            if epochs in steps:
                reached = index
        return reached

    def score_at(self, trial, rung: int) -> float:
        """The trial's objective at `rung`, oriented so that larger is better (-inf: failed or missing)."""
        if self.reached(trial) < rung:
            return -math.inf
        epochs = self.trial_rungs(trial)[rung]
        for observation in trial.metrics.get_history(self.objective.name):
            if observation.step == epochs:
                value = float(observation.mean())
                if math.isnan(value):
                    return -math.inf
                return value if self.objective.direction == "max" else -value
        return -math.inf

    # ---- decisions ------------------------------------------------------------

    def _at_rung(self, trials: Sequence, rung: int) -> list:
        """Trials that reached `rung`, and failed trials that were training to it."""
        return [trial for trial in trials
                if self.reached(trial) >= rung
                or (trial.status == trial_module.TrialStatus.FAILED and self.target(trial) == rung)]

    def _promotable(self, trial, rung: int) -> bool:
        return (trial.status == trial_module.TrialStatus.COMPLETED and self.target(trial) == rung
                and self.reached(trial) == rung and rung + 1 < len(self.trial_rungs(trial))
                and not (self.rung_state(trial.trial_id) or {}).get("stopped"))

    def _promotion(self):
        """The trial to train on now, its rung target already written (None: start a new configuration)."""
        busy = {trial.trial_id for trial in self.ongoing_trials.values()}
        trials = sorted((t for t in self.trials.values() if t.trial_id not in busy), key=lambda t: int(t.trial_id))
        # A decision made before a kill, not yet acted on.
        for trial in trials:
            if trial.status == trial_module.TrialStatus.COMPLETED and self.target(trial) > self.reached(trial):
                return trial
        if self.pruner == "median":
            return self._median_promotion(trials)
        brackets: dict[int, list] = {}
        for trial in sorted(self.trials.values(), key=lambda t: int(t.trial_id)):
            brackets.setdefault((self.rung_state(trial.trial_id) or {}).get("bracket", 0), []).append(trial)
        for bracket in sorted(brackets):
            members = brackets[bracket]
            for rung in range(max(len(self.trial_rungs(t)) for t in members) - 2, -1, -1):
                pool = self._at_rung(members, rung)
                quota = len(pool) // self.rungs.eta
                ranked = sorted(pool, key=lambda t: (-self.score_at(t, rung), int(t.trial_id)))
                for trial in ranked[:quota]:
                    if trial.trial_id not in busy and self._promotable(trial, rung):
                        self._promote(trial, rung + 1)
                        return trial
        return None

    def _median_promotion(self, trials: Sequence):
        everyone = list(self.trials.values())
        for trial in trials:
            rung = self.reached(trial)
            if rung < 0 or not self._promotable(trial, rung):
                continue
            others = [self.score_at(other, rung) for other in self._at_rung(everyone, rung)
                      if other.trial_id != trial.trial_id]
            if len(others) >= MEDIAN_MIN_TRIALS:
                median = statistics.median(others)
                if self.score_at(trial, rung) < median:
                    state = dict(self.rung_state(trial.trial_id) or self._first_rung_state(trial))
                    state["stopped"] = (f"below the median of the {len(others)} other trials at rung {rung} "
                                        f"({state['rungs'][rung]} epochs)")
                    self._write_rung_state(trial.trial_id, state)
                    continue
            self._promote(trial, rung + 1)
            return trial
        return None

    def _promote(self, trial, rung: int) -> None:
        state = dict(self.rung_state(trial.trial_id) or self._first_rung_state(trial))
        state.update(rung=rung, epochs=state["rungs"][rung])
        self._write_rung_state(trial.trial_id, state)  # the decision, on disk before anything acts on it
        logger.info("trial %s promoted to rung %d (%d epochs)", trial.trial_id, rung, state["epochs"])

    @keras_tuner.synchronized
    def create_trial(self, tuner_id):
        if tuner_id not in self.ongoing_trials and not self.past_deadline():
            self._touch(tuner_id)
            self._release_silent_workers()
            if not compat.retry_queue(self):
                trial = self._promotion()
                if trial is not None:
                    trial.status = trial_module.TrialStatus.RUNNING
                    self.ongoing_trials[tuner_id] = trial
                    self.tuner_ids.add(tuner_id)
                    compat.save_trial(self, trial)
                    self.save()
                    return trial
        trial = super().create_trial(tuner_id)
        if trial.status == trial_module.TrialStatus.RUNNING and self.rung_state(trial.trial_id) is None:
            self._write_rung_state(trial.trial_id, self._first_rung_state(trial))
        return trial


def with_pruning(oracle_class: type) -> type:
    """`oracle_class` with `PruningMixin`'s successive halving on top."""
    return type(f"Pruned{oracle_class.__name__}", (PruningMixin, oracle_class),
                {"__doc__": f"{oracle_class.__name__} whose trials are pruned (see `PruningMixin`)."})
