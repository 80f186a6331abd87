"""Learning-curve figures (matplotlib) built from the trial records on disk."""

from __future__ import annotations

import pathlib
from typing import TYPE_CHECKING, Any, Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
import numpy as np
import pandas as pd
from scipy import stats

if TYPE_CHECKING:  # records imports the tuning package, which imports this one
    from kerashp.report.uncertainty import MetricComparison
    from kerashp.storage.records import TrialRecord


GRADIENT_NORMS_FILE = "gradient_norms.csv"  # written by callbacks.GradientNorm in a run's directory


def curves_by_epoch(trial: TrialRecord, metric: str) -> pd.DataFrame:
    """`metric` per epoch over a trial's runs: columns mean, std, runs and
    ci_half, the half-width of the 95% t interval of the mean (NaN for one run)."""
    series = [
        e.history.set_index("epoch")[metric].astype(float)
        for e in trial.executions
        if not e.history.empty and metric in e.history
    ]
    if not series:
        return pd.DataFrame(columns=["mean", "std", "runs", "ci_half"])
    stacked = pd.concat(series, axis=1)
    runs = stacked.count(axis=1)
    std = stacked.std(axis=1)
    t_quantile = pd.Series(stats.t.ppf(0.975, (runs - 1).clip(lower=1)), index=runs.index).where(runs > 1)
    return pd.DataFrame({"mean": stacked.mean(axis=1), "std": std, "runs": runs,
                         "ci_half": t_quantile * std / np.sqrt(runs)})


class ReportFigure(Figure):
    """A `matplotlib.figure.Figure` that a notebook shows inline as a picture, with or
    without `%matplotlib inline` (IPython displays an object's `_repr_png_`)."""

    def _repr_png_(self) -> bytes:
        import io

        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()


def new_figure(rows: int = 1, columns: int = 1, *, figsize: tuple[float, float] = (7, 4.5), **subplots: Any):
    """A `matplotlib.figure.Figure` and its axes, made without pyplot: no global
    backend is chosen or changed, and nothing is kept open (a notebook shows the
    returned figure inline, `ReportFigure`; `save_figure` writes it)."""
    figure = ReportFigure(figsize=figsize, dpi=110)
    return figure, figure.subplots(rows, columns, **subplots)


def finish_figure(figure: Figure, title: str | None = None) -> Figure:
    """Puts `title` over all the figure's panels and lays them out."""
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def save_figure(figure: Figure, path: str | pathlib.Path) -> pathlib.Path:
    """Writes a figure (PNG, or the format `path`'s suffix names) and returns its path."""
    import io

    from kerashp.storage import records

    path = pathlib.Path(path)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=path.suffix.lstrip(".") or "png")
    records.write_text_atomic(path, buffer.getvalue())  # a reader never sees half a figure
    return path


def whole_epochs(axes) -> None:
    """Epoch axes show whole numbers only."""
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))


# Lines of trials that end up on top of each other (equal runs, chance-level runs) stay
# visible: each trial has its own marker, drawn hollow, later lines are thinner, and the points
# are dodged a little along the epoch axis (`draw_trials`).
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")


def draw_trials(axes, trials: Sequence[TrialRecord], metric: str, markers: bool = False) -> int:
    """Draws `metric` per epoch, one line per trial (mean over its runs, a band of the
    95% confidence interval of the mean where it has several; failed trials dashed).
    Returns the number of lines drawn."""
    drawn = 0
    banded = 0
    curves = [(trial, curves_by_epoch(trial, metric)) for trial in trials]
    curves = [(trial, curve) for trial, curve in curves if not curve.empty]
    # Equal values stay visible side by side: each trial's points are shifted a little along
    # the epoch axis ("dodged"), by at most 0.1 epoch in all.
    step = min(0.03, 0.1 / max(len(curves) - 1, 1)) if 1 < len(curves) <= len(MARKERS) else 0.0
    for position, (trial, curve) in enumerate(curves):
        curve = curve.set_axis(curve.index + (position - (len(curves) - 1) / 2) * step)
        style = "-" if trial.status in ("COMPLETED", "RUNNING") else "--"
        label = trial.name if trial.status in ("COMPLETED", "RUNNING") else f"{trial.name} ({trial.status.lower()})"
        marker = MARKERS[drawn % len(MARKERS)] if markers or len(curve) <= 30 else None
        line, = axes.plot(curve.index, curve["mean"], style, marker=marker, markersize=7 - 3 * min(drawn, 6) / 6,
                          markerfacecolor="none", linewidth=max(2.2 - 0.3 * drawn, 0.9), label=label)
        if (curve["runs"] > 1).any():
            low, high = curve["mean"] - curve["ci_half"], curve["mean"] + curve["ci_half"]
            if "accuracy" in metric:  # an interval of an accuracy stays within [0, 1]
                low, high = low.clip(lower=0.0), high.clip(upper=1.0)
            axes.fill_between(curve.index, low, high, color=line.get_color(), alpha=0.15, linewidth=0)
            for edge in (low, high):  # overlapping bands stay apart: each edged in its line's colour
                axes.plot(curve.index, edge, color=line.get_color(), linewidth=0.6, alpha=0.6)
            banded = max(banded, int(curve["runs"].max()))
        drawn += 1
    axes.set_xlabel("epoch")
    whole_epochs(axes)
    axes.grid(alpha=0.3)
    if banded:
        from matplotlib.patches import Patch

        handles, labels = axes.get_legend_handles_labels()
        handles.append(Patch(facecolor="0.5", alpha=0.3, edgecolor="0.4", linewidth=0.6))
        labels.append(f"band: 95% CI of the mean over {banded} seeds")
        axes.legend(handles, labels, fontsize="small")
    elif drawn:
        axes.legend(fontsize="small")
    return drawn


