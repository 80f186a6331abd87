"""Optuna's samplers as kerashp's proposers: `--search optuna-tpe`, `optuna-qmc`, `optuna-cmaes`
(needs `pip install "kerashp[optuna]"`) and `optuna-gp` (`pip install "kerashp[optuna-gp]"`:
PyTorch too).

Each proposal rebuilds the sampler's view from the trials the oracle holds (what is on
disk): a fresh in-memory Optuna study, one Optuna trial per kerashp trial with its values
as the distributions of the search space (`kerashp.integrations.optuna_space`), then asks
a sampler made for this proposal alone. So a proposal is a function of the trials on disk
and the oracle's seed state, and a search killed and rerun proposes what the uninterrupted
one did; nothing of Optuna's is kept between proposals.

- `OptunaTPEOracle`: Optuna's `TPESampler` (its defaults: 10 random proposals first, 24
  candidates, univariate) seeded from the oracle's seed state, one seed per proposal as
  kerashp's own TPE draws them. A finished trial is COMPLETE with its objective (oriented
  so that larger is better); under a pruner, a trial stopped at a rung is PRUNED with its
  objective at that rung as the intermediate value of that rung's epochs (Optuna's TPE
  ranks pruned trials by how far they got, then by that value, as kerashp's TPE does); a
  failed trial is FAIL; a trial still training is RUNNING (Optuna's constant liar keeps
  parallel workers apart).
- `OptunaQMCOracle`: Optuna's `QMCSampler` (a scrambled Sobol sequence seeded with the
  oracle's seed): it learns nothing from the scores and covers the space more evenly than
  random draws. As in Optuna, the first proposals (until a trial has completed and fixed the
  space) are random; categorical hyperparameters are drawn independently.

- `OptunaCMAESOracle`: Optuna's `CmaEsSampler` (needs the `cmaes` package, in the same
  extra): the covariance matrix adaptation evolution strategy over the numeric
  hyperparameters (categorical ones drawn at random, as Optuna does); under `--prune asha` or
  `hyperband` pruned trials count with their value at the rung where they stopped (Optuna's
  advice for its Hyperband pruner), under `median` they do not.
- `OptunaGPOracle`: Optuna's `GPSampler` (needs PyTorch): a Gaussian process over every
  hyperparameter (categorical ones included) with log expected improvement, after 10 random
  proposals; it learns from finished trials only (pruned ones are left out of its fit, as
  Optuna's GP does).

What a sampler keeps in Optuna's study between proposals is kept in the oracle's state
(oracle.json, saved with the trial it proposed) and put back into each rebuilt view: the
study's system attributes (QMC's position in the sequence) and each trial's (CMA-ES's
generation of a trial and its pickled optimizer, written on the trial that starts a new
generation).

Pruning stays kerashp's (`--prune asha|hyperband|median`: rungs that pause, checkpoints
that promote). Conditional hyperparameters are proposed only where active (define-by-run).
"""

from __future__ import annotations

import copy
import datetime
import functools
import logging
import math
import warnings
from typing import Any

import numpy as np
from keras_tuner.engine import trial as trial_module

from kerashp import compat
from kerashp.errors import StudyError
from kerashp.integrations.optuna_space import hyperparameter_distribution
from kerashp.tuning.oracle import ResumableOracle
from kerashp.tuning.tpe import oriented_score

logger = logging.getLogger("kerashp")

MAX_COLLISIONS = 30  # proposals tried before the space counts as exhausted (as kerashp's TPE)
MODEL_ATTEMPTS = 10  # of which from the sampler; then random ones


def import_optuna():
    """The `optuna` module (its INFO chatter off), or a one-line StudyError."""
    try:
        import optuna
    except ImportError:
        raise StudyError('--search optuna-* needs Optuna: pip install "kerashp[optuna]"') from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


