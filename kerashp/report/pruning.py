"""What a pruned search did: each trial's rung and why it stopped, the compute it
spent against the unpruned search, and every learning curve with the pruned faded.

Built from the records on disk (each trial's `rung.json` and histories), like
the other reports; see `kerashp.tuning.pruners` for the search itself.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
from typing import TYPE_CHECKING, Any, Sequence

import pandas as pd

from kerashp.report.figures import curves_by_epoch, finish_figure, new_figure, whole_epochs
from kerashp.storage import layout
from kerashp.storage.layout import read_rung_state

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from kerashp.storage.records import TrialRecord


@dataclasses.dataclass
class PrunedTrial:
    """One trial of a pruned search as found on disk."""

    record: TrialRecord
    bracket: int
    rungs: list[int]
    reached: int  # highest rung whose epochs every run has trained (-1: none)
    epochs_trained: int  # summed over runs
    state: dict[str, Any] | None

    @property
    def full_budget(self) -> bool:
        return self.reached == len(self.rungs) - 1


def _epochs_trained(record: TrialRecord) -> list[int]:
    return [len(execution.history) for execution in record.executions]


def pruned_trials(trials: Sequence[TrialRecord], project_dir: pathlib.Path) -> list[PrunedTrial]:
    """The trials with their rungs (from `rung.json`) and the rung each reached."""
    result = []
    for record in trials:
        state = read_rung_state(layout.trial_dir(project_dir, record.trial_id))
        rungs = list(state["rungs"]) if state else []
        finished = [e.summary.get("stage_epochs", e.summary.get("epochs", 0)) for e in record.executions if e.finished]
        trained = min(finished) if finished and len(finished) == len(record.executions) else 0
        reached = max((index for index, epochs in enumerate(rungs) if epochs <= trained), default=-1)
        result.append(PrunedTrial(record, state.get("bracket", 0) if state else 0, rungs, reached,
                                  sum(_epochs_trained(record)), state))
    return result


def score_at(trial: PrunedTrial, rung: int, objective: str, higher_is_better: bool) -> float:
    """Mean over runs of the best `objective` up to the rung's epochs (larger is better; -inf: none)."""
    if trial.reached < rung or trial.record.status == "FAILED":
        return -math.inf
    values = []
    for execution in trial.record.executions:
        history = execution.history
        if history.empty or objective not in history:
            return -math.inf
        upto = history[history["epoch"] <= trial.rungs[rung]][objective].astype(float)
        values.append(upto.max() if higher_is_better else -upto.min())
    value = float(sum(values) / len(values))
    return -math.inf if math.isnan(value) else value


def pruning_columns(trials: Sequence[PrunedTrial], objective: str, higher_is_better: bool, eta: int,
                    pruner: str) -> pd.DataFrame:
    """Per trial (column `trial`): bracket, rungs, the rung reached and its epochs,
    epochs trained (all runs) and why it stopped."""
    # A stopped trial's rank among its bracket's trials at the rung it reached: one ordering
    # per (bracket, rung), each trial scored once there (the live table is rebuilt after
    # trials, and a rank per trial over its peers grew with the square of the trials).
    orderings: dict[tuple[int, int], list[int]] = {}
    rows = []
    for trial in trials:
        rank = pool = None
        if 0 <= trial.reached < len(trial.rungs) - 1:
            key = (trial.bracket, trial.reached)
            if key not in orderings:
                peers = [other for other in trials if other.bracket == trial.bracket
                         and (other.reached >= trial.reached or other.record.status == "FAILED")]
                ordered = sorted(peers, key=lambda other: (-score_at(other, trial.reached, objective,
                                                                     higher_is_better), int(other.record.trial_id)))
                orderings[key] = [id(other) for other in ordered]
            ordered_ids = orderings[key]
            pool, rank = len(ordered_ids), ordered_ids.index(id(trial)) + 1
        rows.append({
            "trial": trial.record.trial_id,
            "bracket": trial.bracket,
            "rungs": "/".join(map(str, trial.rungs)),
            "rung_reached": trial.reached,
            "rung_epochs": trial.rungs[trial.reached] if trial.reached >= 0 else 0,
            "epochs_trained": trial.epochs_trained,
            "stopped": stop_reason(trial.state, trial.record.status, trial.reached, eta, rank, pool, pruner),
        })
    return pd.DataFrame(rows)


def compute_spent(trials: Sequence[PrunedTrial]) -> tuple[int, int]:
    """(epochs trained, epochs the same trials would train unpruned), over all runs.
    A failed (diverged) trial counts what it trained in both."""
    spent = sum(trial.epochs_trained for trial in trials)
    full = sum(trial.epochs_trained if trial.record.status == "FAILED" or not trial.rungs
               else trial.rungs[-1] * max(len(trial.record.executions), 1) for trial in trials)
    return spent, full


