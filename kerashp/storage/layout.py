"""Where everything of a study lives inside its output directory (`--out`).

    <out>/results.csv, results.md, epochs.csv, seeds.csv, *.png   the report
    <out>/tensorboard/                                             TensorBoard logs
    <out>/tuner/                                                   the KerasTuner project
    <out>/tuner/kerashp_owner.json                                 the study this directory belongs to
    <out>/tuner/kerashp_settings.json                              the training fingerprint
    <out>/tuner/kerashp_definition.json                            the configurations' values and the space
    <out>/tuner/kerashp_study.json                                 what the report needs of the study
    <out>/tuner/kerashp_runs.jsonl                                 one line per invocation
    <out>/tuner/kerashp_progress.json                              the running invocation's progress
    <out>/tuner/kerashp_errors.log                                 the tracebacks of failed trials
    <out>/tuner/oracle.json, trial_<id>/...                        trials (see `records`)

A study made of experiments has one such directory per experiment
(`<out>/<experiment>/`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pathlib
import re
import uuid
from typing import Any

from kerashp.errors import StudyError
from kerashp.storage import records
from kerashp.storage.weights import weights_expected

logger = logging.getLogger("kerashp")

PROJECT_NAME = "tuner"
OWNER_FILE = "kerashp_owner.json"  # {"study": name, "experiment": name or null}: whose directory this is
TENSORBOARD_DIR = "tensorboard"
FINGERPRINT_FILE = "kerashp_settings.json"
DEFINITION_FILE = "kerashp_definition.json"  # the named configurations' values and the search space trained
STUDY_FILE = "kerashp_study.json"
RUN_LOG_FILE = "kerashp_runs.jsonl"
PROGRESS_FILE = "kerashp_progress.json"
ERROR_LOG_FILE = "kerashp_errors.log"  # the tracebacks of failed trials
RUNG_FILE = "rung.json"
EPOCHS_FILE = "epochs.csv"
SEEDS_FILE = "seeds.csv"  # with --seeds N >= 2: every run's compared metrics and paired differences
REPORT_FILES = ("results.csv", "results.md", EPOCHS_FILE, SEEDS_FILE, "seeds.png", "learning_curves.png",
                "hyperparameters.png", "isolation.png", "top_trials.png", "pruned_curves.png",
                "parallel_coordinates.png", "history.png", "importance.png")


def project_dir(out: str | os.PathLike) -> pathlib.Path:
    """The KerasTuner project directory of a study directory."""
    return pathlib.Path(out) / PROJECT_NAME


def is_study_dir(out: str | os.PathLike) -> bool:
    """Whether `out` holds a study (its project directory with a study record or trials)."""
    project = project_dir(out)
    return project.is_dir() and ((project / STUDY_FILE).exists() or any(project.glob("trial_*")))


def experiment_dirs(out: str | os.PathLike) -> list[pathlib.Path]:
    """The study directories under `out`: `out` itself, or one per experiment."""
    out = pathlib.Path(out)
    if is_study_dir(out):
        return [out]
    return sorted(path for path in out.iterdir() if path.is_dir() and is_study_dir(path)) if out.is_dir() else []


def read_owner(out: str | os.PathLike) -> dict[str, Any] | None:
    """The study (`{"study": ..., "experiment": ...}`) that `out` belongs to, or None where
    kerashp wrote nothing there. A project written before the owner record existed is known
    by its study record; one with only a training fingerprint is kerashp's, of an unknown study."""
    project = project_dir(out)
    for name in (OWNER_FILE, STUDY_FILE):
        path = project / name
        if path.is_file():
            record = records.read_json(path)
            if not isinstance(record, dict) or not isinstance(record.get("study", record.get("name")), str):
                raise StudyError(f"{path} does not say which study {out} belongs to (damaged or replaced); "
                                         "restore it from a copy or choose another --out")
            return {"study": record.get("study", record.get("name")), "experiment": record.get("experiment")}
    if (project / FINGERPRINT_FILE).is_file():
        return {"study": None, "experiment": None}
    return report_owner(out)


REPORT_TITLE = re.compile(r"# ([A-Za-z0-9][A-Za-z0-9_.-]*): .*?(?:; experiment ([A-Za-z0-9][A-Za-z0-9_.-]*):|$)")


