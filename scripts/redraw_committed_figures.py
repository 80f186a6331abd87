"""Redraws committed figures from the committed tables (results.csv and epochs.csv) with the
current figure code, for artifacts whose study directories (the runs' files) were not kept.

Nothing is retrained and no number changes: each figure is drawn from the values the
committed tables hold, through the same functions `kerashp report` uses
(`kerashp.report.figures`, `kerashp.report.search_figures`, `kerashp.report.pruning`,
`kerashp.report.importance`).

    python scripts/redraw_committed_figures.py            # every artifact listed in REDRAWN
    python scripts/redraw_committed_figures.py fashion_grid/asha
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kerashp.report.figures import plot_learning_curves, save_figure  # noqa: E402
from kerashp.report.importance import search_importance  # noqa: E402
from kerashp.report.pruning import PrunedTrial, plot_pruned_curves  # noqa: E402
from kerashp.report.search_figures import (plot_history, plot_hyperparameter_panels, plot_importance,  # noqa: E402
                                           plot_parallel_coordinates)
from kerashp.storage.records import ExecutionRecord, TrialRecord  # noqa: E402

# artifact -> (study's title, hyperparameters, kind): "search" (a pruned search's figures) or
# "seeds" (named configurations over several seeds: their learning curves with the seeds' bands)
REDRAWN = {
    "fashion_grid/asha": ("fashion_grid", ("hidden", "init", "batch_norm", "dropout_1", "dropout_2", "optimizer",
                                           "learning_rate", "momentum", "epochs"), "search"),
    "adam_betas_seeds": ("adam_betas", ("beta_1", "beta_2", "epsilon"), "seeds"),
}
CURVES = (("val_accuracy", "Validation accuracy"), ("loss", "Training loss"), ("val_loss", "Validation loss"))


def trial_records(table: pd.DataFrame, epochs: pd.DataFrame, hyperparameters: tuple[str, ...]) -> list[TrialRecord]:
    """The trials as `TrialRecord`s whose runs' histories are the committed epochs.csv rows."""
    metrics = [c for c in epochs.columns if c not in {"trial", "name", "status", "run", *hyperparameters}]
    records = []
    for row in table.itertuples(index=False):
        rows = epochs[epochs["trial"] == row.trial]
        runs = [ExecutionRecord(int(run), None, history=frame[metrics].reset_index(drop=True), summary={})
                for run, frame in rows.groupby("run")]
        values = {name: getattr(row, name) for name in hyperparameters if name in table}
        if not str(row.name).startswith("trial "):
            values["config"] = row.name
        records.append(TrialRecord(str(row.trial), row.status, values, None, runs))
    return records


def pruned_trials(records: list[TrialRecord], table: pd.DataFrame) -> list[PrunedTrial]:
    """The pruned search's trials, with their rungs and the rung reached from results.csv."""
    by_id = table.set_index("trial")
    return [PrunedTrial(record, int(by_id.loc[record.trial_id, "bracket"]),
                        [int(epochs) for epochs in str(by_id.loc[record.trial_id, "rungs"]).split("/")],
                        int(by_id.loc[record.trial_id, "rung_reached"]),
                        int(by_id.loc[record.trial_id, "epochs_trained"]), None) for record in records]


def redraw(name: str) -> list[pathlib.Path]:
    title, hyperparameters, kind = REDRAWN[name]
    directory = ROOT / "artifacts" / name
    table = pd.read_csv(directory / "results.csv", dtype={"trial": str})
    epochs = pd.read_csv(directory / "epochs.csv", dtype={"trial": str})
    records = trial_records(table, epochs, hyperparameters)
    figures = {}
    if kind == "search":
        pruned = pruned_trials(records, table)
        names = [h for h in hyperparameters if h in table]
        figures["hyperparameters.png"] = plot_hyperparameter_panels(table, names, "best_val_accuracy",
                                                                    f"{title}: best_val_accuracy of every trial")
        figures["pruned_curves.png"] = plot_pruned_curves(pruned, "val_accuracy",
                                                          f"{title}: val_accuracy of every trial (pruned faded)")
        figures["history.png"] = plot_history(table, "best_val_accuracy", f"{title}: best_val_accuracy by trial")
        figures["parallel_coordinates.png"] = plot_parallel_coordinates(
            table, names, "best_val_accuracy", f"{title}: the full-length trials")
        importance = search_importance(table, names, "best_val_accuracy", "val_accuracy", True, pruned)
        if importance is not None:
            figures["importance.png"] = plot_importance(
                importance.table, f"{title}: hyperparameter importance ({importance.trials} trials)")
            print(importance.markdown())
    else:
        for metric, metric_title in CURVES:
            figures[f"{metric}.png"] = plot_learning_curves(records, metric, f"{title}: {metric_title}")
    written = []
    for file_name, figure in figures.items():
        if figure is not None:
            written.append(save_figure(figure, directory / file_name))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifacts", nargs="*", default=list(REDRAWN), help=f"of {list(REDRAWN)}")
    for name in parser.parse_args(argv).artifacts:
        for path in redraw(name):
            print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
