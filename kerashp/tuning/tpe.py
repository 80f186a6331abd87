"""Tree-structured Parzen estimator (TPE; Bergstra et al., 2011), the proposer of
`--search tpe`, with pruned trials ranked as Optuna's TPE ranks them.

Each proposal splits the trials observed so far into the best `gamma` of them and
the rest, models each hyperparameter's values in both groups with a Parzen
estimator (a weighted count per choice; Gaussian kernels on the hyperparameter's
[0, 1] scale for numbers, with KerasTuner's linear or log sampling), draws
`candidates` values from the good group's model and keeps the one where the
good group's density is highest relative to the rest's. Hyperparameters are
modelled independently (Optuna's default), and one that a condition leaves
inactive is modelled from the trials where it was active.

Under a pruner the trials are ranked by how far they trained, then by their
objective at the highest rung they reached: the good group is made of the trials
the pruner promoted furthest, and the rest holds every trial it stopped earlier
and every failed one, so the model also learns where not to go. Until `startup`
trials have reported, proposals are random, as KerasTuner's random search draws
them.

Every proposal is a function of the trials on disk and a seed kept in the
oracle's state, so a search killed at any moment and rerun proposes the same
configurations.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, Sequence

import keras_tuner
import numpy as np
from keras_tuner.engine import trial as trial_module

from kerashp import compat
from kerashp.tuning.oracle import ResumableOracle

# A trial's values and its rank key, larger is better: (how far it trained, its objective there).
Observation = tuple[Mapping[str, Any], tuple[float, float]]

MAX_COLLISIONS = 30  # proposals tried before the space counts as exhausted (KerasTuner: 20 random ones)
MODEL_ATTEMPTS = 10  # of which from the model (the first greedy, then draws from the good group's); then random
MAX_DISCRETE = 10_000  # a numeric hyperparameter with at most this many values is modelled on their index


@dataclasses.dataclass(frozen=True)
class TPESampler:
    """The proposal rule: which values to try next given scored trials.

    Attributes:
        startup: observations needed before the model is used (random proposals until then).
        candidates: values drawn from the good group's model, per hyperparameter.
        gamma: the fraction of the observations that forms the good group (at least one, at most `max_good`).
        max_good: the largest good group.
        prior_weight: the weight of the uniform prior in each group's model (keeps every value possible).
    """

    startup: int = 10
    candidates: int = 24
    gamma: float = 0.15
    max_good: int = 25
    prior_weight: float = 1.0

    def __post_init__(self):
        if self.startup < 2 or self.candidates < 1 or not 0 < self.gamma < 1 or self.max_good < 1:
            raise ValueError(f"invalid TPE settings: {self}")

    def split(self, observations: Sequence[Observation]) -> tuple[list[Observation], list[Observation]]:
        """The good group and the rest (ties ranked in the order given)."""
        ranked = sorted(observations, key=lambda observation: observation[1], reverse=True)
        good = max(1, min(self.max_good, math.ceil(self.gamma * len(ranked))))
        return ranked[:good], ranked[good:]

    def propose(self, space: Sequence[Any], observations: Sequence[Observation],
                rng: np.random.Generator, greedy: bool = True) -> dict[str, Any]:
        """One configuration: values for the active hyperparameters of `space`.

        Args:
            space: KerasTuner hyperparameters, in declaration order (conditions refer to earlier ones).
            observations: configurations with their rank keys; fewer than `startup`: a random proposal.
            rng: the source of randomness (one seed per proposal keeps a search reproducible).
            greedy: keep the candidate with the best density ratio (False: a draw from the
                good group's model, for when the greedy choice was tried already).
        """
        return self.fit(observations).propose(space, rng, greedy)

    def fit(self, observations: Sequence[Observation]) -> "FittedTPE":
        """The model of `observations`, to draw several proposals from (each hyperparameter's
        estimators are built once, when first needed)."""
        usable = [(values, tuple(-math.inf if math.isnan(x) else x for x in key)) for values, key in observations]
        if len(usable) < self.startup:
            return FittedTPE(self, None, None)
        good, rest = self.split(usable)
        return FittedTPE(self, [values for values, _ in good], [values for values, _ in rest])


class FittedTPE:
    """A `TPESampler`'s model of one set of observations (random proposals where there were
    fewer than its `startup`)."""

    def __init__(self, sampler: TPESampler, good: list[Mapping[str, Any]] | None,
                 rest: list[Mapping[str, Any]] | None):
        self.sampler, self.good, self.rest = sampler, good, rest
        self._estimators: dict[str, tuple] = {}

    def propose(self, space: Sequence[Any], rng: np.random.Generator, greedy: bool = True) -> dict[str, Any]:
        """One configuration (as `TPESampler.propose`)."""
        hyperparameters = keras_tuner.HyperParameters()
        for hp in space:
            hyperparameters.merge([hp])
            if not hyperparameters.is_active(hp):
                continue
            scale = _Scale.of(hp)
            if self.good is not None and not scale.fixed:
                value = self._candidate(hp, scale, rng, greedy)
            else:
                value = scale.random(rng)
            hyperparameters.values[hp.name] = value
        return dict(hyperparameters.values)

    def _candidate(self, hp, scale: "_Scale", rng: np.random.Generator, greedy: bool) -> Any:
        if hp.name not in self._estimators:
            prior = self.sampler.prior_weight
            self._estimators[hp.name] = (
                scale.estimator([v[hp.name] for v in self.good if hp.name in v], prior),
                scale.estimator([v[hp.name] for v in self.rest if hp.name in v], prior))
        below, above = self._estimators[hp.name]
        if not greedy:
            return scale.value(below.sample(rng, 1)[0])
        draws = below.sample(rng, self.sampler.candidates)
        ratio = below.log_density(draws) - above.log_density(draws)
        return scale.value(draws[int(np.argmax(ratio))])


class _Categorical:
    """A weighted count per choice, plus a uniform prior."""

    def __init__(self, indices: list[int], size: int, prior_weight: float):
        counts = np.bincount(np.asarray(indices, dtype=int), minlength=size).astype(float)
        self.probabilities = (counts + prior_weight / size) / (len(indices) + prior_weight)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(len(self.probabilities), size=n, p=self.probabilities).astype(float)

    def log_density(self, points: np.ndarray) -> np.ndarray:
        return np.log(self.probabilities[points.astype(int)])


class _Gaussians:
    """Gaussian kernels on [0, 1] (truncated there), one per observation plus a wide prior.

    Each kernel's width is the larger distance to its neighbours, clipped to
    [1 / min(100, n + 1), 1] (the bandwidth rule of hyperopt and Optuna)."""

    def __init__(self, points: list[float], prior_weight: float):
        mus = np.asarray(points, dtype=float)
        order = np.argsort(mus)
        sorted_mus = np.concatenate([[0.0], mus[order], [1.0]])
        sigmas = np.empty_like(mus)
        sigmas[order] = np.maximum(sorted_mus[1:-1] - sorted_mus[:-2], sorted_mus[2:] - sorted_mus[1:-1])
        sigmas = np.clip(sigmas, 1.0 / min(100, len(mus) + 1), 1.0)
        self.mus = np.concatenate([mus, [0.5]])
        self.sigmas = np.concatenate([sigmas, [1.0]])
        weights = np.concatenate([np.ones(len(mus)), [prior_weight]])
        self.weights = weights / weights.sum()
        # Each kernel's mass inside [0, 1], to renormalise the truncated kernels.
        self.mass = _normal_cdf((1 - self.mus) / self.sigmas) - _normal_cdf(-self.mus / self.sigmas)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        kernels = rng.choice(len(self.mus), size=n, p=self.weights)
        points = np.empty(n)
        for i, kernel in enumerate(kernels):  # rejection: a truncated normal, a handful of tries at most
            for _ in range(100):
                x = rng.normal(self.mus[kernel], self.sigmas[kernel])
                if 0.0 <= x < 1.0:
                    break
            points[i] = min(max(x, 0.0), np.nextafter(1.0, 0.0))
        return points

    def log_density(self, points: np.ndarray) -> np.ndarray:
        z = (points[:, None] - self.mus[None, :]) / self.sigmas[None, :]
        densities = np.exp(-0.5 * z**2) / (math.sqrt(2 * math.pi) * self.sigmas * self.mass)
        return np.log(np.maximum(densities @ self.weights, 1e-300))


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


@dataclasses.dataclass
class _Scale:
    """One hyperparameter's values on the scale its estimator works on: choice indices
    (Choice, Boolean), [0, 1] (Int, Float: value-list position where the values are
    few enough, else KerasTuner's own linear or log mapping), or a fixed value."""

    hp: Any
    choices: list | None = None  # categorical
    ordered: list | None = None  # numeric, modelled on the position in this list
    fixed: bool = False

    def __post_init__(self):
        self._positions = None if self.ordered is None else np.asarray(self.ordered, dtype=float)

    @classmethod
    def of(cls, hp) -> "_Scale":
        kinds = keras_tuner.engine.hyperparameters
        if isinstance(hp, kinds.Fixed):
            return cls(hp, fixed=True)
        if isinstance(hp, kinds.Boolean):
            return cls(hp, choices=[False, True])
        if isinstance(hp, kinds.Choice):
            return cls(hp, choices=list(hp.values))
        if isinstance(hp, (kinds.Int, kinds.Float)):
            return cls(hp, ordered=_numeric_values(hp))
        raise ValueError(f"hyperparameter {hp.name!r} ({type(hp).__name__}) has no scale for TPE")

    def random(self, rng: np.random.Generator) -> Any:
        if self.fixed:
            return self.hp.value
        if self.choices is not None:
            return self.choices[int(rng.integers(len(self.choices)))]
        return self.value(rng.uniform(0.0, 1.0))

    def estimator(self, values: list, prior_weight: float):
        if self.choices is not None:
            return _Categorical([self._index(value) for value in values], len(self.choices), prior_weight)
        return _Gaussians([self.position(value) for value in values], prior_weight)

    def value(self, point: float) -> Any:
        """The hyperparameter's value at a point of the scale (a choice index, or [0, 1))."""
        if self.choices is not None:
            return self.choices[int(point)]
        if self.ordered is not None:
            return self.ordered[min(int(point * len(self.ordered)), len(self.ordered) - 1)]
        return self.hp.prob_to_value(min(point, np.nextafter(1.0, 0.0)))

    def position(self, value: Any) -> float:
        """Where a value lies on [0, 1] (the middle of its bin for listed values)."""
        if self.ordered is not None:
            index = int(np.argmin(np.abs(self._positions - float(value))))
            return (index + 0.5) / len(self.ordered)
        return float(min(max(self.hp.value_to_prob(value), 0.0), np.nextafter(1.0, 0.0)))

    def _index(self, value: Any) -> int:
        for index, choice in enumerate(self.choices):
            if choice == value and type(choice) is type(value):
                return index
        return next((index for index, choice in enumerate(self.choices) if choice == value), 0)


def _numeric_values(hp) -> list | None:
    """The values of a stepped Int or Float (or a linear Int) where they are few enough to list."""
    if hp.sampling == "linear":
        if hp.step is None and not isinstance(hp, keras_tuner.engine.hyperparameters.Int):
            return None
        if (hp.max_value - hp.min_value) / (hp.step or 1) + 1 > MAX_DISCRETE:
            return None
    elif hp.step is None:
        return None
    values = list(hp.values)
    return values if 1 < len(values) <= MAX_DISCRETE else None


def observations(oracle: ResumableOracle, trials: Sequence[trial_module.Trial]) -> list[Observation]:
    """What a proposal learns from: every trial that reported its objective, ranked
    by how far it trained, then by its objective there (as Optuna's TPE ranks pruned
    trials): under a pruner a trial's rank is (epochs of the highest rung it reached,
    its objective at that rung), so that a trial the pruner promoted ranks above every
    trial stopped earlier; without one, (0, its score). A failed trial ranks below all
    (-1, -inf); a trial still training to its first rung is left out."""
    book = oracle.rung_book
    failed = (-1.0, -math.inf)
    found = []
    for trial in trials:
        if trial.status == trial_module.TrialStatus.FAILED:
            found.append((trial.hyperparameters.values, failed))
        elif book is None:
            if trial.status == trial_module.TrialStatus.COMPLETED:
                found.append((trial.hyperparameters.values, (0.0, oriented_score(oracle, trial))))
        elif book.state(trial.trial_id) is not None and book.reached(trial) >= 0:
            rung = book.reached(trial)
            found.append((trial.hyperparameters.values,
                          (float(book.trial_rungs(trial)[rung]), book.score_at(trial, rung))))
    return found


def oriented_score(oracle, trial) -> float:
    if trial.score is None or math.isnan(trial.score):
        return -math.inf
    return float(trial.score) if oracle.objective.direction == "max" else -float(trial.score)


class ResumableTPEOracle(ResumableOracle):
    """`--search tpe`: TPE proposals (`TPESampler`), with `ResumableOracle`'s restart,
    pruning and dead-worker handling.

    Args:
        sampler: the proposal rule (its defaults: 10 random proposals first, 24 candidates,
            the best 15% as the good group).
        **kwargs: forwarded to `ResumableOracle` (objective, max_trials, seed, pruner, ...).
    """

    def __init__(self, *args, sampler: TPESampler | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.sampler = sampler or TPESampler()

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        trials = sorted(self.trials.values(), key=lambda trial: int(trial.trial_id))
        model, random = self.sampler.fit(observations(self, trials)), self.sampler.fit([])
        space = self.get_space().space
        for attempt in range(MAX_COLLISIONS):
            rng = np.random.default_rng(compat.next_seed(self))
            # Where the greedy proposal was tried already: draws from the good group's model, then random ones.
            values = (model if attempt < MODEL_ATTEMPTS else random).propose(space, rng, greedy=attempt == 0)
            if not compat.already_tried(self, values):
                return {"status": trial_module.TrialStatus.RUNNING, "values": values}
        return {"status": trial_module.TrialStatus.STOPPED, "values": None}


__all__ = ["FittedTPE", "ResumableTPEOracle", "TPESampler", "observations", "oriented_score"]
