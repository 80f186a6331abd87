"""Trial records on disk: the one source the tables and figures are built from.

Imports nothing of Keras, TensorFlow or KerasTuner: a report can be rebuilt
from these files on a machine without them.

Layout inside the KerasTuner project directory (`<out>/tuner/`):

    trial_<id>/trial.json                KerasTuner's record (hyperparameters, status)
    trial_<id>/execution_<i>/history.csv one row per finished epoch (CSVLogger)
    trial_<id>/execution_<i>/summary.json written once the run has ended
    trial_<id>/execution_<i>/backup/     BackupAndRestore state while it runs
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import pathlib
import re
import secrets
from typing import Any

import pandas as pd

from kerashp.errors import StudyError

HISTORY_FILE = "history.csv"
# Logged metrics whose best value is their minimum (losses and errors); others: maximum.
LOWER_IS_BETTER = re.compile(r"loss|error|mse|mae|nll|crossentropy")
SUMMARY_FILE = "summary.json"
FINAL_WEIGHTS_FILE = "final.weights.h5"  # a run's weights when it ended (its best epoch's with --restore-best-weights)


def write_text_atomic(path: pathlib.Path, text: str | bytes) -> None:
    """Writes a file so that a reader never sees it half-written, even after a kill
    or a power cut: a temporary file beside it, flushed to disk, renamed over `path`."""
    path = pathlib.Path(path)
    # A name of its own (pid and random part): two writers of one file (a report while a
    # run writes it) never rename each other's temporary file away.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as to open()
    try:
        with open(descriptor, "wb" if isinstance(text, bytes) else "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself
    finally:
        os.close(directory)


def write_json_atomic(path: pathlib.Path, payload: Any, indent: int | None = 2) -> None:
    """Writes JSON atomically (see `write_text_atomic`)."""
    write_text_atomic(path, json.dumps(payload, indent=indent, sort_keys=True, default=float))


def write_csv_atomic(path: pathlib.Path, frame: pd.DataFrame) -> None:
    """Writes a DataFrame as CSV atomically (see `write_text_atomic`)."""
    write_text_atomic(path, frame.to_csv(index=False))


def read_json(path: pathlib.Path) -> Any:
    """Reads a JSON file kerashp or KerasTuner wrote, or raises StudyError naming it."""
    try:
        with open(path, "rb") as file:
            return json.loads(file.read())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        reason = "missing" if isinstance(error, FileNotFoundError) else "unreadable (cut by a kill, or damaged)"
        raise StudyError(
            f"{path} is {reason}; the results it holds cannot be read: restore it from a copy, "
            "or pass --overwrite to start afresh"
        ) from None


def read_json_if_present(path: str | os.PathLike) -> Any:
    """`read_json`, or None where the file does not exist (one open, no stat first)."""
    try:
        with open(path, "rb") as file:
            text = file.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        return read_json(path)  # names the file
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return read_json(path)


TRIAL_DIR = re.compile(r"trial_(\d+)")  # KerasTuner's trial directories; a copy (trial_0001.bak) is none
EXECUTION_DIR = re.compile(r"execution_(\d+)")


def trial_files(project_dir: str | os.PathLike) -> list[pathlib.Path]:
    """The `trial_<id>/trial.json` files of a project, in trial-id order (see `trial_order`),
    listed with one directory read instead of a glob per trial. Only directories named
    exactly `trial_<digits>` count: a copy such as `trial_0001.bak` is left alone."""
    project_dir = os.fspath(project_dir)
    try:
        names = [entry.name for entry in os.scandir(project_dir)
                 if TRIAL_DIR.fullmatch(entry.name) and entry.is_dir()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    paths = [pathlib.Path(project_dir, name, "trial.json") for name in names]
    return sorted((path for path in paths if os.path.exists(path)), key=trial_order)


def execution_dirs(trial_dir: str | os.PathLike) -> list[tuple[int, pathlib.Path]]:
    """A trial's run directories `execution_<i>` as (i, path), in order; a copy such as
    `execution_0.bak`, or a file of that name, is not a run."""
    try:
        entries = [(int(match.group(1)), pathlib.Path(entry.path)) for entry in os.scandir(trial_dir)
                   if (match := EXECUTION_DIR.fullmatch(entry.name)) and entry.is_dir()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(entries)


def check_trial_state(path: pathlib.Path, state: Any) -> dict[str, Any]:
    """A trial.json's content, or StudyError naming the file where it is not a trial's record
    (JSON of another shape, or another trial's record copied under this directory's name)."""
    values = state.get("hyperparameters", {}).get("values") if isinstance(state, dict) else None
    if not (isinstance(state, dict) and isinstance(state.get("trial_id"), str)
            and isinstance(state.get("status"), str) and isinstance(values, dict)
            and isinstance(state["hyperparameters"].get("space", []), list)):
        raise StudyError(f"{path} does not hold a trial's record (damaged or replaced); restore it from a copy, "
                         "delete its trial directory to retrain that trial, or pass --overwrite to start afresh")
    found, expected = state["trial_id"], path.parent.name.removeprefix("trial_")
    if not (int(found) == int(expected) if found.isdigit() and expected.isdigit() else found == expected):
        raise StudyError(f"{path} is the record of trial {found}, not of trial {expected} "
                         "(a copied directory?); move it out of the project")
    return state


def read_trial_state(path: pathlib.Path) -> dict[str, Any]:
    """A trial.json, checked (see `check_trial_state`)."""
    return check_trial_state(path, read_json(path))


def read_history(path: pathlib.Path) -> pd.DataFrame:
    """Reads a per-epoch history CSV, keeping the last row of any repeated epoch
    and leaving out a last line without its newline (cut by a kill mid-write).

    A run killed after an epoch was logged but before its backup was saved
    repeats that epoch when resumed; the repeat is the row that counts.
    """
    rows = history_rows(path)
    return pd.DataFrame(rows) if rows else pd.DataFrame()


def history_rows(path: pathlib.Path) -> list[dict[str, Any]]:
    """`read_history` as a list of rows (dicts), read without pandas: a report of
    thousands of trials reads thousands of short files, and a DataFrame each cost
    more than the rest of the report."""
    try:
        text = pathlib.Path(path).read_text()
    except (FileNotFoundError, NotADirectoryError):
        return []
    complete = text[: text.rfind("\n") + 1]  # a last line without its newline was cut by a kill
    lines = list(csv.reader(io.StringIO(complete)))
    if len(lines) < 2:
        return []
    header = lines[0]
    rows = [{key: _cell(value) for key, value in zip(header, fields)} for fields in lines[1:] if fields]
    if "epoch" in header:
        by_epoch = {}
        for row in rows:
            by_epoch[int(row["epoch"])] = row  # the last of a repeated epoch counts
        rows = [{**by_epoch[epoch], "epoch": epoch + 1} for epoch in sorted(by_epoch)]  # 1-based, as people count
    return rows


def _cell(text: str) -> Any:
    """A CSV cell as pandas' reader would type it: int, float (NaN where empty) or text."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text) if text else math.nan
    except ValueError:
        return text


