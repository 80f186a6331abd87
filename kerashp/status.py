"""`kerashp status OUT`: where a study stands, read from its files alone (also
while it runs, in this process or another, on this machine or a worker's)."""

from __future__ import annotations

import os
import pathlib
import socket
import time

from kerashp.errors import StudyError
from kerashp.report import spec as report_spec
from kerashp.storage import layout, records
from kerashp.tuning.progress import duration

STALE_S = 600  # a progress record not updated for this long, of a process not seen alive: not running


def _alive(progress: dict) -> bool:
    if progress.get("state") != "running":
        return False
    if progress.get("host") == socket.gethostname():
        try:
            os.kill(int(progress["pid"]), 0)
            return True
        except (OSError, ValueError, KeyError):
            return False
    return time.time() - float(progress.get("updated", 0)) < STALE_S


def directory_status(out: pathlib.Path) -> str:
    """The status lines of one study directory."""
    project = layout.project_dir(out)
    trials = records.load_trials(project)
    spec = report_spec.load(project) or report_spec.ReportSpec(name=out.name)
    progress = layout.read_progress(project)
    total = spec.total
    counts = {"finished": 0, "running": 0, "failed": 0, "pruned": 0}
    running_lines = []
    for trial in trials:
        if trial.status == "RUNNING":
            counts["running"] += 1
            epoch = max((layout.checkpoint_epoch(e.directory) for e in trial.executions), default=0)
            epochs = max((len(e.history) for e in trial.executions), default=0)
            running_lines.append(f"  running: {trial.label()}, {max(epoch, epochs)} epoch(s) done")
        elif trial.status in ("FAILED", "INVALID"):
            counts["failed"] += 1
        elif trial.status == "COMPLETED":
            state = layout.read_rung_state(layout.trial_dir(project, trial.trial_id))
            if state and int(state.get("epochs", 0)) < int(state["rungs"][-1]):
                counts["pruned"] += 1  # stopped at a rung (pruned, or waiting for a decision)
            else:
                counts["finished"] += 1
    pending = max(total - len(trials), 0) if total else None
    objective, higher = spec.objective, spec.higher_is_better
    scores = []
    for trial in trials:
        if trial.status != "COMPLETED":
            continue
        values = [e.summary.get(f"best_{objective}") for e in trial.executions if e.summary]
        values = [v for v in values if v is not None]
        if values:
            scores.append((sum(values) / len(values), trial))
    title = spec.title
    lines = [f"{title} ({out})",
             f"  trials: {counts['finished']} finished, {counts['running']} running, "
             + (f"{pending} pending, " if pending is not None else "")
             + f"{counts['failed']} failed, {counts['pruned']} stopped at a rung"
             + (f" (of {total})" if total else "")]
    if scores:
        score, best = (max if higher else min)(scores, key=lambda item: item[0])
        lines.append(f"  best so far: {best.label()}, best {objective} {score:.4f}")
    lines += running_lines
    if progress:
        alive = _alive(progress)
        elapsed = (float(progress["updated"]) if not alive else time.time()) - float(progress["started"])
        durations = progress.get("trial_durations_s") or []
        left = ""
        if alive and durations and total:
            remaining = max(total - counts["finished"] - counts["failed"] - counts["pruned"], 0)
            left = f", about {duration(remaining * sum(durations) / len(durations))} left"
        state = "running" if alive else progress.get("state", "stopped")
        if state == "running" and not alive:
            state = "stopped without a word (killed?)"
        lines.append(f"  invocation: {state} (pid {progress.get('pid')} on {progress.get('host')}), "
                     f"elapsed {duration(elapsed)}{left}")
    runs = layout.read_run_log(project)
    if runs:
        lines.append(f"  invocations recorded: {len(runs)}, {sum(r.get('wall_s', 0) for r in runs):.0f} s in all")
    return "\n".join(lines)


def study_status(out: str | os.PathLike) -> str:
    """The status of a study directory (each experiment's), as text."""
    out = pathlib.Path(out)
    directories = layout.experiment_dirs(out)
    if not directories:
        raise StudyError(f"{out} holds no kerashp study (no {layout.PROJECT_NAME}/ with trials)")
    return "\n".join(directory_status(path) for path in directories)
