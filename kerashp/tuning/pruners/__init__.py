"""Pruned multi-fidelity search on epochs: one pruning rule per module behind
`Pruner`'s small interface.

A trial trains in stages. Its rungs are the epochs `min_epochs * eta**k` below
its full length, then its full length (a trial of 20 epochs with
`min_epochs=1, eta=3`: 1, 3, 9, 20; `first_rung` gives the first rung when none
is set). A trial first trains to its first rung
and reports its objective there (the best value so far, as KerasTuner scores
trials); whether it trains on to the next rung is the pruner's decision:

- `asha` (`kerashp.tuning.pruners.asha`): asynchronous successive halving;
- `hyperband` (`kerashp.tuning.pruners.hyperband`): ASHA in Hyperband's brackets;
- `median` (`kerashp.tuning.pruners.median`): the median stopping rule.

A promoted trial continues from its checkpoint: its model is built for its
full length (a schedule spans the full run) and the stage stops at the rung,
so the epochs it trains are those of the unpruned run, none twice.

State lives on disk, as the oracles' own: each trial's `rung.json` (bracket,
rungs and the rung it is to be trained to, written before the trial is handed
out; see `RungBook`) and the objective the tuner reported at each rung (in
`trial.json`, at step = the rung's epochs). Every decision is a function of
these files, so a search killed at any moment and rerun makes the same
promotions, and a decision written but not yet acted on is acted on first.
`kerashp.tuning.oracle.ResumableOracle` asks its pruner before each new trial.

A rule of one's own subclasses `Pruner` (`bracket`, `choose`) and registers its
class in `PRUNERS`.
"""

from __future__ import annotations

from kerashp.tuning.pruners.asha import ASHA
from kerashp.tuning.pruners.base import Pruner, RungBook, Rungs
from kerashp.tuning.pruners.hyperband import Hyperband
from kerashp.tuning.pruners.median import MEDIAN_MIN_TRIALS, MedianStopping

PRUNERS: dict[str, type[Pruner]] = {cls.name: cls for cls in (ASHA, MedianStopping, Hyperband)}


def _pruner_class(name: str) -> type[Pruner]:
    if name not in PRUNERS:
        raise ValueError(f"unknown pruner {name!r}; choose from {', '.join(PRUNERS)}")
    return PRUNERS[name]


def first_rung(name: str, eta: int, max_epochs: int) -> int:
    """The first rung's epochs of pruner `name` when `--min-epochs` is not given: 3 for
    `asha` where the longest trial has at least 3 x eta epochs, else 1 (see
    `Pruner.default_min_epochs`).

    Args:
        name: the pruner ("asha", "median" or "hyperband").
        eta: the reduction factor.
        max_epochs: the longest trial's epochs.
    """
    return _pruner_class(name).default_min_epochs(eta, max_epochs)


def make_pruner(name: str, rungs: Rungs) -> Pruner:
    """The pruner called `name` ("asha", "median" or "hyperband") on `rungs`."""
    return _pruner_class(name)(rungs)


__all__ = ["ASHA", "Hyperband", "MEDIAN_MIN_TRIALS", "MedianStopping", "PRUNERS", "Pruner", "RungBook", "Rungs",
           "first_rung", "make_pruner"]