def report_owner(out: str | os.PathLike) -> dict[str, Any] | None:
    """The study whose report (results.md, its title line as kerashp writes it) a directory
    holds without its project: the committed results of a shipped study (`artifacts/<name>/`,
    whose run records are not committed) belong to that study."""
    path = pathlib.Path(out) / "results.md"
    try:
        with open(path, encoding="utf-8") as handle:
            first = handle.readline().rstrip("\n")
    except (OSError, UnicodeDecodeError):
        return None
    match = REPORT_TITLE.match(first)
    return {"study": match.group(1), "experiment": match.group(2)} if match else None


def write_owner(out: str | os.PathLike, study: str, experiment: str | None) -> None:
    """Records that `out` belongs to this study (before anything else of it is written), with
    the directory's id: made once, kept by every later run, new after `--overwrite`."""
    project = project_dir(out)
    project.mkdir(parents=True, exist_ok=True)
    record = {"study": study, "experiment": experiment, "id": directory_id(out) or uuid.uuid4().hex}
    records.write_json_atomic(project / OWNER_FILE, record)


def directory_id(out: str | os.PathLike) -> str | None:
    """The id `write_owner` gave a study directory (None: none yet, or written before ids)."""
    try:
        record = json.loads((project_dir(out) / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return None
    value = record.get("id") if isinstance(record, dict) else None
    return value if isinstance(value, str) else None


def outputs_in_the_way(out: str | os.PathLike, report_files: list[str]) -> list[str]:
    """What a study run in `out` would write over or delete, where kerashp did not write it
    (`out` has no owner): its project and TensorBoard directories, its report files."""
    out = pathlib.Path(out)
    names = [PROJECT_NAME, TENSORBOARD_DIR, *report_files]
    # An empty directory replaces nothing (a distributed worker that started before its chief
    # makes the project directory before the chief records whose it is).
    return [name for name in names if os.path.lexists(out / name)
            and not ((out / name).is_dir() and not (out / name).is_symlink()
                     and not any(path.is_file() or path.is_symlink() for path in (out / name).rglob("*")))]


def kerashp_written(out: str | os.PathLike, report_files: list[str]) -> list[pathlib.Path]:
    """The files and directories kerashp writes in a study directory it owns, as found
    there: the report files, the KerasTuner project's records and trials, the TensorBoard
    runs and HParams file. Anything else (a user's notes, a copy `trial_0001.bak`) is not
    among them."""
    out = pathlib.Path(out)
    found = [out / name for name in report_files if os.path.lexists(out / name)]
    project = project_dir(out)
    tensorboard = out / TENSORBOARD_DIR
    if project.is_dir():
        found += [entry for entry in project.iterdir()
                  if records.TRIAL_DIR.fullmatch(entry.name) or KERAS_TUNER_FILE.fullmatch(entry.name)
                  or (entry.name.startswith("kerashp_") and entry.suffix in (".json", ".jsonl", ".log"))]
    if tensorboard.is_dir():
        found += [entry for entry in tensorboard.iterdir()
                  if records.TRIAL_DIR.fullmatch(entry.name) or entry.name.startswith("events.out.tfevents.")]
    return found


KERAS_TUNER_FILE = re.compile(r"oracle\.json|tuner\d+\.json")  # the oracle's and each tuner's state


def rung_path(trial_dir: str | os.PathLike) -> pathlib.Path:
    return pathlib.Path(trial_dir) / RUNG_FILE


def read_rung_state(trial_dir: str | os.PathLike) -> dict[str, Any] | None:
    """A trial's `rung.json` (None where it has none: an unpruned search)."""
    path = rung_path(trial_dir)
    return records.read_json(path) if path.exists() else None


CHECKPOINT_DIR = "backup"  # a run's checkpoint, inside its execution directory
CHECKPOINT_MANIFEST = "training_metadata.json"  # names the committed checkpoint and its epoch


def trial_dir(project: str | os.PathLike, trial_id: str) -> pathlib.Path:
    """A trial's directory in the KerasTuner project (named as KerasTuner names it)."""
    return pathlib.Path(project) / f"trial_{trial_id}"


def execution_dir(project: str | os.PathLike, trial_id: str, index: int) -> pathlib.Path:
    """Run `index` (seed `--seed` + index) of a trial: its history, checkpoint, summary, weights."""
    return trial_dir(project, trial_id) / f"execution_{index}"


def checkpoint_dir(run_dir: str | os.PathLike) -> pathlib.Path:
    """A run's (or a pack's) checkpoint directory."""
    return pathlib.Path(run_dir) / CHECKPOINT_DIR


def tensorboard_run_name(trial_id: str, index: int, runs: int) -> str:
    """A run's TensorBoard run directory under `<out>/tensorboard/`."""
    return f"trial_{trial_id}" if runs == 1 else f"trial_{trial_id}_seed{index}"


def committed_epoch(checkpoint: str | os.PathLike) -> int:
    """The epoch a run resumes at from the checkpoint directory `checkpoint`: what its
    manifest names (0: none, or unreadable). The one reader of a checkpoint's epoch."""
    manifest = pathlib.Path(checkpoint) / CHECKPOINT_MANIFEST
    try:
        return int(json.loads(manifest.read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def checkpoint_epoch(run_dir: str | os.PathLike) -> int:
    """Epochs of a run's committed checkpoint (0: none, or unreadable)."""
    return committed_epoch(checkpoint_dir(run_dir))


@dataclasses.dataclass(frozen=True)
class RunState:
    """Where a run stands on disk, read in one call (`run_state`): what a resume decides by.

    Attributes:
        directory: the run directory.
        summary: its summary.json (None: the run has not finished a stage).
        committed_epoch: the epoch its checkpoint resumes at (0: none).
        missing_epochs: epochs the summary counts that its history lost (a row lost with
            an unflushed write: the run is trained again).
        final_weights: whether its final weights file is there.
    """

    directory: pathlib.Path
    summary: dict[str, Any] | None
    committed_epoch: int
    missing_epochs: tuple[int, ...]
    final_weights: bool

    def finished(self, stage: int) -> bool:
        """Whether the run holds its summary and final weights for `stage` epochs (a summary
        without the weights it says it kept, with a lost history row, or of an earlier rung
        is trained on); a diverged run is finished whatever its stage."""
        if self.summary is None:
            return False
        if weights_expected(self.summary) and not self.final_weights:
            return False
        if self.missing_epochs:
            return False
        return self.summary.get("diverged_epoch") is not None or self.summary.get("stage_epochs", stage) >= stage


def run_state(run_dir: str | os.PathLike) -> RunState:
    """A run's `RunState` (StudyError where its summary is not a summary)."""
    run_dir = pathlib.Path(run_dir)
    summary = records.read_summary(run_dir / records.SUMMARY_FILE)
    return RunState(run_dir, summary, checkpoint_epoch(run_dir),
                    tuple(records.missing_epochs(run_dir, summary)) if summary is not None else (),
                    (run_dir / records.FINAL_WEIGHTS_FILE).exists())


def ends_mid_line(path: pathlib.Path) -> bool:
    """True where a file's last line has no newline (cut by a kill)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) != b"\n"


def read_run_log(project: pathlib.Path) -> list[dict[str, Any]]:
    """The invocations recorded in the run log; a line cut by a kill is skipped."""
    path = pathlib.Path(project) / RUN_LOG_FILE
    if not path.exists():
        return []
    runs = []
    for line in path.read_text().splitlines():
        try:
            runs.append(json.loads(line))
        except json.JSONDecodeError:
            logger.warning("%s: skipped an unreadable line (a run killed while writing it)", path)
    return runs


def append_run(project: pathlib.Path, run: dict[str, Any]) -> None:
    """Records one invocation in the run log (one JSON line, flushed to disk)."""
    path = pathlib.Path(project) / RUN_LOG_FILE
    with open(path, "a") as log:
        log.write(("\n" if ends_mid_line(path) else "") + json.dumps(run) + "\n")
        log.flush()
        os.fsync(log.fileno())


def read_study(project: pathlib.Path) -> dict[str, Any] | None:
    """What the report needs of the study (`STUDY_FILE`), or None for a study
    written before that record existed."""
    path = pathlib.Path(project) / STUDY_FILE
    return records.read_json(path) if path.exists() else None


def write_study(project: pathlib.Path, description: dict[str, Any]) -> None:
    records.write_json_atomic(pathlib.Path(project) / STUDY_FILE, description)


def append_error(project: pathlib.Path, title: str, traceback: str) -> pathlib.Path:
    """Appends a failed trial's traceback to the project's error log; returns its path."""
    path = pathlib.Path(project) / ERROR_LOG_FILE
    with open(path, "a") as log:
        log.write(f"==== {title}\n{traceback.rstrip()}\n\n")
    return path


def read_progress(project: pathlib.Path) -> dict[str, Any] | None:
    """The progress record of the invocation running (or last run) in `project`."""
    path = pathlib.Path(project) / PROGRESS_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def write_progress(project: pathlib.Path, progress: dict[str, Any]) -> None:
    records.write_json_atomic(pathlib.Path(project) / PROGRESS_FILE, progress)
