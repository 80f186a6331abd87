"""A study's report (tables, notes, figures) rebuilt from its directory alone.

`ReportSpec` (`kerashp.report.spec`) is what the report needs to know of the study and
its settings; the runner writes it into the study directory when a run starts, so that the
report can be rebuilt later (`kerashp report OUT`, `kerashp.load_results`) from
`kerashp.storage` without the study's code, Keras or KerasTuner.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import pathlib
from typing import TYPE_CHECKING, Any, Callable

import pandas as pd

from kerashp.report import pruning as pruning_report
from kerashp.report import replication, uncertainty
from kerashp.report.importance import Importance, search_importance
from kerashp.report.spec import ReportSpec
from kerashp.report.spec import load as load_spec
from kerashp.report.tables import epochs_table, results_markdown, results_table, write_results
from kerashp.settings import StudySettings
from kerashp.storage import layout, records

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TOP_K = 20  # trials shown in results.md of a search
TOP_CURVES = 5  # trials drawn in top_trials.png


def spec_for(out: pathlib.Path, trials: list[records.TrialRecord]) -> ReportSpec:
    """The saved spec of a study directory, or one inferred from its trials (for a
    directory written before specs were saved)."""
    saved = load_spec(layout.project_dir(out))
    if saved is not None:
        return saved
    names = list(dict.fromkeys(key for trial in trials for key in trial.values if key != "config"))
    settings = StudySettings(study=pathlib.Path(out).name)
    settings.search.method = "configs" if any("config" in t.values for t in trials) else "random"
    return ReportSpec(name=pathlib.Path(out).name, hyperparameters=tuple(names), settings=settings)


@dataclasses.dataclass
class Report:
    """Everything the report of one study directory holds, in memory."""

    out: pathlib.Path
    spec: ReportSpec
    trials: list[records.TrialRecord]
    runs: list[dict[str, Any]]
    table: pd.DataFrame
    metrics: tuple[tuple[str, str], ...]
    comparisons: list[uncertainty.MetricComparison]
    pruned: list[pruning_report.PrunedTrial]
    markdown_header: str
    markdown_footer: str

    @property
    def epochs(self) -> pd.DataFrame:
        return epochs_table(self.trials, self.spec.hyperparameters)

    @functools.cached_property
    def importance(self) -> Importance | None:
        """The search's hyperparameter importance (`kerashp.report.importance`); None for
        named configurations or too few comparable trials."""
        spec = self.spec
        if not spec.searching:
            return None
        return search_importance(self.table, spec.hyperparameters, spec.rank_by, spec.objective,
                                 spec.higher_is_better, self.pruned, seed=spec.settings.training.seed)

    @property
    def importance_table(self) -> pd.DataFrame:
        return self.importance.table if self.importance is not None else pd.DataFrame()

    @property
    def seeds(self) -> pd.DataFrame:
        return uncertainty.per_seed_table(self.comparisons) if self.comparisons else pd.DataFrame()

    def figure_makers(self) -> dict[str, Callable[[], Figure | None]]:
        """File name -> a function drawing that figure (None where it has nothing to draw)."""
        from kerashp.report.figures import plot_learning_curve_grid, plot_learning_curves, plot_seed_values
        from kerashp.report.search_figures import (plot_history, plot_hyperparameter_panels, plot_importance,
                                                   plot_isolation, plot_parallel_coordinates, top_trials)

        spec, trials, table, title = self.spec, self.trials, self.table, self.spec.title
        makers: dict[str, Callable[[], Figure | None]] = {}
        if self.comparisons:
            makers["seeds.png"] = lambda: plot_seed_values(self.comparisons, f"{title}: {spec.settings.training.seeds} seeds")
        if len(trials) <= TOP_K:  # one line per trial; a larger search draws its best in top_trials.png
            for metric, metric_title in spec.curves:
                makers[f"{metric}.png"] = (lambda metric=metric, metric_title=metric_title:
                                           plot_learning_curves(trials, metric, f"{title}: {metric_title}"))
            if spec.curve_grid:
                makers["learning_curves.png"] = lambda: plot_learning_curve_grid(trials, spec.curve_grid, title)
        rank_by = spec.rank_by
        if spec.searching and len(table) and rank_by in table:
            hyperparameters = spec.hyperparameters
            makers["hyperparameters.png"] = lambda: plot_hyperparameter_panels(
                table, hyperparameters, rank_by, f"{title}: {rank_by} of every trial")
            isolated = spec.isolation_hyperparameter or (hyperparameters[0] if hyperparameters else None)
            if isolated:
                makers["isolation.png"] = lambda: plot_isolation(
                    table, isolated, rank_by, f"{title}: best trial per {isolated}", spec.higher_is_better)

            def best_curves():
                best = top_trials(trials, table, rank_by, TOP_CURVES, spec.higher_is_better)
                return plot_learning_curves(best, spec.objective, f"{title}: {spec.objective} of the {len(best)} best trials")

            makers["top_trials.png"] = best_curves
            makers["parallel_coordinates.png"] = lambda: plot_parallel_coordinates(
                table, hyperparameters, rank_by, f"{title}: the full-length trials", spec.higher_is_better)
            makers["history.png"] = lambda: plot_history(table, rank_by, f"{title}: {rank_by} by trial",
                                                         spec.higher_is_better)
            makers["importance.png"] = lambda: plot_importance(
                self.importance.table if self.importance else None,
                f"{title}: hyperparameter importance ({self.importance.trials if self.importance else 0} trials)")
        if self.pruned:
            makers["pruned_curves.png"] = lambda: pruning_report.plot_pruned_curves(
                self.pruned, spec.objective, f"{title}: {spec.objective} of every trial (pruned faded)",
                higher_is_better=spec.higher_is_better)
        return makers


def results_header(spec: ReportSpec, runs: list[dict[str, Any]], machine: str, data_description: str) -> str:
    """The how-it-was-made note above the table in results.md."""
    wall = sum(run.get("wall_s", 0.0) for run in runs)
    interrupted = sum(1 for run in runs if run.get("interrupted"))
    training, search = spec.settings.training, spec.settings.search
    lines = [
        f"# {spec.name}: {spec.description}"
        + (f"; experiment {spec.experiment}: {spec.experiment_description}" if spec.experiment else ""),
        "",
        f"- data: {data_description}",
        f"- budget: {spec.epochs_text or f'{training.epochs} epochs'}, batch size {training.batch_size}, "
        f"{training.seeds} seed(s) from {training.seed}, search: {search.method}"
        + (f" ({search.trials} trials)" if spec.searching else "")
        + (f", pruned: {search.prune} (first rung {search.min_epochs} epoch(s), eta {search.eta})"
           if search.prune != "none" else ""),
        f"- options: {json.dumps(training.options, sort_keys=True)}"
        + (f", overrides {json.dumps(training.overrides, sort_keys=True)}" if training.overrides else ""),
        f"- machine: {runs[-1]['machine'] if runs else machine}",
        f"- wall time: {wall:.0f} s over {len(runs)} invocation(s)"
        + (f" ({interrupted} interrupted)" if interrupted else "")
        + f", the last ended {runs[-1]['ended'] if runs else '-'}",
        "- images/s: mean training throughput of the epochs after the first (which pays for tracing)"
        + (f"; with --pack {spec.settings.hardware.pack}, trials trained side by side share one step, so their"
           " training time and images/s are those of the packed model" if spec.settings.hardware.pack > 1 else ""),
    ]
    if spec.settings.quick:
        lines.append(
            f"- a --quick demo: {training.epochs} epoch(s) on a small shipped sample ({spec.data}), from scratch. It "
            "shows that the study runs, resumes and reports, and whether its networks start to learn; its numbers "
            "say nothing about which configuration is better (a few epochs rank configurations by how fast they "
            "start, not where they end, and one seed's differences are within seed-to-seed noise). "
            "Run without --quick for the study's real budget.")
    return "\n".join(lines) + "\n\n"


def build_report(out: str | os.PathLike, spec: ReportSpec | None = None, machine: str = "-",
                 data_description: str | None = None) -> Report:
    """Reads a study directory (`kerashp.storage` only) into a `Report`."""
    out = pathlib.Path(out)
    project = layout.project_dir(out)
    trials = records.load_trials(project)
    spec = spec or spec_for(out, trials)
    runs = layout.read_run_log(project)
    metrics = tuple(spec.metrics)
    if spec.searching and spec.rank_by not in dict(metrics):  # a search is ranked by its objective: show it
        metrics += ((spec.rank_by, spec.rank_by.replace("_", " ")),)
    table = results_table(trials, spec.hyperparameters, metrics)
    search = spec.settings.search
    comparisons = compare_seeds(spec, trials) if spec.settings.training.seeds > 1 else []
    if comparisons and len(table):
        table = table.join(uncertainty.comparison_columns(comparisons), on="name")
    footer = uncertainty.comparison_markdown(comparisons)
    pruned = pruning_report.pruned_trials(trials, project) if search.prune != "none" else []
    if pruned and len(table):
        table = table.merge(pruning_report.pruning_columns(pruned, spec.objective, spec.higher_is_better, search.eta,
                                                           search.prune), on="trial", how="left")
        metrics += (("rung_epochs", "epochs (rung reached)"),)
        footer = pruning_report.pruning_markdown(pruned, search.prune, search.min_epochs, search.eta) + footer
    if spec.original:
        footer += replication.replication_markdown(spec.original, trials, here=budget_here(spec),
                                                   metric_titles=dict(metrics), seed=spec.settings.training.seed)
    if spec.total and len(trials) < spec.total:
        footer = (f"\n{len(trials)} of {spec.total} trials begun so far; this table is rewritten after each "
                  "trial.\n") + footer
    header = results_header(spec, runs, machine, data_description or spec.data)
    return Report(out, spec, trials, runs, table, metrics, comparisons, pruned, header, footer)


def budget_here(spec: ReportSpec) -> str:
    """kerashp's budget in words, for the "Original vs here" section."""
    training = spec.settings.training
    return (f"{spec.data}; {spec.epochs_text or f'{training.epochs} epochs'}, batch size {training.batch_size}; "
            f"{training.defaults} framework defaults; {training.seeds} seed(s) from {training.seed}"
            + (f"; overrides {json.dumps(training.overrides, sort_keys=True)}" if training.overrides else "")
            + ("; a --quick demo, so nothing here tests the claims" if spec.settings.quick else ""))


