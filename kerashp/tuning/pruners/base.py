"""What every pruner shares: the rungs, each trial's rung state on disk, and the
small interface a pruner implements (see `kerashp.tuning.pruners`)."""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import functools
import logging
import math
import pathlib
from typing import Any, Callable, ClassVar, Iterator, Sequence

from keras_tuner.engine import trial as trial_module

from kerashp.storage import records
from kerashp.storage.layout import read_rung_state, rung_path

logger = logging.getLogger("kerashp")


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
        weights = tuple(math.ceil((last + 1) / (last + 1 - b) * self.eta ** (last - b)) for b in range(last + 1))
        period = _round_robin(weights)  # the sequence repeats after sum(weights) trials
        return period[index % len(period)]


@functools.lru_cache(maxsize=32)
def _round_robin(weights: tuple[int, ...]) -> tuple[int, ...]:
    """One period of smooth weighted round robin over `weights` (each index `weights[i]`
    times; after the period every counter is back at zero, so the sequence repeats)."""
    current = [0] * len(weights)
    sequence = []
    for _ in range(sum(weights)):
        current = [c + w for c, w in zip(current, weights)]
        chosen = max(range(len(current)), key=lambda b: (current[b], -b))
        current[chosen] -= sum(weights)
        sequence.append(chosen)
    return tuple(sequence)


class RungBook:
    """Each trial's rung state (`rung.json` in its directory) and what a pruner reads
    from it: the rungs a trial has, the highest it reported at, its score there.

    The oracle that holds the book is the only writer of the states, so they are
    cached after the first read; `forget()` drops the cache (on reload).

    Args:
        trial_dir: the directory of a trial from its id.
        objective: the oracle's `keras_tuner.Objective` (name and direction).
        full_epochs: a trial's full length (`Study.trial_epochs` of its values).
        bracket: the bracket of a new trial from its (integer) id.
    """

    def __init__(self, trial_dir: Callable[[str], str | pathlib.Path], objective,
                 full_epochs: Callable[[Any], int], rungs: Rungs, bracket: Callable[[int], int]):
        self.trial_dir = trial_dir
        self.objective = objective
        self.full_epochs = full_epochs
        self.rungs = rungs
        self.bracket = bracket
        self._states: dict[str, dict[str, Any] | None] = {}
        # Each trial's objective by epoch, read once and again only after it reported (`reported`).
        self._reports: dict[str, tuple[Any, dict[int, float]]] = {}
        self._reached: dict[str, int] | None = None  # within `deciding()`: by trial id

    @contextlib.contextmanager
    def deciding(self) -> Iterator[None]:
        """One decision: each trial's highest rung is worked out once (nothing reports
        meanwhile: the oracle decides under its lock), not once per rung and comparison."""
        self._reached = {}
        try:
            yield
        finally:
            self._reached = None

    def reports(self, trial) -> dict[int, float]:
        """The trial's objective by epoch (the first report of an epoch counts)."""
        cached = self._reports.get(trial.trial_id)
        if cached is not None and cached[0] is trial.metrics:
            return cached[1]
        found: dict[int, float] = {}
        name = self.objective.name
        if trial.metrics.exists(name):
            for observation in trial.metrics.get_history(name):
                found.setdefault(observation.step, float(observation.mean()))
        self._reports[trial.trial_id] = (trial.metrics, found)
        return found

    def reported(self, trial_id: str) -> None:
        """The trial reported metrics (the oracle's `update_trial`): read them again."""
        self._reports.pop(trial_id, None)

    def forget(self) -> None:
        self._states = {}
        self._reports = {}

    def state(self, trial_id: str) -> dict[str, Any] | None:
        """The trial's rung state (None: it has none yet)."""
        if trial_id not in self._states:
            self._states[trial_id] = read_rung_state(self.trial_dir(trial_id))
        return self._states[trial_id]

    def write(self, trial_id: str, state: dict[str, Any]) -> None:
        path = rung_path(self.trial_dir(trial_id))
        path.parent.mkdir(parents=True, exist_ok=True)
        records.write_json_atomic(path, state)
        self._states[trial_id] = state

    def first_state(self, trial) -> dict[str, Any]:
        """A new trial's state: its bracket, its rungs, to be trained to the first."""
        bracket = self.bracket(int(trial.trial_id))
        epochs = self.rungs.for_trial(self.full_epochs(trial), bracket)
        return {"bracket": bracket, "rungs": epochs, "rung": 0, "epochs": epochs[0]}

    def state_or_first(self, trial) -> dict[str, Any]:
        return dict(self.state(trial.trial_id) or self.first_state(trial))

    def target(self, trial) -> int:
        """The rung the trial is (to be) trained to."""
        state = self.state(trial.trial_id)
        return state["rung"] if state else 0

    def trial_rungs(self, trial) -> list[int]:
        return list((self.state(trial.trial_id) or self.first_state(trial))["rungs"])

    def bracket_of(self, trial) -> int:
        return (self.state(trial.trial_id) or {}).get("bracket", 0)

    def reached(self, trial) -> int:
        """The highest rung the trial reported its objective at (-1: none yet)."""
        if self._reached is not None and trial.trial_id in self._reached:
            return self._reached[trial.trial_id]
        steps = self.reports(trial)
        reached = -1
        if steps:
            for index, epochs in enumerate(self.trial_rungs(trial)):
                if epochs in steps:
                    reached = index
        if self._reached is not None:
            self._reached[trial.trial_id] = reached
        return reached

    def score_at(self, trial, rung: int) -> float:
        """The trial's objective at `rung`, oriented so that larger is better (-inf: failed or missing)."""
        if self.reached(trial) < rung:
            return -math.inf
        value = self.reports(trial).get(self.trial_rungs(trial)[rung])
        if value is None or math.isnan(value):
            return -math.inf
        return value if self.objective.direction == "max" else -value

    def at_rung(self, trials: Sequence, rung: int) -> list:
        """Trials that reached `rung`, and failed trials that were training to it."""
        return [trial for trial in trials
                if self.reached(trial) >= rung
                or (trial.status == trial_module.TrialStatus.FAILED and self.target(trial) == rung)]

    def promotable(self, trial, rung: int) -> bool:
        """Whether the trial stands finished at `rung`, below its last, and was not stopped."""
        return (trial.status == trial_module.TrialStatus.COMPLETED and self.target(trial) == rung
                and self.reached(trial) == rung and rung + 1 < len(self.trial_rungs(trial))
                and not (self.state(trial.trial_id) or {}).get("stopped"))

    def can_train_on(self, trials: Sequence, busy: set[str]) -> Iterator[tuple[Any, int]]:
        """Each trial (in `trials`' order) that is not busy and stands finished at a rung below
        its last, not stopped, with that rung."""
        for trial in trials:
            if trial.trial_id in busy:
                continue
            rung = self.reached(trial)
            if rung >= 0 and self.promotable(trial, rung):
                yield trial, rung

    def promote(self, trial, rung: int) -> None:
        """Writes the decision to train the trial on to `rung` (on disk before anything acts on it)."""
        state = self.state_or_first(trial)
        state.update(rung=rung, epochs=state["rungs"][rung])
        self.write(trial.trial_id, state)
        logger.info("trial %s promoted to rung %d (%d epochs)", trial.trial_id, rung, state["epochs"])

    def stop(self, trial, reason: str) -> None:
        """Records that the trial trains no further, and why."""
        state = self.state_or_first(trial)
        state["stopped"] = reason
        self.write(trial.trial_id, state)


