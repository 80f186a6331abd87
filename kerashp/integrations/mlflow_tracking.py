"""A study tracked in MLflow: `--track mlflow[=URI]`, `kerashp.run(..., track="mlflow")`
(needs `pip install "kerashp[mlflow]"`).

The tracker copies the study directory into MLflow after every trial and when the run
ends, reading the same files as the report (so what MLflow shows is what results.csv
says, and a killed run loses nothing the directory kept):

- one MLflow experiment per study (`name`, or `name/experiment`);
- one MLflow run for the study, one per trial nested under it, one per kerashp run (a seed)
  nested under its trial; each tagged with what it is (`kerashp.key`: `study`, `trial 0003`,
  `trial 0003 run 1`) and the study directory's id, and found again by those tags, so a
  resumed study continues the same MLflow runs instead of starting others;
- a trial's (and its runs') hyperparameters as params; each epoch's metrics with the epoch
  as step (only the epochs not logged before: `kerashp.epochs_logged`); a finished run's
  test figures; a pruned trial's rung and why it stopped as tags;
- a run FINISHED when kerashp's run finished, FAILED with its trial; the study run's
  artifacts: results.csv, results.md, epochs.csv and the figures, when the run ends.

The default tracking URI is an SQLite database beside the study (`OUT/mlflow.db`, artifacts
in `OUT/mlartifacts/`): MLflow 3's file store (`./mlruns`) is in maintenance mode.
"""

from __future__ import annotations

import logging
import math
import numbers
import os
import pathlib
import time
from typing import TYPE_CHECKING, Any

from kerashp.errors import StudyError, last_line
from kerashp.storage import layout

if TYPE_CHECKING:
    from kerashp.report.study_report import Report

logger = logging.getLogger("kerashp")

DEFAULT_DATABASE = "mlflow.db"
ARTIFACT_DIR = "mlartifacts"
KEY_TAG = "kerashp.key"
DIRECTORY_TAG = "kerashp.directory"
LOGGED_TAG = "kerashp.epochs_logged"
SUMMARY_TAG = "kerashp.summarized_at"  # the epochs of the trial's table row last logged
TESTED_TAG = "kerashp.tested_at"  # the epochs after which the run's test figures were logged
TIMING = {"epoch", "epoch_seconds", "train_seconds", "test_seconds"}  # per-epoch columns that are not metrics to chart


def tracking_uri(track: str, out: pathlib.Path) -> str:
    """`mlflow` -> `sqlite:///OUT/mlflow.db`; `mlflow=URI` -> URI (a path: an SQLite file there)."""
    _, _, uri = track.partition("=")
    if not uri:
        return f"sqlite:///{(pathlib.Path(out) / DEFAULT_DATABASE).resolve()}"
    if "://" in uri:
        return uri
    return f"sqlite:///{pathlib.Path(uri).resolve()}"