def plot_learning_curves(
    trials: Sequence[TrialRecord],
    metric: str,
    title: str,
) -> Figure | None:
    """One line per trial of `metric` against the epoch; a 95% CI band over seeds.

    Failed trials are drawn dashed. Returns None when no
    trial has recorded the metric.
    """
    figure, axes = new_figure(figsize=(7, 4.5))
    if not draw_trials(axes, trials, metric, markers=True):
        return None
    axes.set_ylabel(metric)
    axes.set_title(title)
    return finish_figure(figure)


def plot_learning_curve_grid(
    trials: Sequence[TrialRecord],
    panels: Sequence[tuple[str, str]],
    title: str,
) -> Figure | None:
    """A 2x2 figure, one panel per (metric, title) of `panels`, one line per trial."""
    figure, axes_grid = new_figure(2, 2, figsize=(11, 8))
    drawn = 0
    for axes, (metric, panel_title) in zip(axes_grid.flat, panels):
        drawn += draw_trials(axes, trials, metric)
        axes.set_title(panel_title)
    if drawn == 0:
        return None
    return finish_figure(figure, title)


def plot_gradient_norms(
    trials: Sequence[TrialRecord],
    title: str,
    max_epoch: int | None = None,
) -> Figure | None:
    """Gradient norms logged by `callbacks.GradientNorm` against the training step.

    With one variable per run: one axes, a line per trial (and seed run). With
    several (e.g. every layer's kernel): a panel per trial, a line per variable.
    `max_epoch` keeps only the first epochs. Logarithmic y axis.
    """
    runs = []
    for trial in trials:
        for execution in trial.executions:
            csv_path = execution.directory / GRADIENT_NORMS_FILE
            if not csv_path.exists():
                continue
            norms = pd.read_csv(csv_path).drop_duplicates(["step", "variable"], keep="last")
            if max_epoch is not None:
                norms = norms[norms["epoch"] <= max_epoch]
            label = trial.name if len(trial.executions) == 1 else f"{trial.name} (seed run {execution.index})"
            runs.append((label, norms))
    if not runs:
        return None
    single = all(norms["variable"].nunique() == 1 for _, norms in runs)
    if single:
        figure, axes = new_figure(figsize=(7, 4.5))
        for label, norms in runs:
            axes.plot(norms["step"], norms["norm"], label=label)
        axes.set_ylabel(f"||grad||_2 of {runs[0][1]['variable'].iloc[0]}")
        panels = [axes]
    else:
        columns = min(3, len(runs))
        rows = -(-len(runs) // columns)
        figure, grid = new_figure(rows, columns, figsize=(5 * columns, 3.8 * rows), squeeze=False, sharey=True)
        panels = list(grid.flat)
        for axes, (label, norms) in zip(panels, runs):
            for variable, group in norms.groupby("variable", sort=False):
                axes.plot(group["step"], group["norm"], label=variable)
            axes.set_title(label)
            axes.set_ylabel("||grad||_2")
        for axes in panels[len(runs):]:
            axes.set_visible(False)
        panels = panels[:len(runs)]
    for axes in panels:
        axes.set_yscale("log")
        axes.set_xlabel("training step")
        axes.grid(alpha=0.3)
        axes.legend(fontsize="x-small")
    return finish_figure(figure, title)


def plot_seed_values(comparisons: Sequence[MetricComparison], title: str) -> Figure | None:
    """One panel per compared metric: each configuration's value per seed (dots,
    joined across configurations by seed), its mean (bar) and the 95% t interval
    of the mean (whisker)."""
    comparisons = [c for c in comparisons if not c.per_seed.empty]
    if not comparisons:
        return None
    width = max(6.0, 1.2 * len(comparisons[0].summary) + 2.5)
    figure, panels = new_figure(len(comparisons), 1, figsize=(width, 4.2 * len(comparisons)), squeeze=False)
    for axes, comparison in zip(panels.flat, comparisons):
        names = list(comparison.summary["name"])
        for run, runs in comparison.per_seed.groupby("run"):  # the same seed across configurations
            positions = [names.index(name) for name in runs["name"]]
            axes.plot(positions, runs["value"], color="gray", alpha=0.35, linewidth=0.8, zorder=2,
                      label="same seed" if run == comparison.per_seed["run"].min() else None)
        for position, (_, row) in enumerate(comparison.summary.iterrows()):
            seeds = comparison.per_seed[comparison.per_seed["name"] == row["name"]]["value"]
            axes.scatter([position] * len(seeds), seeds, s=22, color="tab:blue", alpha=0.7, zorder=3,
                         label="one seed" if position == 0 else None)
            axes.hlines(row["mean"], position - 0.25, position + 0.25, color="black", zorder=4,
                        label="mean" if position == 0 else None)
            if np.isfinite(row["ci_low"]):
                axes.errorbar(position, row["mean"], yerr=[[row["mean"] - row["ci_low"]], [row["ci_high"] - row["mean"]]],
                              color="black", capsize=5, zorder=4, label="95% CI" if position == 0 else None)
        axes.set_xticks(range(len(names)), names, rotation=20, ha="right")
        axes.set_ylabel(comparison.metric)
        axes.set_title(f"{comparison.metric} per seed")
        axes.grid(alpha=0.3, axis="y")
        axes.legend(fontsize="small")
    return finish_figure(figure, title)
