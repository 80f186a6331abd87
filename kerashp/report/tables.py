"""Results tables (pandas) built from the trial records on disk."""

from __future__ import annotations

import math
import pathlib
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd

from kerashp.errors import last_line
from kerashp.names import DEFAULT_METRICS
from kerashp.storage import records

if TYPE_CHECKING:
    from kerashp.storage.records import TrialRecord

# (summary key, column title in results.md)
def results_table(
    trials: Sequence[TrialRecord],
    hyperparameters: Sequence[str],
    metrics: Sequence[tuple[str, str]] = DEFAULT_METRICS,
) -> pd.DataFrame:
    """One row per trial: its name, status, hyperparameters and metrics.

    A metric is the mean over the trial's finished runs (seeds); where there
    are two or more, `<metric>_std` holds their sample standard deviation.
    Unfinished or failed runs contribute nothing; the `status` and `message`
    columns say why a row is incomplete. `epochs` is the epochs the runs trained,
    or, where the study searches `epochs` itself, that hyperparameter (the trained
    epochs are then `epochs_run`).
    """
    rows: list[dict[str, Any]] = []
    for trial in trials:
        row: dict[str, Any] = {"trial": trial.trial_id, "name": trial.name, "status": trial.status}
        for name in hyperparameters:
            row[name] = trial.values.get(name)
        summaries = [e.summary for e in trial.executions if e.finished]
        row["runs"] = len(summaries)
        for key, _ in metrics:
            values = [float(s[key]) for s in summaries if s.get(key) is not None]
            row[key] = float(np.mean(values)) if values else math.nan
            if len(values) > 1:
                row[f"{key}_std"] = float(np.std(values, ddof=1))
        # The epochs the runs trained; where `epochs` is a hyperparameter (a trial's own length),
        # that stays in its column and the trained epochs (a rung's, in a pruned search) go beside it.
        row["epochs_run" if "epochs" in hyperparameters else "epochs"] = max(
            (s.get("epochs", 0) for s in summaries), default=0)
        row["message"] = last_line(trial.message) if trial.status != "COMPLETED" else ""
        rows.append(row)
    return pd.DataFrame(rows)


def _format_number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        magnitude = abs(value)
        if value.is_integer() and magnitude < 1e5:
            return str(int(value))
        if magnitude != 0 and (magnitude < 1e-3 or magnitude >= 1e5):
            return f"{value:.3g}" if magnitude < 1e-3 else f"{value:.4g}"  # 0.000297, not 3e-04
        if magnitude >= 100:
            return f"{value:.0f}"
        return f"{value:.4f}".rstrip("0").rstrip(".") if magnitude < 1 else f"{value:.3g}" if magnitude >= 10 else f"{value:.3f}"
    return str(value)


def value_format(values: Sequence[Any]):
    """One format for a column of hyperparameter values: `_format_number`'s where that
    tells every two different values apart, else as many significant digits as it takes
    (at least 3, at most 10): 0.000297 and 0.000284, not 3e-04 twice."""
    numbers = sorted({float(v) for v in values if isinstance(v, (float, np.floating)) and math.isfinite(float(v))})
    if len({_format_number(n) for n in numbers}) == len(numbers):
        return _format_number
    for digits in range(3, 11):
        if len({f"{n:.{digits}g}" for n in numbers}) == len(numbers):
            break

    def render(value: Any) -> str:
        if isinstance(value, (float, np.floating)) and math.isfinite(float(value)) and not float(value).is_integer():
            return f"{float(value):.{digits}g}"
        return _format_number(value)

    return render