class MlflowTracker:
    """Copies one study directory into MLflow (see the module's docstring).

    Args:
        out: the study directory.
        track: `mlflow` or `mlflow=URI`.
        experiment: the MLflow experiment's name (default: the study's, read from the report).
    """

    def __init__(self, out: str | os.PathLike, track: str, experiment: str | None = None):
        try:
            from mlflow import MlflowClient
        except ImportError:
            raise StudyError('--track mlflow needs MLflow: pip install "kerashp[mlflow]"') from None
        # MLflow writes two lines to stdout for every run it ends on a server ("View run ... at"):
        # hundreds in a search. kerashp names the experiment once instead (the user's setting wins).
        os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
        self.out = pathlib.Path(out)
        self.uri = tracking_uri(track, self.out)
        self.client = MlflowClient(tracking_uri=self.uri)
        self.experiment_name = experiment
        self._experiment_id: str | None = None
        self._runs: dict[str, Any] | None = None

    def experiment_id(self, name: str) -> str:
        if self._experiment_id is None:
            found = self.client.get_experiment_by_name(name)
            if found is not None:
                self._experiment_id = found.experiment_id
            else:
                location = None if "://" in self.uri and not self.uri.startswith("sqlite") else \
                    (self.out / ARTIFACT_DIR).resolve().as_uri()
                self._experiment_id = self.client.create_experiment(name, artifact_location=location)
            logger.info("MLflow: experiment %r (id %s) at %s", name, self._experiment_id, self.uri)
        return self._experiment_id

    def sync(self, report: Report, final: bool = False, interrupted: bool = False) -> None:
        """Brings MLflow up to the directory's records: new trials and runs, new epochs,
        finished states; with `final`, the study's tables and figures as artifacts.

        Raises:
            StudyError: the tracking server cannot be reached or refuses (one line).
        """
        try:
            self._sync(report, final, interrupted)
        except StudyError:
            raise
        except Exception as error:  # MLflow's own errors: an unreachable server, a refused request
            raise StudyError(f"MLflow at {self.uri}: {type(error).__name__}: {last_line(str(error))}") from None

    def _sync(self, report: Report, final: bool, interrupted: bool) -> None:
        from mlflow.entities import Metric

        spec = report.spec
        name = self.experiment_name or (f"{spec.name}/{spec.experiment}" if spec.experiment else spec.name)
        experiment = self.experiment_id(name)
        directory = layout.directory_id(report.out) or str(report.out.resolve())
        runs = self._known(experiment, directory)
        study_run = self._run(runs, experiment, directory, "study", None, spec.name)
        if not final:
            self._status(runs, "study", "RUNNING")  # a resumed study goes on in the same MLflow run
        stopped = dict(zip(report.table["trial"].astype(str), report.table["stopped"])) \
            if "stopped" in report.table else {}
        pruned = {trial.record.trial_id: trial for trial in report.pruned}
        rows = report.table.set_index(report.table["trial"].astype(str)) if len(report.table) else None
        figures = [metric for metric, _ in report.metrics if rows is not None and metric in rows]
        for record in report.trials:
            values = {key: value for key, value in record.values.items() if _plain(value)}
            trial_run = self._run(runs, experiment, directory, f"trial {record.trial_id}", study_run.info.run_id,
                                  record.label(), params=values)
            trial_tags = {"kerashp.status": record.status}
            if isinstance(stopped.get(record.trial_id), str):
                trial_tags["kerashp.stopped"] = stopped[record.trial_id]
            if record.trial_id in pruned and pruned[record.trial_id].rungs:
                trial_tags["kerashp.rung"] = str(pruned[record.trial_id].reached)
            row = rows.loc[record.trial_id] if rows is not None and record.trial_id in rows.index else None
            epochs = str(row.get("epochs")) if row is not None else ""
            if record.status == "COMPLETED" and row is not None and trial_run.data.tags.get(SUMMARY_TAG) != epochs:
                # the trial's row of results.csv (means over seeds), at the epochs it reached
                step = int(row["epochs"]) if _finite(row.get("epochs")) else 0
                self.client.log_batch(trial_run.info.run_id, metrics=[
                    Metric(metric, float(row[metric]), int(time.time() * 1000), step) for metric in figures
                    if _finite(row[metric])])
                trial_tags[SUMMARY_TAG] = epochs
            self._tags(trial_run, trial_tags)
            for execution in record.executions:
                key = f"trial {record.trial_id} run {execution.index}"
                run = self._run(runs, experiment, directory, key, trial_run.info.run_id,
                                f"{record.label()} seed {spec.settings.training.seed + execution.index}",
                                params={**values, "seed": spec.settings.training.seed + execution.index})
                logged = int(run.data.tags.get(LOGGED_TAG, 0))
                history = execution.history_rows()
                now = int(time.time() * 1000)
                metrics = [Metric(column, float(value), now, int(epoch_row["epoch"]))
                           for epoch_row in history if int(epoch_row.get("epoch", 0)) > logged
                           for column, value in epoch_row.items()
                           if column not in TIMING and _finite(value)]
                summary = execution.summary or {}
                tested = execution.finished and run.data.tags.get(TESTED_TAG) != str(len(history))
                if tested:  # at the epochs it was tested after (a promoted run is tested again, further on)
                    metrics += [Metric(key_, float(figure), now, len(history)) for key_, figure in summary.items()
                                if "test_" in key_ and not key_.endswith("_seconds") and _finite(figure)]
                for start in range(0, len(metrics), 900):  # MLflow takes at most 1,000 metrics a call
                    self.client.log_batch(run.info.run_id, metrics=metrics[start:start + 900])
                self._tags(run, {LOGGED_TAG: str(len(history)), **({TESTED_TAG: str(len(history))} if tested else {})})
                status = "FAILED" if record.status in ("FAILED", "INVALID") else (
                    "FINISHED" if execution.finished else ("KILLED" if final else "RUNNING"))
                self._status(runs, key, status)
            if not record.executions and record.status in ("FAILED", "INVALID"):
                self._tags(trial_run, {"kerashp.message": last_line(str(record.message or ""))[:4000]})
            trial_status = {"COMPLETED": "FINISHED", "FAILED": "FAILED", "INVALID": "FAILED"}.get(
                record.status, "KILLED" if final else "RUNNING")
            self._status(runs, f"trial {record.trial_id}", trial_status)
        if final:
            for name_ in [*layout.REPORT_FILES, *(f"{metric}.png" for metric, _ in spec.curves)]:
                path = report.out / name_
                if path.is_file():
                    self.client.log_artifact(study_run.info.run_id, str(path))
            self._status(runs, "study", "KILLED" if interrupted else "FINISHED")

    def _known(self, experiment: str, directory: str) -> dict[str, Any]:
        if self._runs is None:
            self._runs = {}
            token = None
            while True:
                page = self.client.search_runs([experiment], filter_string=f"tags.`{DIRECTORY_TAG}` = '{directory}'",
                                               max_results=1000, page_token=token)
                for run in page:
                    self._runs[run.data.tags.get(KEY_TAG)] = run
                token = page.token
                if not token:
                    break
        return self._runs

    def _run(self, runs: dict[str, Any], experiment: str, directory: str, key: str, parent: str | None,
             name: str, params: dict[str, Any] | None = None) -> Any:
        run = runs.get(key)
        if run is None:
            tags = {KEY_TAG: key, DIRECTORY_TAG: directory, **({"mlflow.parentRunId": parent} if parent else {})}
            run = self.client.create_run(experiment, tags=tags, run_name=name[:250])
            if params:
                from mlflow.entities import Param

                self.client.log_batch(run.info.run_id, params=[Param(k, str(v)[:6000]) for k, v in params.items()])
            run = self.client.get_run(run.info.run_id)
            runs[key] = run
        return run

    def _tags(self, run: Any, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            if run.data.tags.get(key) != value:
                self.client.set_tag(run.info.run_id, key, value)
                run.data.tags[key] = value

    def _status(self, runs: dict[str, Any], key: str, status: str) -> None:
        run = runs[key]
        if run.info.status == status:
            return
        if status == "RUNNING":
            self.client.update_run(run.info.run_id, status="RUNNING")
        else:
            self.client.set_terminated(run.info.run_id, status=status)
        runs[key] = self.client.get_run(run.info.run_id)


def _finite(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))