class OptunaProposer(ResumableOracle):
    """A `ResumableOracle` whose proposals come from an Optuna sampler (see the module's docstring).

    Subclasses say which sampler (`make_sampler`).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.optuna = import_optuna()
        self.study_attrs: dict[str, Any] = {}  # the sampler's study system attributes, kept in oracle.json
        self.trial_attrs: dict[str, dict[str, Any]] = {}  # the sampler's system attributes of each trial it proposed

    def make_sampler(self, seed: int) -> Any:
        raise NotImplementedError

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        optuna = self.optuna
        storage = optuna.storages.InMemoryStorage()
        study = optuna.create_study(direction="maximize", storage=storage)
        study_id = storage.get_study_id_from_name(study.study_name)
        for key, value in self.study_attrs.items():
            storage.set_study_system_attr(study_id, key, value)
        space = self.get_space()
        for frozen in self.history(space):
            study.add_trial(frozen)
        for attempt in range(MAX_COLLISIONS):
            with warnings.catch_warnings():  # Optuna's notes that a sampler is experimental
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                seed = compat.next_seed(self)
                # Where the sampler keeps proposing what was tried (a greedy model on a small
                # discrete space), random proposals, as kerashp's TPE falls back to them.
                study.sampler = (self.make_sampler(seed) if attempt < MODEL_ATTEMPTS
                                 else optuna.samplers.RandomSampler(seed=seed))
                values, asked = self.ask(study, space)
            self.study_attrs = dict(storage.get_study_system_attrs(study_id))
            if not compat.already_tried(self, values):
                attrs = dict(storage.get_trial_system_attrs(storage.get_trial_id_from_study_id_trial_number(study_id, asked)))
                if attrs:
                    self.trial_attrs[str(trial_id)] = attrs
                return {"status": trial_module.TrialStatus.RUNNING, "values": values}
        return {"status": trial_module.TrialStatus.STOPPED, "values": None}

    def get_state(self) -> dict[str, Any]:
        state = {**super().get_state(), "optuna_study_attrs": self.study_attrs}
        if self.trial_attrs:
            state["optuna_trial_attrs"] = self.trial_attrs
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        attrs = state.get("optuna_study_attrs")
        self.study_attrs = dict(attrs) if isinstance(attrs, dict) else {}
        attrs = state.get("optuna_trial_attrs")
        self.trial_attrs = ({str(key): dict(value) for key, value in attrs.items() if isinstance(value, dict)}
                            if isinstance(attrs, dict) else {})

    def ask(self, study: Any, space: Any) -> tuple[dict[str, Any], int]:
        """One proposal, define-by-run over the space: a hyperparameter is asked for only
        where its conditions hold (as KerasTuner's random search fills a space). Returns
        the values and the asked Optuna trial's number."""
        trial = study.ask()
        hps = space.copy()
        for hp in space.space:
            if not hps.is_active(hp):
                continue
            made = hyperparameter_distribution(hp)
            hps.values[hp.name] = hp.default if made is None else _suggest(trial, hp.name, made)
        active = {hp.name for hp in space.space if hps.is_active(hp)}
        return {name: value for name, value in hps.values.items() if name in active}, trial.number

    def history(self, space: Any) -> list[Any]:
        """The oracle's trials as Optuna trials (see the module's docstring for their states)."""
        State = self.optuna.trial.TrialState
        distributions = {hp.name: made for hp in space.space
                         if (made := hyperparameter_distribution(hp)) is not None}
        book = self.rung_book
        now = datetime.datetime.now()
        result = []
        for trial in sorted(self.trials.values(), key=lambda trial: int(trial.trial_id)):
            values = trial.hyperparameters.values
            params = {name: _plain(values[name]) for name in distributions if name in values
                      and distributions[name]._contains(distributions[name].to_internal_repr(_plain(values[name])))}
            state, value, steps = State.RUNNING, None, {}
            if trial.status == trial_module.TrialStatus.FAILED:
                state = State.FAIL
            elif book is None:
                if trial.status == trial_module.TrialStatus.COMPLETED:
                    score = oriented_score(self, trial)
                    state, value = (State.COMPLETE, score) if math.isfinite(score) else (State.FAIL, None)
            elif book.state(trial.trial_id) is not None and book.reached(trial) >= 0:
                rung = book.reached(trial)
                rungs = book.trial_rungs(trial)
                score = book.score_at(trial, rung)
                if not math.isfinite(score):
                    state = State.FAIL
                elif rung == len(rungs) - 1 and trial.status == trial_module.TrialStatus.COMPLETED:
                    state, value = State.COMPLETE, score
                else:
                    state, steps = State.PRUNED, {int(rungs[rung]): score}
                    value = score  # as Optuna's tell records a pruned trial: its last intermediate value
            result.append(_view_trial(self.optuna)(
                number=0, trial_id=0, state=state, value=value if state in (State.COMPLETE, State.PRUNED) else None,
                datetime_start=now, datetime_complete=None if state == State.RUNNING else now, params=params,
                distributions={name: distributions[name] for name in params}, user_attrs={},
                system_attrs=dict(self.trial_attrs.get(str(trial.trial_id), {})), intermediate_values=steps))
        return result


class OptunaTPEOracle(OptunaProposer):
    """`--search optuna-tpe`: Optuna's TPESampler, seeded per proposal from the oracle's seed state."""

    def make_sampler(self, seed: int) -> Any:
        return self.optuna.samplers.TPESampler(seed=seed)


class OptunaQMCOracle(OptunaProposer):
    """`--search optuna-qmc`: Optuna's QMCSampler, a scrambled Sobol sequence seeded once with
    the oracle's seed; the sequence's position is kept in the oracle's state."""

    def make_sampler(self, seed: int) -> Any:
        # The sequence: one seed for the whole search. What QMC draws at random (the first
        # proposals, categorical values): this proposal's seed, so that proposals differ.
        return self.optuna.samplers.QMCSampler(
            qmc_type="sobol", scramble=True, seed=int(self.seed) % 2**31, warn_independent_sampling=False,
            independent_sampler=self.optuna.samplers.RandomSampler(seed=seed))


class OptunaCMAESOracle(OptunaProposer):
    """`--search optuna-cmaes`: Optuna's CmaEsSampler, seeded per proposal from the oracle's
    seed state; its optimizer travels in the trials' system attributes (kept in oracle.json)."""

    _warned = False

    def make_sampler(self, seed: int) -> Any:
        if not self._warned:
            self._warned = True
            numeric = [hp.name for hp in self.get_space().space
                       if isinstance(made := hyperparameter_distribution(hp), (self.optuna.distributions.FloatDistribution,
                                                                              self.optuna.distributions.IntDistribution))
                       and not made.single()]
            if not numeric:
                logger.warning("--search optuna-cmaes: the space has no numeric hyperparameter with more than one "
                               "value, so CMA-ES has nothing to adapt and every proposal is random")
        return self.optuna.samplers.CmaEsSampler(
            seed=seed, consider_pruned_trials=self.pruner is not None and self.pruner.name != "median",
            warn_independent_sampling=False, independent_sampler=self.optuna.samplers.RandomSampler(seed=seed))


class OptunaGPOracle(OptunaProposer):
    """`--search optuna-gp`: Optuna's GPSampler, seeded per proposal from the oracle's seed state."""

    def make_sampler(self, seed: int) -> Any:
        return self.optuna.samplers.GPSampler(
            seed=seed, warn_independent_sampling=False, independent_sampler=self.optuna.samplers.RandomSampler(seed=seed))


def _suggest(trial: Any, name: str, made: Any) -> Any:
    from optuna import distributions as dist

    if isinstance(made, dist.CategoricalDistribution):
        return trial.suggest_categorical(name, made.choices)
    if isinstance(made, dist.IntDistribution):
        return int(trial.suggest_int(name, made.low, made.high, step=made.step, log=made.log))
    return float(trial.suggest_float(name, made.low, made.high, step=made.step, log=made.log))


@functools.cache
def _view_trial(optuna) -> type:
    """A FrozenTrial that Optuna's in-memory storage copies cheaply: a rebuilt view adds every
    trial of the search for each proposal, and the storage deep-copies what it is given (most
    of a proposal's time on a long search). Its dictionaries are copied, the values in them
    (numbers, strings, Optuna's immutable distributions) shared."""

    class ViewTrial(optuna.trial.FrozenTrial):
        def __deepcopy__(self, memo: dict) -> "ViewTrial":
            copied = copy.copy(self)
            for key, value in vars(self).items():
                if isinstance(value, (dict, list)):
                    setattr(copied, key, copy.copy(value))
            return copied

    return ViewTrial


def _plain(value: Any) -> Any:
    """numpy scalars (as KerasTuner may keep them) as Python's."""
    return value.item() if isinstance(value, np.generic) else value


__all__ = ["OptunaCMAESOracle", "OptunaGPOracle", "OptunaProposer", "OptunaQMCOracle", "OptunaTPEOracle"]