def drop_torn_last_line(path: pathlib.Path) -> bool:
    """Cuts a last line that a kill left half-written (no newline) off a text file,
    so that appending continues on a line of its own; True where it cut one."""
    if not path.exists():
        return False
    content = path.read_bytes()
    if not content or content.endswith(b"\n"):
        return False
    write_text_atomic(path, content[: content.rfind(b"\n") + 1])
    return True


def truncate_history(path: pathlib.Path, epochs: int) -> None:
    """Keeps only the first `epochs` epochs of a history CSV (those a checkpoint
    holds), so that a run retrained from there appends to its own past only."""
    if not path.exists():
        return
    if epochs <= 0:
        path.unlink()
        return
    lines = path.read_text().splitlines(keepends=True)
    kept = lines[:1] + [line for line in lines[1:]
                        if line.endswith("\n") and line.split(",", 1)[0].strip().isdigit()
                        and int(line.split(",", 1)[0]) < epochs]
    write_text_atomic(path, "".join(kept))


def summarize_history(history: pd.DataFrame, objective: str, direction: str = "max") -> dict[str, Any]:
    """Per-run figures from a history table.

    Returns the best and final value of every metric (`best_<m>`, `final_<m>`),
    the epoch of the best objective, the epochs run, the summed training time and
    the steady-state throughput (mean images/s over epochs after the first, which
    pays for tracing; the first epoch's figure when there is only one).
    """
    summary: dict[str, Any] = {"epochs": int(len(history))}
    if history.empty:
        return summary
    timing_columns = {"epoch", "epoch_seconds", "train_seconds", "images_per_second"}
    for column in history.columns:
        if column in timing_columns:
            continue
        values = history[column].astype(float)
        if column == objective:
            higher_is_better = direction == "max"
        else:
            higher_is_better = not LOWER_IS_BETTER.search(column)
        best = values.max() if higher_is_better else values.min()
        summary[f"best_{column}"] = float(best)
        summary[f"final_{column}"] = float(values.iloc[-1])
    if objective in history:
        objective_values = history[objective].astype(float)
        if not objective_values.isna().all():
            index = objective_values.idxmax() if direction == "max" else objective_values.idxmin()
            summary["best_epoch"] = int(history.loc[index, "epoch"])
    if "epoch_seconds" in history:
        summary["train_time_s"] = float(history["epoch_seconds"].sum())
    if "images_per_second" in history:
        steady = history["images_per_second"].iloc[1:] if len(history) > 1 else history["images_per_second"]
        summary["images_per_second"] = float(steady.mean())
    return summary


def missing_epochs(execution_dir: pathlib.Path, summary: dict[str, Any]) -> list[int]:
    """Epochs a finished run's summary counts that its history.csv lacks (a row lost
    with an unflushed write): empty where the two agree."""
    logged = logged_epochs(pathlib.Path(execution_dir) / HISTORY_FILE)
    return [epoch for epoch in range(1, int(summary.get("epochs") or 0) + 1) if epoch not in logged]