def column_format(values: Sequence[Any]):
    """One format for a whole column of metric values, so that its numbers line up:
    whole numbers as such; otherwise a fixed number of decimals giving the column's
    smallest value (in magnitude) three significant digits, at most 4 (0 from 100 up;
    4 for a column of fractions such as accuracies).
    Returns a function of one value (NaN and None: empty)."""
    numbers = [float(v) for v in values if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
               and math.isfinite(float(v))]
    if numbers and all(n.is_integer() for n in numbers):
        decimals = 0
    else:
        nonzero = [abs(n) for n in numbers if n != 0]
        smallest = min(nonzero, default=1.0)
        if all(abs(n) <= 1 for n in numbers):  # accuracies and other fractions
            decimals = 4
        else:
            decimals = 0 if smallest >= 100 else min(4, max(1, 2 - math.floor(math.log10(smallest))))

    def render(value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
            return f"{float(value):.{decimals}f}"
        return str(value)

    return render


def markdown_table(
    table: pd.DataFrame,
    hyperparameters: Sequence[str],
    metrics: Sequence[tuple[str, str]] = DEFAULT_METRICS,
) -> str:
    """Renders `results_table` output as a Markdown table (mean ± std where repeated;
    hyperparameters as given, each metric column in one format, see `column_format`)."""
    headers = ["name", *hyperparameters, *(title for _, title in metrics)]
    show_status = (table["status"] != "COMPLETED").any() if len(table) else False
    if show_status:
        headers.append("status")
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    formats = {key: column_format(table[key]) if key in table else _format_number for key, _ in metrics}
    value_formats = {h: value_format(table[h].tolist()) if h in table else _format_number for h in hyperparameters}
    for _, row in table.iterrows():
        cells = [str(row["name"]), *(value_formats[h](row[h]) for h in hyperparameters)]
        for key, _ in metrics:
            cell = formats[key](row[key])
            std_key = f"{key}_std"
            if cell and std_key in row and not pd.isna(row[std_key]):
                cell += f" ± {formats[key](row[std_key])}"
            cells.append(cell)
        if show_status:
            status = str(row["status"]).lower()
            cells.append(f"{status}: {row['message']}" if row["message"] else status)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def results_markdown(
    table: pd.DataFrame,
    hyperparameters: Sequence[str],
    metrics: Sequence[tuple[str, str]] = DEFAULT_METRICS,
    header: str = "",
    top_k: int | None = None,
    rank_by: str | None = None,
    higher_is_better: bool = True,
    footer: str = "",
) -> str:
    """The text of results.md: `header`, the table and `footer`; with `top_k`, only
    the `top_k` trials with the best `rank_by` (completed ones first), under a line
    that counts the trials by status."""
    shown = table
    if top_k is not None and len(table):
        counts = table["status"].str.lower().value_counts()
        completed = table["status"] == "COMPLETED"
        shown_completed = min(top_k, int(completed.sum()))
        header += (
            f"{len(table)} trials ({', '.join(f'{n} {s}' for s, n in counts.items())}); "
            + (f"the {shown_completed} best by {rank_by} below" if shown_completed else "none finished")
            + (f", then {min(top_k, len(table)) - shown_completed} that did not finish and why"
               if min(top_k, len(table)) > shown_completed else "")
            + ", all of them in results.csv.\n\n"
        )
        shown = pd.concat([
            table[completed].sort_values(rank_by, ascending=not higher_is_better),
            table[~completed],
        ]).head(top_k)
    return header + markdown_table(shown, hyperparameters, metrics) + footer


def pick(table: pd.DataFrame, rank_by: str, higher_is_better: bool = True) -> pd.Series | None:
    """The search's pick: the completed trial with the best `rank_by` (the first of a tie, in
    the table's order), None when none completed. `Results.best` and the replay benchmark
    (`benchmarks/replay.py`) both choose by this rule."""
    if not len(table) or rank_by not in table:
        return None
    done = table[(table["status"] == "COMPLETED") & table[rank_by].notna()]
    if not len(done):
        return None
    return done.sort_values(rank_by, ascending=not higher_is_better, kind="stable").iloc[0]


def write_results(table: pd.DataFrame, out_dir: pathlib.Path, hyperparameters: Sequence[str],
                  metrics: Sequence[tuple[str, str]] = DEFAULT_METRICS, **markdown: Any) -> tuple[pathlib.Path, pathlib.Path]:
    """Writes `results.csv` (every trial, every column) and `results.md` (see
    `results_markdown`, which takes `markdown`'s keywords), each atomically."""
    csv_path = out_dir / "results.csv"
    md_path = out_dir / "results.md"
    records.write_csv_atomic(csv_path, table)
    records.write_text_atomic(md_path, results_markdown(table, hyperparameters, metrics, **markdown))
    return csv_path, md_path


def epochs_table(trials: Sequence[TrialRecord], hyperparameters: Sequence[str]) -> pd.DataFrame:
    """Every epoch of every run in one long table: trial, name, status, the
    hyperparameters, run (seed index), epoch and the logged metrics."""
    rows = []
    for trial in trials:
        for execution in trial.executions:
            history = execution.history_rows()
            if not history:
                continue
            logged = set(history[0])
            labels = {"trial": trial.trial_id, "name": trial.name, "status": trial.status}
            prefix = {(name if name not in logged else f"hp_{name}"): labels.get(name, trial.values.get(name))
                      for name in ["trial", "name", "status", *hyperparameters]}
            prefix["run"] = execution.index
            rows.extend({**prefix, **row} for row in history)
    return pd.DataFrame(rows) if rows else pd.DataFrame()