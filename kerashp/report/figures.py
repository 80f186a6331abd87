"""Learning-curve figures (matplotlib) built from the trial records on disk."""

from __future__ import annotations

import pathlib
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from kerashp.tuning.records import TrialRecord  # noqa: E402


def curves_by_epoch(trial: TrialRecord, metric: str) -> pd.DataFrame:
    """Mean and std of `metric` per epoch over a trial's runs (columns mean, std, runs)."""
    series = [
        e.history.set_index("epoch")[metric].astype(float)
        for e in trial.executions
        if not e.history.empty and metric in e.history
    ]
    if not series:
        return pd.DataFrame(columns=["mean", "std", "runs"])
    stacked = pd.concat(series, axis=1)
    return pd.DataFrame({"mean": stacked.mean(axis=1), "std": stacked.std(axis=1), "runs": stacked.count(axis=1)})


def plot_learning_curves(
    trials: Sequence[TrialRecord],
    metric: str,
    path: pathlib.Path,
    title: str,
) -> pathlib.Path | None:
    """One line per trial of `metric` against the epoch; a band of ±1 std over seeds.

    Failed trials are drawn dashed. Returns None (and writes nothing) when no
    trial has recorded the metric.
    """
    figure, axes = plt.subplots(figsize=(7, 4.5))
    plotted = 0
    for trial in trials:
        curve = curves_by_epoch(trial, metric)
        if curve.empty:
            continue
        style = "-" if trial.status in ("COMPLETED", "RUNNING") else "--"
        label = trial.name if trial.status == "COMPLETED" else f"{trial.name} ({trial.status.lower()})"
        line, = axes.plot(curve.index, curve["mean"], style, marker="o", markersize=3, label=label)
        if (curve["runs"] > 1).any():
            axes.fill_between(
                curve.index, curve["mean"] - curve["std"], curve["mean"] + curve["std"],
                color=line.get_color(), alpha=0.2,
            )
        plotted += 1
    if not plotted:
        plt.close(figure)
        return None
    axes.set_xlabel("epoch")
    axes.set_ylabel(metric)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def plot_learning_curve_grid(
    trials: Sequence[TrialRecord],
    panels: Sequence[tuple[str, str]],
    path: pathlib.Path,
    title: str,
) -> pathlib.Path | None:
    """A 2x2 figure, one panel per (metric, title) of `panels`, one line per trial."""
    figure, axes_grid = plt.subplots(2, 2, figsize=(11, 8))
    plotted = 0
    for axes, (metric, panel_title) in zip(axes_grid.flat, panels):
        for trial in trials:
            curve = curves_by_epoch(trial, metric)
            if curve.empty:
                continue
            style = "-" if trial.status in ("COMPLETED", "RUNNING") else "--"
            line, = axes.plot(curve.index, curve["mean"], style, label=trial.name)
            if (curve["runs"] > 1).any():
                axes.fill_between(curve.index, curve["mean"] - curve["std"], curve["mean"] + curve["std"],
                                  color=line.get_color(), alpha=0.2)
            plotted += 1
        axes.set_title(panel_title)
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend(fontsize="small")
    if not plotted:
        plt.close(figure)
        return None
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
