"""Figures for searches over many trials, after the Deep Learning Tuning Playbook.

They work on any study's results table (`kerashp.report.tables.results_table`)
and trial records:

- `plot_hyperparameter_panels` (Optuna's slice plot): for each hyperparameter, the metric
  of every trial against its value, trials stopped at a rung marked apart from those
  trained their full length, failed or diverged trials marked;
- `plot_isolation`: the best trial for each value of one hyperparameter;
- `plot_parallel_coordinates`: every full-length trial as a line across one axis per
  hyperparameter and the metric, coloured by the metric;
- `plot_history` (optimisation history): each trial's metric in the order the trials
  began, and the best so far;
- `plot_importance`: the hyperparameters' importance (`kerashp.report.importance`);
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


def failed_trials(table: pd.DataFrame, metric: str) -> pd.Series:
    """Trials that failed, or completed without `metric` (diverged); not those still running."""
    return table["status"].isin(["FAILED", "INVALID"]) | ((table["status"] == "COMPLETED") & table[metric].isna())


def full_length(table: pd.DataFrame) -> pd.Series:
    """Which trials trained their full length: all of them, unless a pruned search
    stopped some at a rung (`rung_reached` below the last of `rungs`)."""
    if "rung_reached" not in table or "rungs" not in table:
        return pd.Series(True, index=table.index)
    last = table["rungs"].astype(str).map(lambda rungs: len(rungs.split("/")) - 1)
    return table["rung_reached"].isna() | (table["rung_reached"] >= last)


def rung_groups(table: pd.DataFrame, ok: pd.Series) -> list[tuple[str, pd.Series]]:
    """(label, mask) of the completed trials: those trained their full length, then those
    stopped at each rung (whose figures are at that rung: not comparable with the others)."""
    full = full_length(table)
    groups = [("full length" if not full.all() else "completed", ok & full)]
    if not full.all():
        for rung, epochs in (table.loc[ok & ~full, ["rung_reached", "rung_epochs"]].drop_duplicates()
                             .sort_values("rung_reached", ascending=False).itertuples(index=False)):
            groups.append((f"stopped at rung {int(rung)} ({int(epochs)} epochs)",
                           ok & ~full & (table["rung_reached"] == rung)))
    return [(label, mask) for label, mask in groups if mask.any()]


def axis_values(axes, values: pd.Series, axis: str = "x") -> pd.Series:
    """A hyperparameter's values as positions on `axes` (numeric: as they are, on a log scale
    where they span two decades; others: categories, labelled)."""
    if is_numeric(values):
        x = values.astype(float)
        positive = x[x > 0]
        if len(positive) == len(x.dropna()) and len(positive) and positive.max() / positive.min() >= 100:
            (axes.set_xscale if axis == "x" else axes.set_yscale)("log")
        return x
    categories = sorted(values.dropna().astype(str).unique())
    if axis == "x":
        axes.set_xticks(range(len(categories)), categories, rotation=30, fontsize="small")
    else:
        axes.set_yticks(range(len(categories)), categories, fontsize="small")
    return values.astype(str).map({c: i for i, c in enumerate(categories)}).astype(float)


def plot_hyperparameter_panels(
    table: pd.DataFrame,
    hyperparameters: Sequence[str],
    metric: str,
    title: str,
) -> Figure | None:
    """One panel per hyperparameter (Optuna's slice plot): `metric` of each trial against
    the hyperparameter's value.

    Numeric values go on a numeric axis (logarithmic where they span at least
    two decades); others are categories. In a pruned search, the trials stopped at a
    rung (scored at that rung) are drawn apart from those trained their full length, one
    marker per rung. Trials that failed or whose metric is missing (diverged) are drawn as
    red crosses on the bottom edge of the panel.
    """
    hyperparameters = [h for h in hyperparameters if h in table and table[h].notna().any()]
    if table.empty or not hyperparameters:
        return None
    ok = (table["status"] == "COMPLETED") & table[metric].notna()
    columns = min(3, len(hyperparameters))
    rows = math.ceil(len(hyperparameters) / columns)
    figure, axes_grid = new_figure(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    floor = table.loc[ok, metric].min() if ok.any() else 0.0
    groups = rung_groups(table, ok)
    for axes, name in zip(axes_grid.flat, hyperparameters):
        x = axis_values(axes, table[name])
        for position, (label, mask) in enumerate(groups):
            faded = position > 0
            axes.scatter(x[mask], table.loc[mask, metric], s=12 if faded else 18, alpha=0.35 if faded else 0.8,
                         marker="os^vD<>"[position % 7], color=None if not faded else f"C{position}",
                         label=label, zorder=3 - faded)
        failed = failed_trials(table, metric)
        if failed.any():
            axes.scatter(x[failed], np.full(int(failed.sum()), floor), marker="x", color="red", s=30,
                         label="failed / diverged")
        axes.set_xlabel(name)
        axes.set_ylabel(metric)
        axes.grid(alpha=0.3)
    for axes in list(axes_grid.flat)[len(hyperparameters):]:
        axes.set_visible(False)
    axes_grid.flat[0].legend(fontsize="small")
    return finish_figure(figure, title)


def plot_parallel_coordinates(
    table: pd.DataFrame,
    hyperparameters: Sequence[str],
    metric: str,
    title: str,
    higher_is_better: bool = True,
) -> Figure | None:
    """Every completed full-length trial as a line across one vertical axis per
    hyperparameter and a last one for `metric`, coloured by `metric` (the best drawn on
    top). Each axis spans its own values (logarithmic where they span two decades;
    categories evenly spaced), labelled at its ends or at each category."""
    names = [h for h in hyperparameters if h in table and table[h].astype(str).nunique() > 1]
    ok = (table["status"] == "COMPLETED") & table[metric].notna() & full_length(table) if len(table) else None
    if not names or ok is None or ok.sum() < 2:
        return None
    rows = table[ok].sort_values(metric, ascending=higher_is_better)  # the best drawn last, on top
    columns, labels = [], []
    for name in [*names, metric]:
        values = rows[name]
        if is_numeric(values) or name == metric:
            x = values.astype(float)
            logarithmic = bool((x > 0).all() and x.max() / x.min() >= 100)
            position = np.log10(x) if logarithmic else x
            low, high = float(position.min()), float(position.max())
            scaled = (position - low) / (high - low) if high > low else position * 0 + 0.5
            ticks = [(0.0, _short(float(x.min()))), (1.0, _short(float(x.max())))] if high > low else [(0.5, _short(float(x.iloc[0])))]
        else:
            categories = sorted(values.astype(str).unique())
            spacing = {c: (i / (len(categories) - 1) if len(categories) > 1 else 0.5) for i, c in enumerate(categories)}
            # lines through one category spread a little around it, so that their number shows
            jitter = (np.arange(len(values)) % 9 - 4) * (0.012 if len(categories) > 1 else 0.03)
            scaled = values.astype(str).map(spacing).astype(float) + jitter
            ticks = [(spacing[c], c) for c in categories]
        columns.append(scaled.to_numpy())
        labels.append(ticks)
    figure, axes = new_figure(figsize=(max(6.0, 1.6 * len(columns) + 2), 4.8))
    from matplotlib import colormaps
    from matplotlib.colors import Normalize
    from matplotlib.cm import ScalarMappable

    scores = rows[metric].astype(float).to_numpy()
    norm = Normalize(scores.min(), scores.max())
    colours = colormaps["viridis" if higher_is_better else "viridis_r"]
    positions = np.arange(len(columns))
    data = np.column_stack(columns)
    for line, score in zip(data, scores):
        axes.plot(positions, line, color=colours(norm(score)), alpha=0.7, linewidth=1.1)
    for position, ticks in zip(positions, labels):
        axes.axvline(position, color="0.2", linewidth=0.8)
        for where, text in ticks:
            axes.annotate(text, (position, where), xytext=(3, 0), textcoords="offset points", fontsize="x-small",
                          va="center", ha="left", backgroundcolor=(1, 1, 1, 0.6))
    axes.set_xticks(positions, [*names, metric], rotation=20, ha="right")
    axes.set_yticks([])
    axes.set_xlim(-0.2, len(columns) - 0.6)
    axes.set_ylim(-0.05, 1.05)
    figure.colorbar(ScalarMappable(norm=norm, cmap=colours), ax=axes, label=metric, pad=0.02)
    axes.set_title(title)
    return finish_figure(figure)


def plot_history(
    table: pd.DataFrame,
    metric: str,
    title: str,
    higher_is_better: bool = True,
) -> Figure | None:
    """Optimisation history: each completed trial's `metric` in the order the trials began,
    and the best so far (of the full-length trials); trials stopped at a rung faded, failed
    ones as red crosses on the bottom edge."""
    if table.empty or metric not in table:
        return None
    order = table["trial"].map(lambda trial: int(trial) if str(trial).isdigit() else np.nan)
    table = table.assign(_order=order).sort_values("_order", kind="stable").reset_index(drop=True)
    ok = (table["status"] == "COMPLETED") & table[metric].notna()
    if not ok.any():
        return None
    full = full_length(table)
    figure, axes = new_figure(figsize=(7.5, 4.5))
    x = np.arange(1, len(table) + 1)
    for position, (label, mask) in enumerate(rung_groups(table, ok)):
        faded = position > 0
        axes.scatter(x[mask], table.loc[mask, metric], s=10 if faded else 18, alpha=0.35 if faded else 0.85,
                     color="0.55" if faded else "C0", marker="o" if not faded else "os^vD<>"[position % 7],
                     label=label, zorder=3 - faded)
    scored = table[metric].where(ok & full)
    best = (scored.cummax() if higher_is_better else scored.cummin()).ffill()  # NaN where a trial did not count
    axes.step(x, best, where="post", color="C3", linewidth=1.6, label="best so far")
    failed = failed_trials(table, metric)
    if failed.any():
        floor = table.loc[ok, metric].min()
        axes.scatter(x[failed], np.full(int(failed.sum()), floor), marker="x", color="red", s=30,
                     label="failed / diverged")
    axes.set_xlabel("trial (in the order begun)")
    axes.set_ylabel(metric)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    axes.set_title(title)
    return finish_figure(figure)


def plot_importance(table: pd.DataFrame, title: str) -> Figure | None:
    """The hyperparameters' importance (`kerashp.report.importance.Importance.table`), most
    important on top, each bar labelled with its share of the objective's variance."""
    if table is None or table.empty:
        return None
    figure, axes = new_figure(figsize=(6.5, 1.2 + 0.45 * len(table)))
    rows = table.iloc[::-1]
    bars = axes.barh(rows["hyperparameter"], rows["importance"], color="C0")
    for bar, share in zip(bars, rows["variance_share"]):
        axes.annotate(f"{bar.get_width():.2f} (variance {share:.2f})", (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                      xytext=(3, 0), textcoords="offset points", va="center", fontsize="small")
    axes.set_xlim(0, min(1.0, float(rows["importance"].max()) * 1.45 + 0.05))
    axes.set_xlabel("importance (share of the main effects)")
    axes.grid(alpha=0.3, axis="x")
    axes.set_title(title)
    return finish_figure(figure)


def _short(value: float) -> str:
    return f"{value:.3g}"

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
