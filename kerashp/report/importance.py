"""Hyperparameter importance: how much of the objective's spread across a search's trials
each hyperparameter explains by itself.

The method is fANOVA's main effect (Hutter, Hoos and Leyton-Brown, ICML 2014), as Optuna's
`FanovaImportanceEvaluator` estimates it: a random forest is fitted to the trials'
hyperparameters -> objective; a hyperparameter's main effect is the variance, over its
values, of the forest's prediction averaged over the other hyperparameters (its partial
dependence). Two differences from fANOVA, both stated in the report: the average is over
the trials' own values rather than uniformly over the search space, and the forest is
scikit-learn's (a dependency of KerasTuner's Bayesian search). `importance` is each main
effect's share of their sum (what Optuna reports, summing to 1); `variance_share` is its
share of the prediction's whole variance (what the main effects leave to 1 is interactions).

The trials compared must have been trained alike: in a pruned search, the trials that
trained the largest number of epochs at which a rung holds at least `MIN_TRIALS` of them
(rungs fall at other epochs for trials of other lengths), scored there.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from kerashp.report.pruning import PrunedTrial

MIN_TRIALS = 8  # fewer trials than this: no importance (a forest on a handful of points says nothing)
GRID = 16  # values of a numeric hyperparameter at which its partial dependence is evaluated
BACKGROUND = 256  # trials averaged over for each partial-dependence value (a sample where more)


@dataclasses.dataclass
class Importance:
    """A search's hyperparameter importance and what it was computed from.

    Attributes:
        table: one row per hyperparameter, most important first: `hyperparameter`,
            `importance` (share of the main effects, summing to 1), `variance_share`
            (share of the prediction's variance).
        trials: how many trials were compared.
        basis: which trials and which score, in words.
    """

    table: pd.DataFrame
    trials: int
    basis: str

    def markdown(self) -> str:
        lines = ["", "## Hyperparameter importance", "",
                 f"fANOVA main effects (`kerashp.report.importance`) of {self.trials} trials: {self.basis}. "
                 "importance: share of the main effects (sums to 1); variance: share of the objective's spread "
                 "a hyperparameter explains by itself (the rest is interactions and noise).", "",
                 "| hyperparameter | importance | variance |", "|---|---|---|"]
        lines += [f"| {row.hyperparameter} | {row.importance:.3f} | {row.variance_share:.3f} |"
                  for row in self.table.itertuples()]
        return "\n".join(lines) + "\n"


def encode(values: pd.Series) -> np.ndarray:
    """A hyperparameter's values as numbers: numeric ones as they are (a missing value, as a
    conditional hyperparameter is, below the smallest), others as category codes (missing: -1)."""
    present = values.dropna()
    numeric = len(present) and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                                   for v in present)
    if numeric:
        column = values.astype(float)
        low = float(column.min()) if column.notna().any() else 0.0
        return column.fillna(low - 1.0 - abs(low)).to_numpy()
    categories = {value: code for code, value in enumerate(sorted(present.astype(str).unique()))}
    return np.array([categories[str(v)] if not (v is None or (isinstance(v, float) and math.isnan(v))) else -1
                     for v in values], dtype=float)


def main_effects(values: pd.DataFrame, scores: Sequence[float], seed: int = 0) -> pd.DataFrame | None:
    """The fANOVA main effect of each column of `values` on `scores` (see the module's docstring).

    Args:
        values: one row per trial, one column per hyperparameter.
        scores: each trial's objective.
        seed: the forest's seed (the result is a function of the inputs and the seed).

    Returns:
        `hyperparameter`, `importance`, `variance_share`, most important first; None where
        no column varies or every score is the same.
    """
    from sklearn.ensemble import RandomForestRegressor

    y = np.asarray(scores, dtype=float)
    names = [name for name in values.columns if values[name].astype(str).nunique() > 1]
    if not names or len(y) < 2 or float(np.var(y)) == 0.0:
        return None
    x = np.column_stack([encode(values[name]) for name in names])
    forest = RandomForestRegressor(n_estimators=64, min_samples_leaf=2, random_state=seed)
    forest.fit(x, y)
    total = float(np.var(forest.predict(x)))
    if total <= 0.0:
        return None
    rng = np.random.default_rng(seed)
    background = x if len(x) <= BACKGROUND else x[rng.choice(len(x), BACKGROUND, replace=False)]
    effects = []
    for column in range(len(names)):
        levels, weights = np.unique(x[:, column], return_counts=True)
        if len(levels) > GRID:  # a continuous one: equally probable quantiles of its values
            levels, weights = np.quantile(x[:, column], (np.arange(GRID) + 0.5) / GRID), np.ones(GRID)
        grid = np.repeat(background[None, :, :], len(levels), axis=0)
        grid[:, :, column] = levels[:, None]
        dependence = forest.predict(grid.reshape(-1, x.shape[1])).reshape(len(levels), -1).mean(axis=1)
        mean = np.average(dependence, weights=weights)
        effects.append(float(np.average((dependence - mean) ** 2, weights=weights)))
    effects = np.array(effects)
    share = effects / effects.sum() if effects.sum() > 0 else np.zeros_like(effects)
    table = pd.DataFrame({"hyperparameter": names, "importance": share, "variance_share": effects / total})
    return table.sort_values("importance", ascending=False, ignore_index=True)


def search_importance(table: pd.DataFrame, hyperparameters: Sequence[str], rank_by: str, objective: str,
                      higher_is_better: bool, pruned: Sequence[PrunedTrial] = (), seed: int = 0) -> Importance | None:
    """The importance of a search's hyperparameters, from trials trained alike.

    Args:
        table: the results table (`trial`, `status`, the hyperparameters, `rank_by`).
        hyperparameters: the columns that were searched.
        rank_by: the ranked figure (`best_val_accuracy`).
        objective: the per-epoch metric (`val_accuracy`), for scores at a rung.
        higher_is_better: the objective's direction.
        pruned: the pruned search's trials (`kerashp.report.pruning.pruned_trials`), if pruned.
        seed: the forest's seed.

    Returns:
        The importance, or None with fewer than `MIN_TRIALS` comparable trials or nothing
        that varies.
    """
    from kerashp.report.pruning import score_at

    names = [name for name in hyperparameters if name in table]
    if not names or rank_by not in table or table.empty:
        return None
    ok = table[(table["status"] == "COMPLETED") & table[rank_by].notna()].set_index("trial")
    if any(trial.rungs for trial in pruned):
        by_id = {trial.record.trial_id: trial for trial in pruned if trial.record.trial_id in ok.index}
        # Compared at one number of epochs: trials of different lengths have rungs at different epochs
        for epochs in sorted({e for trial in by_id.values() for e in trial.rungs}, reverse=True):
            reached = [(trial, trial.rungs.index(epochs)) for trial in by_id.values()
                       if epochs in trial.rungs and trial.reached >= trial.rungs.index(epochs)]
            if len(reached) < MIN_TRIALS:
                continue
            scores = [score_at(trial, rung, objective, higher_is_better) for trial, rung in reached]
            scores = [s if higher_is_better else -s for s in scores]  # score_at negates a minimised objective
            keep = [i for i, s in enumerate(scores) if math.isfinite(s)]
            basis = (f"the trials of the pruned search that trained {epochs} epochs, scored by their "
                     f"{'best' if higher_is_better else 'lowest'} {objective} up to then")
            values = ok.loc[[reached[i][0].record.trial_id for i in keep], names]
            return _importance(values, [scores[i] for i in keep], basis, seed)
        return None
    basis = f"every completed trial, scored by {rank_by}"
    return _importance(ok[names], ok[rank_by].astype(float).tolist(), basis, seed)


def _importance(values: pd.DataFrame, scores: list[float], basis: str, seed: int) -> Importance | None:
    if len(scores) < MIN_TRIALS:
        return None
    table = main_effects(values.reset_index(drop=True), scores, seed)
    return None if table is None else Importance(table, len(scores), basis)
