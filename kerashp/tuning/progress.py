"""How far a run is: one log line per trial, and a progress record on disk that
`kerashp status` reads (also from another process, also for a distributed run)."""

from __future__ import annotations

import logging
import os
import pathlib
import socket
import time
from typing import Any, Iterable

from kerashp.storage import layout

logger = logging.getLogger("kerashp")

WRITE_INTERVAL_S = 2.0  # the progress record is rewritten at most this often within a trial


def duration(seconds: float) -> str:
    """12 s, 3 min 05 s, 2 h 07 min."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    """Counts the trials of one invocation and says where it stands.

    A trial counts once: in a pruned search a trial ends again at each rung it is
    promoted to, and those ends are logged as promotions, not as further trials.

    Args:
        project: the KerasTuner project directory (the record goes there).
        total: trials the study has when done (None: unknown).
        done: trials already finished when this invocation began.
        finished: their ids, where known (a promotion of one of them is not counted again).
    """

    def __init__(self, project: pathlib.Path, total: int | None, done: int, finished: Iterable[str] = ()):
        self.project = pathlib.Path(project)
        self.total = total
        self.done_before = done
        self.done = done
        self.counted: set[str] = set(finished)
        self.started = time.time()
        self.trial_started: float | None = None
        self.trial_durations: list[float] = []
        self.trial_id: str | None = None
        self.trial_name: str = ""
        self.epoch: int | None = None
        self.epochs: int | None = None
        self._written = 0.0
        self.write(state="running", force=True)

    def position(self) -> str:
        return f"{self.done} of {self.total}" if self.total else f"{self.done}"

    def time_left_s(self) -> float | None:
        """The trials left at this invocation's pace so far (promotions and the time
        between trials included)."""
        finished_here = self.done - self.done_before
        if not self.total or finished_here <= 0:
            return None
        return max(self.total - self.done, 0) * (time.time() - self.started) / finished_here

    def trial_begins(self, trial_id: str, name: str, epochs: int) -> None:
        self.trial_id, self.trial_name, self.epoch, self.epochs = trial_id, name, None, epochs
        self.trial_started = time.time()
        self.write(force=True)

    def epoch_ends(self, epoch: int) -> None:
        """`epoch` epochs of the current run are finished."""
        self.epoch = epoch
        self.write()

    def trial_ends(self, trial_id: str, outcome: str) -> None:
        """Logs one line: trial k of n (or the promotion of a trial counted before), its
        outcome, elapsed and time left."""
        if self.trial_started is not None:
            self.trial_durations.append(time.time() - self.trial_started)
        first = trial_id not in self.counted
        if first:
            self.counted.add(trial_id)
            self.done += 1
        left = self.time_left_s()
        where = (f"trial {self.done} of {self.total or '?'} ({trial_id})" if first
                 else f"trial {trial_id}, promoted ({self.position()} trials done)")
        logger.info("%s: %s; elapsed %s%s", where, outcome, duration(time.time() - self.started),
                    f", about {duration(left)} left" if left is not None and self.done < (self.total or 0) else "")
        self.trial_id, self.trial_started, self.epoch = None, None, None
        self.write(force=True)

    def where(self) -> str:
        """Where the run stands, for the interruption line."""
        if self.trial_id is None:
            return f"between trials; {self.position()} done"
        epoch = f", epoch {(self.epoch or 0) + 1}/{self.epochs}" if self.epochs else ""
        return f"in trial {self.trial_id}{epoch}; {self.position()} done"

    def write(self, state: str = "running", force: bool = False) -> None:
        now = time.time()
        if not force and now - self._written < WRITE_INTERVAL_S:
            return
        self._written = now
        record: dict[str, Any] = {
            "state": state, "pid": os.getpid(), "host": socket.gethostname(), "started": self.started,
            "updated": now, "total": self.total, "done": self.done, "done_before": self.done_before,
            "trial": self.trial_id, "trial_name": self.trial_name, "epoch": self.epoch, "epochs": self.epochs,
            "trial_durations_s": self.trial_durations[-50:],
        }
        try:
            layout.write_progress(self.project, record)
        except OSError as error:  # progress is informative: never fail a run over it
            logger.debug("progress record not written: %s", error)

    def close(self, state: str) -> None:
        """`state`: "finished", "interrupted" or "failed"."""
        self.write(state=state, force=True)
