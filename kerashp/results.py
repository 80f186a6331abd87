"""`Results`: a study directory's tables, records, statistics and figures as objects."""

from __future__ import annotations

import os
import pathlib
from typing import TYPE_CHECKING

import pandas as pd

from kerashp.errors import StudyError
from kerashp.report.study_report import Report, build_report
from kerashp.report.tables import pick
from kerashp.storage import layout

if TYPE_CHECKING:
    import optuna
    from matplotlib.figure import Figure

    from kerashp.report.uncertainty import MetricComparison


class Results:
    """The results of a study, read from its directory (the files are the truth:
    a `Results` of a running study shows what has finished so far).

    Attributes:
        out: the study directory.
        experiments: for a study made of experiments, name -> that experiment's
            `Results`; empty otherwise.

    Example:

        results = kerashp.load_results("artifacts/adam_betas")
        results.table[["name", "best_val_accuracy"]]
        results.best["name"]
        results.figures()["val_accuracy"].savefig("val_accuracy.pdf")
    """

    def __init__(self, out: str | os.PathLike, reports: dict[str | None, Report]):
        self.out = pathlib.Path(out)
        self._reports = reports
        self.experiments: dict[str, Results] = (
            {name: Results(report.out, {None: report}) for name, report in reports.items() if name is not None}
            if len(reports) > 1 or None not in reports else {})

    @classmethod
    def load(cls, out: str | os.PathLike) -> "Results":
        """Reads the study directory `out` (or its experiments' directories)."""
        out = pathlib.Path(out)
        directories = layout.experiment_dirs(out)
        if not directories:
            raise StudyError(f"{out} holds no kerashp study (no {layout.PROJECT_NAME}/ with trials)")
        if directories == [out]:
            return cls(out, {None: build_report(out)})
        reports = {path.name: build_report(path) for path in directories}
        order = next(iter(reports.values())).spec.experiment_names  # the study's own order
        rank = {name: position for position, name in enumerate(order)}
        return cls(out, dict(sorted(reports.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0]))))

    def _frames(self, attribute: str) -> pd.DataFrame:
        frames = []
        for name, report in self._reports.items():
            frame = getattr(report, attribute)
            if name is not None and len(frame):
                frame = frame.copy()
                frame.insert(0, "experiment", name)
            frames.append(frame)
        frames = [frame for frame in frames if len(frame)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    @property
    def table(self) -> pd.DataFrame:
        """One row per trial: name, status, hyperparameters, metrics (means over
        seeds, `_std` columns), across-seeds columns; equal to results.csv (with an
        `experiment` column first for a study made of experiments)."""
        return self._frames("table")

    @property
    def epochs(self) -> pd.DataFrame:
        """Every epoch of every run (epochs.csv): trial, name, run, epoch, the logged metrics."""
        return self._frames("epochs")

    @property
    def seeds(self) -> pd.DataFrame:
        """With 2 or more seeds: each run's compared metrics and its paired difference
        to the reference (seeds.csv); empty otherwise."""
        return self._frames("seeds")

    @property
    def importance(self) -> pd.DataFrame:
        """A search's hyperparameter importance (fANOVA main effects, `kerashp.report.importance`):
        `hyperparameter`, `importance` (summing to 1), `variance_share`, most important first;
        empty for named configurations or fewer than 8 comparable trials."""
        return self._frames("importance_table")

    @property
    def comparisons(self) -> list[MetricComparison]:
        """The across-seeds comparisons (one per compared metric and experiment)."""
        return [comparison for report in self._reports.values() for comparison in report.comparisons]

    @property
    def best(self) -> pd.Series | None:
        """The best completed trial's row of `table` by the study's objective (None if none completed)."""
        rows = []
        for report in self._reports.values():
            best = pick(report.table, report.spec.rank_by, report.spec.higher_is_better)
            if best is not None:
                rows.append((best, report.spec))
        if not rows:
            return None
        higher = rows[0][1].higher_is_better
        return sorted(rows, key=lambda item: item[0][item[1].rank_by], reverse=higher)[0][0]

    @property
    def markdown(self) -> str:
        """results.md as it would be written now."""
        from kerashp.report.study_report import markdown_text

        return "\n".join(markdown_text(report) for report in self._reports.values())

    def figures(self) -> dict[str, Figure]:
        """Every figure of the report as `matplotlib.figure.Figure` objects, by name
        (`val_accuracy`, `loss`, `seeds`, ...; `experiment/name` for a study made of
        experiments). Drawn without pyplot: no backend is chosen or changed."""
        figures = {}
        for name, report in self._reports.items():
            for file_name, make in report.figure_makers().items():
                figure = make()
                if figure is not None:
                    key = file_name.rsplit(".", 1)[0]
                    figures[key if name is None else f"{name}/{key}"] = figure
        return figures

    def to_optuna(self, storage: str | os.PathLike | None = None, study_name: str | None = None) -> "optuna.Study":
        """The study as an Optuna study, for optuna-dashboard, importance and Optuna's plots
        (needs `pip install "kerashp[optuna]"`): one Optuna trial per run, each epoch's
        objective as an intermediate value (`kerashp.integrations.optuna_export`). Called
        again after more trials, it adds only the new runs.

        Args:
            storage: an SQLAlchemy URL (`sqlite:///FILE.db`), a journal file (`FILE.log`),
                an SQLite file, or None for `optuna.db` in the study directory.
            study_name: the Optuna study's name (default: the study's).

        Raises:
            StudyError: a study made of experiments (export each of `experiments`), or
                the storage mirrors another study directory under that name.
        """
        from kerashp.integrations.optuna_export import export_report, open_storage

        if self.experiments:
            raise StudyError(f"{self.out} holds experiments ({', '.join(self.experiments)}): export each, e.g. "
                             f"results.experiments[{next(iter(self.experiments))!r}].to_optuna()")
        report = self._reports[None]
        return export_report(report, open_storage(storage, self.out), study_name)

    def __repr__(self) -> str:
        table = self.table
        done = int((table["status"] == "COMPLETED").sum()) if len(table) else 0
        return f"<Results of {self.out}: {len(table)} trial(s), {done} completed>"

    def _repr_html_(self) -> str:  # a notebook shows the table
        return f"<p>{self!r}</p>" + self.table.to_html(index=False, max_rows=30)