def compare_seeds(spec: ReportSpec, trials) -> list[uncertainty.MetricComparison]:
    """The across-seeds statistics of each of the study's compared metrics."""
    comparisons = []
    for metric in spec.compared_metrics:
        if metric.endswith(f"_{spec.objective}") and metric.split("_", 1)[0] in ("best", "final"):
            higher_is_better = spec.higher_is_better
        else:
            higher_is_better = not records.LOWER_IS_BETTER.search(metric)
        comparison = uncertainty.compare_metric(trials, metric, spec.settings.output.reference, higher_is_better,
                                                seed=spec.settings.training.seed,
                                                best_as_reference=spec.searching)
        if comparison is not None:
            comparisons.append(comparison)
    return comparisons


def _markdown_options(report: Report, analysis: bool = True) -> dict[str, Any]:
    spec = report.spec
    footer = report.markdown_footer
    if analysis and report.importance is not None:
        footer = report.importance.markdown() + footer
    return dict(header=report.markdown_header, top_k=TOP_K if spec.searching else None, rank_by=spec.rank_by,
                higher_is_better=spec.higher_is_better, footer=footer)


def markdown_text(report: Report) -> str:
    """The text of the report's results.md."""
    return results_markdown(report.table, report.spec.hyperparameters, report.metrics, **_markdown_options(report))


