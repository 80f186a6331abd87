"""Figures for searches over many trials, after the Deep Learning Tuning Playbook.

They work on any study's results table (`kerashp.report.tables.results_table`)
and trial records:

- `plot_hyperparameter_panels`: for each hyperparameter, the metric of every
  trial against its value, failed or diverged trials marked;
- `plot_isolation`: the best trial for each value of one hyperparameter;
- `top_trials`: the best k trials, for `plot_learning_curves`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from kerashp.report.figures import finish_figure, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from kerashp.storage.records import TrialRecord


def is_numeric(values: pd.Series) -> bool:
    present = values.dropna()
    return bool(len(present)) and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                                      for v in present)


def plot_hyperparameter_panels(
    table: pd.DataFrame,
    hyperparameters: Sequence[str],
    metric: str,
    title: str,
) -> Figure | None:
    """One panel per hyperparameter: `metric` of each trial against the hyperparameter's value.

    Numeric values go on a numeric axis (logarithmic where they span at least
    two decades); others are categories. Trials that failed or whose metric is
    missing (diverged) are drawn as red crosses on the bottom edge of the panel.
    """
    hyperparameters = [h for h in hyperparameters if h in table and table[h].notna().any()]
    if table.empty or not hyperparameters:
        return None
    ok = (table["status"] == "COMPLETED") & table[metric].notna()
    columns = min(3, len(hyperparameters))
    rows = math.ceil(len(hyperparameters) / columns)
    figure, axes_grid = new_figure(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    floor = table.loc[ok, metric].min() if ok.any() else 0.0
    for axes, name in zip(axes_grid.flat, hyperparameters):
        values = table[name]
        if is_numeric(values):
            x = values.astype(float)
            positive = x[x > 0]
            if len(positive) == len(x.dropna()) and len(positive) and positive.max() / positive.min() >= 100:
                axes.set_xscale("log")
        else:
            categories = sorted(values.dropna().astype(str).unique())
            x = values.astype(str).map({c: i for i, c in enumerate(categories)}).astype(float)
            axes.set_xticks(range(len(categories)), categories, rotation=30, fontsize="small")
        axes.scatter(x[ok], table.loc[ok, metric], s=18, alpha=0.75, label="completed")
        if (~ok).any():
            axes.scatter(x[~ok], np.full(int((~ok).sum()), floor), marker="x", color="red", s=30,
                         label="failed / diverged")
        axes.set_xlabel(name)
        axes.set_ylabel(metric)
        axes.grid(alpha=0.3)
    for axes in list(axes_grid.flat)[len(hyperparameters):]:
        axes.set_visible(False)
    axes_grid.flat[0].legend(fontsize="small")
    return finish_figure(figure, title)


def plot_isolation(
    table: pd.DataFrame,
    hyperparameter: str,
    metric: str,
    title: str,
    higher_is_better: bool = True,
) -> Figure | None:
    """The best completed trial's `metric` for each value of `hyperparameter` (a bar each),
    with the number of trials behind each bar."""
    ok = table[(table["status"] == "COMPLETED") & table[metric].notna()] if len(table) else table
    if ok.empty or hyperparameter not in ok:
        return None
    groups = ok.groupby(ok[hyperparameter].astype(str))[metric]
    best = groups.max() if higher_is_better else groups.min()
    counts = groups.count()
    figure, axes = new_figure(figsize=(6, 4))
    bars = axes.bar(best.index, best.values)
    for bar, count in zip(bars, counts[best.index]):
        axes.annotate(f"n={count}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                      ha="center", va="bottom", fontsize="small")
    axes.set_xlabel(hyperparameter)
    axes.set_ylabel(f"best {metric}")
    axes.set_title(title)
    low = float(best.min())
    axes.set_ylim(bottom=max(0.0, low - 0.1 * abs(low)) if higher_is_better else None)
    axes.grid(alpha=0.3, axis="y")
    return finish_figure(figure)


def top_trials(
    trials: Sequence[TrialRecord],
    table: pd.DataFrame,
    metric: str,
    k: int,
    higher_is_better: bool = True,
) -> list[TrialRecord]:
    """The `k` completed trials with the best `metric`, best first."""
    ok = table[(table["status"] == "COMPLETED") & table[metric].notna()]
    best_ids = ok.sort_values(metric, ascending=not higher_is_better)["trial"].head(k).tolist()
    by_id = {trial.trial_id: trial for trial in trials}
    return [by_id[trial_id] for trial_id in best_ids]