class Pruner(abc.ABC):
    """One pruning rule: which bracket a new trial starts in, and which trial, if
    any, trains on to its next rung instead of a new configuration starting.

    Every decision must be a function of the trials and the `RungBook` (files on
    disk), so that a search killed at any moment and rerun decides the same.

    Args:
        rungs: where trials are compared.
    """

    name: ClassVar[str]

    def __init__(self, rungs: Rungs):
        self.rungs = rungs

    @classmethod
    def default_min_epochs(cls, eta: int, max_epochs: int) -> int:
        """The first rung's epochs when `--min-epochs` is not given: 1 unless the rule
        chooses otherwise.

        Args:
            eta: the reduction factor.
            max_epochs: the longest trial's epochs.
        """
        return 1

    def bracket(self, index: int) -> int:
        """The bracket of the `index`-th trial (0-based): 0 unless the rule has brackets."""
        return 0

    def beyond_quota(self, book: RungBook, trials: Sequence, busy: set[str]):
        """With no new configuration to start (`--when-exhausted promote`): the best trial that
        can train on, at the highest rung that has one (ties to the lower id), and the rung it is
        to train to; None when every trial is at its full length, stopped (the median rule's
        stops are for good) or busy."""
        best = None
        for trial, rung in book.can_train_on(trials, busy):
            rank = (rung, book.score_at(trial, rung), -int(trial.trial_id))
            if best is None or rank > best[0]:
                best = (rank, trial, rung + 1)
        return None if best is None else best[1:]

    @abc.abstractmethod
    def choose(self, book: RungBook, trials: Sequence, busy: set[str]):
        """The trial to promote now, or None (start a new configuration).

        Args:
            book: the rung states.
            trials: every trial of the search, in id order.
            busy: ids of the trials being trained now (never chosen).

        Returns:
            `(trial, rung)`: the trial and the rung it is to train to; None.
            A rule may stop trials (`book.stop`) while it decides.
        """