def logged_epochs(path: pathlib.Path) -> set[int]:
    """The (1-based) epochs a history CSV holds, as `read_history` counts them, read
    without pandas (a resume checks every finished run's history)."""
    try:
        text = path.read_text()
    except (FileNotFoundError, NotADirectoryError):
        return set()
    lines = text[: text.rfind("\n") + 1].splitlines()
    if not lines:
        return set()
    header = lines[0].split(",")
    if "epoch" not in header:
        return set()
    column = header.index("epoch")
    epochs = set()
    for line in lines[1:]:
        fields = line.split(",")
        try:
            epochs.add(int(float(fields[column])) + 1)
        except (IndexError, ValueError):
            continue
    return epochs


def first_nan_epoch(history: pd.DataFrame, column: str = "loss") -> int | None:
    """The first (1-based) epoch whose `column` is NaN or infinite, if any."""
    if history.empty or column not in history:
        return None
    for epoch, value in zip(history["epoch"], history[column]):
        if not math.isfinite(float(value)):
            return int(epoch)
    return None


class ExecutionRecord:
    """One training run (one seed) of a trial.

    Attributes:
        index: the run's index (its seed is the study's seed + index).
        directory: the run's directory.
        history: its per-epoch history, read from history.csv when first used
            (most of a report needs the summaries only).
        summary: its summary.json; None while unfinished.
    """

    def __init__(self, index: int, directory: pathlib.Path | None, history: pd.DataFrame | None = None,
                 summary: dict[str, Any] | None = None):
        self.index, self.directory, self._history, self.summary = index, directory, history, summary

    @property
    def history(self) -> pd.DataFrame:
        if self._history is None:
            self._history = read_history(pathlib.Path(self.directory) / HISTORY_FILE)
        return self._history

    @property
    def finished(self) -> bool:
        return self.summary is not None

    def history_rows(self) -> list[dict[str, Any]]:
        """The history as rows (dicts); read from disk without pandas when not loaded yet."""
        if self._history is not None:
            return self._history.to_dict("records")
        return history_rows(pathlib.Path(self.directory) / HISTORY_FILE)

    def __repr__(self) -> str:
        return f"ExecutionRecord({self.index}, {self.directory}, finished={self.finished})"


@dataclasses.dataclass
class TrialRecord:
    """A KerasTuner trial with its runs, as found on disk."""

    trial_id: str
    status: str
    values: dict[str, Any]
    message: str | None
    executions: list[ExecutionRecord]
    space: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # KerasTuner's configs of the trial's space

    @property
    def name(self) -> str:
        return str(self.values.get("config", f"trial {self.trial_id}"))

    def label(self) -> str:
        """The trial as a reader knows it: its configuration's name, or for a searched
        trial its id and values ("trial 2 (units=96, lr=0.000299)")."""
        if "config" in self.values:
            return f"trial {self.trial_id} {self.values['config']}"
        values = ", ".join(f"{name}={format_value(value)}" for name, value in self.values.items())
        return f"trial {self.trial_id}" + (f" ({values})" if values else "")


def format_value(value: Any, digits: int = 3) -> str:
    """A hyperparameter's value for a reader: whole numbers as such, others to `digits`
    significant digits (0.000297, not 3e-04)."""
    if isinstance(value, float) and math.isfinite(value) and not value.is_integer():
        return f"{value:.{digits}g}"
    return str(value)


def trial_order(path: pathlib.Path) -> tuple[int, str]:
    """Sort key of a `trial_<id>` directory (or a file in one): numerically by id,
    so that `trial_100` follows `trial_99` whatever the zero-padding."""
    directory = path.parent if path.name == "trial.json" else path
    trial_id = directory.name.removeprefix("trial_")
    return (int(trial_id), trial_id) if trial_id.isdigit() else (2**63, trial_id)


def read_summary(path: pathlib.Path) -> dict[str, Any] | None:
    """A run's summary.json (None where there is none), or StudyError naming the file
    where it holds something other than a summary (`null`, a list, ...)."""
    path = pathlib.Path(path)
    if not path.exists():
        return None
    summary = read_json(path)
    if not isinstance(summary, dict):
        raise StudyError(f"{path} does not hold a run's summary (damaged or replaced); delete it to retrain "
                         "that run, or restore it from a copy")
    return summary


def load_execution(directory: pathlib.Path, index: int) -> ExecutionRecord:
    return ExecutionRecord(index, directory, None, read_summary(directory / SUMMARY_FILE))


def load_trials(project_dir: pathlib.Path) -> list[TrialRecord]:
    """Reads every trial of a KerasTuner project, in trial-id order."""
    records = []
    for trial_file in trial_files(project_dir):
        state = read_trial_state(trial_file)
        executions = [load_execution(path, index) for index, path in execution_dirs(trial_file.parent)]
        records.append(
            TrialRecord(
                trial_id=state["trial_id"],
                status=state["status"],
                values=dict(state["hyperparameters"]["values"]),
                message=state.get("message"),
                executions=executions,
                space=list(state["hyperparameters"].get("space", [])),
            )
        )
    return records