def write_tables(report: Report, analysis: bool = True) -> None:
    """results.csv, results.md, epochs.csv and seeds.csv, each replaced atomically; with
    `analysis`, results.md holds the search's hyperparameter importance (left out of the
    table rewritten after each trial, as the figures are: it fits a model)."""
    spec, out = report.spec, report.out
    write_results(report.table, out, spec.hyperparameters, report.metrics, **_markdown_options(report, analysis))
    if report.comparisons:
        records.write_csv_atomic(out / layout.SEEDS_FILE, report.seeds)
    records.write_csv_atomic(out / layout.EPOCHS_FILE, report.epochs)


def write_report(report: Report, extra: dict[str, Any] | None = None, figures: bool = True) -> None:
    """Writes the tables and (with `figures`) every figure of `report`, plus a
    study's own `extra` outputs (file name -> Figure or Markdown text)."""
    from kerashp.report.figures import save_figure

    write_tables(report, analysis=figures)
    if not figures:
        return
    for name, make in report.figure_makers().items():
        figure = make()
        if figure is not None:
            save_figure(figure, report.out / name)
    for name, item in (extra or {}).items():
        if isinstance(item, str):
            records.write_text_atomic(report.out / name, item)
        elif item is not None:
            save_figure(item, report.out / name)


def rebuild(out: str | os.PathLike) -> list[pathlib.Path]:
    """Rewrites the tables and figures of a study directory (each experiment's)
    from its files; returns the results.md files written. A study's own extra
    outputs (`Study.extra_report`) are left as its last run wrote them."""
    from kerashp.errors import StudyError

    directories = layout.experiment_dirs(out)
    if not directories:
        raise StudyError(f"{out} holds no kerashp study (no {layout.PROJECT_NAME}/ with trials)")
    written = []
    for directory in directories:
        write_report(build_report(directory))
        written.append(directory / "results.md")
    return written