def pruning_markdown(trials: Sequence[PrunedTrial], pruner: str, min_epochs: int, eta: int) -> str:
    """The results.md section: rungs, trials per rung, compute spent against the unpruned search."""
    if not trials:
        return ""
    spent, full = compute_spent(trials)
    lines = ["", f"## Pruning ({pruner}, first rung {min_epochs} epoch(s), eta {eta})", ""]
    brackets = sorted({trial.bracket for trial in trials})
    for bracket in brackets:
        members = [trial for trial in trials if trial.bracket == bracket]
        label = f"bracket {bracket}: " if len(brackets) > 1 else ""
        rungs = sorted({epochs for trial in members for epochs in trial.rungs[:-1]})
        reached = [f"{sum(1 for t in members if epochs in t.rungs[:t.reached + 1])} reached {epochs} epoch(s)"
                   for epochs in rungs]
        lengths = sorted({trial.rungs[-1] for trial in members if trial.rungs})
        finished = sum(trial.full_budget for trial in members)
        lines.append(f"- {label}{len(members)} trial(s); " + ", ".join(reached)
                     + (", " if reached else "")
                     + f"{finished} trained their full length ({' or '.join(map(str, lengths))} epochs)")
    lines += [
        "- the others stopped at a rung: results.csv says where (`rung_reached`, `rung_epochs`) and why (`stopped`)",
        f"- compute: {spent} epochs trained, against {full} for the same trials unpruned "
        f"({spent / full:.1%})" if full else f"- compute: {spent} epochs trained",
        "- a trial's table values are at the rung it reached: compare trials by `rung_reached` first",
        "",
    ]
    return "\n".join(lines)


def plot_pruned_curves(trials: Sequence[PrunedTrial], metric: str, title: str,
                       highlight: int = 5, higher_is_better: bool = True) -> Figure | None:
    """Every trial's `metric` against the epoch: pruned trials faded grey, full-length
    ones in colour (the `highlight` best labelled), the rungs as dotted lines."""
    figure, axes = new_figure(figsize=(8, 5))
    drawn = 0
    full = []
    for trial in trials:
        curve = curves_by_epoch(trial.record, metric)
        if curve.empty:
            continue
        drawn += 1
        if trial.full_budget:
            full.append((trial, curve))
        else:
            axes.plot(curve.index, curve["mean"], color="0.6", alpha=0.35, linewidth=0.8, marker="o", markersize=2)
    if drawn == 0:
        return None
    best = lambda item: item[1]["mean"].max() if higher_is_better else -item[1]["mean"].min()  # noqa: E731
    full.sort(key=best, reverse=True)
    for position, (trial, curve) in enumerate(full):
        axes.plot(curve.index, curve["mean"], linewidth=1.6 if position < highlight else 0.9,
                  label=trial.record.name if position < highlight else None)
    for epochs in sorted({epochs for trial in trials for epochs in trial.rungs[:-1]}):
        axes.axvline(epochs, color="0.3", linestyle=":", linewidth=0.8)
    axes.plot([], [], color="0.6", alpha=0.6, label=f"pruned ({drawn - len(full)})")
    band = _race_band(trials, full)
    axes.set_xlabel("epoch")
    if band is not None:
        axes.set_ylim(*band)
        axes.set_xlabel("epoch\n(y axis: the band of the full-length trials after the last rung; lower curves are cut)",
                        fontsize="small")
    whole_epochs(axes)
    axes.set_ylabel(metric)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    return finish_figure(figure)


def _race_band(trials: Sequence[PrunedTrial], full: list) -> tuple[float, float] | None:
    """The y range where the race is decided: from the worst to the best value the
    full-length trials reach from the last rung before their full length on, padded (a
    search of accuracies between 0.1 and 0.9 whose full-length trials end between 0.85 and
    0.91 is drawn around the latter); None where there are no full-length trials or no rungs."""
    last_rung = max((trial.rungs[-2] for trial in trials if len(trial.rungs) > 1), default=None)
    if last_rung is None or not full:
        return None
    values = pd.concat([curve["mean"][curve.index >= last_rung] for _, curve in full]).dropna()
    if values.empty:
        return None
    low, high = float(values.min()), float(values.max())
    pad = max(0.15 * (high - low), 1e-3)
    return low - pad, high + pad


def stop_reason(state: dict[str, Any] | None, status: str, reached: int, eta: int,
                rank: int | None, pool: int | None, pruner: str) -> str:
    """Why a trial of a pruned search stands where it does, in words."""
    if status == "FAILED":
        return "failed"
    if status != "COMPLETED":
        return "running"
    if state is None:
        return "full budget"
    rungs = state["rungs"]
    if reached >= len(rungs) - 1:
        return f"full budget ({rungs[-1]} epochs)"
    if state.get("stopped"):
        return f"pruned at rung {reached} ({rungs[reached]} epochs): {state['stopped']}"
    if pruner == "median":
        return f"stopped at rung {reached} ({rungs[reached]} epochs): search ended before its decision"
    return (f"pruned at rung {reached} ({rungs[reached]} epochs): rank {rank} of {pool}, "
            f"promotion needs the top {pool // eta}")
