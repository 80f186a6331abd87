"""What a finished trial keeps on disk: `--keep-weights all|best|none`.

Each finished run may keep `final.weights.h5` (its model when it ended); a run
stopped at a pruning rung also keeps its checkpoint (`backup/`, weights and
optimizer state) so that a promotion can go on from it. At ~1-12 MiB a run,
a 23,328-point grid would need tens to hundreds of GiB, so:

- "all": every run keeps its final weights (the default of `--search configs`);
- "best": only the runs of the best fully trained trial so far keep them (the
  default of a search); a trial that is overtaken loses its weights, and a run
  stopped at a rung writes none (its checkpoint holds them);
- "none": no run keeps them.

With "best" and "none", the checkpoints and weights of trials stopped at a rung
are removed once the search has finished (no trial can be promoted any more).
A run's summary records `"weights_kept": false` before its weights go, so a
run without weights is still a finished run; a trial promoted after its
checkpoint went (a later `--trials` extension) trains again from its first
epoch, with the same numbers.

With `--restore-best-weights` a run also holds the weights of its best epoch so
far (`best-epoch-NNNN.weights.h5`, see `kerashp.tuning.best_epoch`) while it
trains and, stopped at a rung, until it is promoted or the search ends; its
`final.weights.h5` are then those of its best epoch.
"""

from __future__ import annotations

import logging
import math
import pathlib
import shutil

from kerashp.storage import records

logger = logging.getLogger("kerashp")

KEEP_WEIGHTS = ("all", "best", "none")
WEIGHTS_KEPT = "weights_kept"  # summary key; absent means kept


def weights_expected(summary: dict | None) -> bool:
    """Whether a run's summary says its final weights were kept."""
    return bool(summary is None or summary.get(WEIGHTS_KEPT, True))


BEST_EPOCH_GLOB = "best-epoch-*.weights.h5"


def best_epoch_weights_path(directory: pathlib.Path, epoch: int) -> pathlib.Path:
    """Where `--restore-best-weights` keeps a run's weights of epoch `epoch` (1-based)
    while the run may still need them."""
    return pathlib.Path(directory) / f"best-epoch-{epoch:04d}.weights.h5"


def remove_best_epoch_weights(directory: pathlib.Path, keep: int | None = None) -> int:
    """Removes a run's best-epoch weights files but that of epoch `keep`; the bytes freed."""
    directory = pathlib.Path(directory)
    kept = best_epoch_weights_path(directory, keep) if keep is not None else None
    freed = 0
    # With the partial files a kill mid-write leaves behind.
    for path in [*directory.glob(BEST_EPOCH_GLOB), *directory.glob(f"partial-{BEST_EPOCH_GLOB}")]:
        if path != kept:
            freed += path.stat().st_size
            path.unlink()
    return freed


def strip_run(directory: pathlib.Path, checkpoint: bool = False) -> int:
    """Removes a finished run's final weights (and with `checkpoint` its `backup/`),
    recording it in its summary first. Returns the bytes freed."""
    summary_path = directory / records.SUMMARY_FILE
    summary = records.read_summary(summary_path)
    if summary is None:
        return 0
    freed = 0
    weights = directory / records.FINAL_WEIGHTS_FILE
    if weights_expected(summary):
        records.write_json_atomic(summary_path, {**summary, WEIGHTS_KEPT: False})
    if weights.exists():
        freed += weights.stat().st_size
        weights.unlink()
    backup = directory / "backup"
    if checkpoint and backup.is_dir():
        freed += sum(path.stat().st_size for path in backup.rglob("*") if path.is_file())
        shutil.rmtree(backup)
    if checkpoint:  # a pruned run's best epoch so far, kept for its promotion
        freed += remove_best_epoch_weights(directory)
    return freed


def strip_trial(trial_dir: pathlib.Path, checkpoint: bool = False) -> int:
    """`strip_run` on every run of a trial."""
    return sum(strip_run(directory, checkpoint) for _, directory in records.execution_dirs(trial_dir))


class WeightsPolicy:
    """Applies `--keep-weights` as trials finish (one process's view).

    Args:
        mode: "all", "best" or "none".
        project_dir: the tuner directory (`<out>/tuner`).
        higher_is_better: the objective's direction.
    """

    def __init__(self, mode: str, project_dir: pathlib.Path, higher_is_better: bool = True):
        if mode not in KEEP_WEIGHTS:
            raise ValueError(f"keep_weights must be one of {', '.join(KEEP_WEIGHTS)}, got {mode!r}")
        self.mode, self.project_dir, self.higher_is_better = mode, pathlib.Path(project_dir), higher_is_better
        self.best: tuple[str, float] | None = None

    def saves_final_weights(self, full_length: bool = True) -> bool:
        """Whether a run that has just ended writes its final weights: not with "none";
        with "best", only a run trained to its full length (a run stopped at a rung holds
        the same weights in its checkpoint, for a promotion, until the search ends)."""
        return self.mode == "all" or (self.mode == "best" and full_length)

    def _better(self, score: float, than: float) -> bool:
        return score > than if self.higher_is_better else score < than

    def trial_dir(self, trial_id: str) -> pathlib.Path:
        return self.project_dir / f"trial_{trial_id}"

    def start(self, completed: list[tuple[str, float | None]]) -> None:
        """On a resumed run, the best so far among the completed trials (id, score) that
        trained to their full length (no run holds a rung checkpoint) and still hold weights."""
        if self.mode != "best":
            return
        for trial_id, score in completed:
            runs = [run for _, run in records.execution_dirs(self.trial_dir(trial_id))]
            full = not any((run / "backup").is_dir() for run in runs)
            held = any((run / records.FINAL_WEIGHTS_FILE).exists() for run in runs)
            if full and held and score is not None and math.isfinite(score) and (
                    self.best is None or self._better(score, self.best[1])):
                self.best = (trial_id, score)

    def trial_finished(self, trial_id: str, score: float | None) -> None:
        """A trial trained to its full length: keep its weights only while it is the best."""
        if self.mode != "best":
            return
        if score is None or not math.isfinite(score):
            strip_trial(self.trial_dir(trial_id))
            return
        if self.best is None or self._better(score, self.best[1]):
            if self.best is not None and self.best[0] != trial_id:
                strip_trial(self.trial_dir(self.best[0]))
            self.best = (trial_id, score)
        elif self.best[0] != trial_id:
            strip_trial(self.trial_dir(trial_id))

    def search_finished(self) -> int:
        """Every trial is done: runs still holding a rung checkpoint were pruned for good,
        so (unless "all") their checkpoints and weights go. Returns the bytes freed."""
        if self.mode == "all":
            return 0
        runs = [run for trial_file in records.trial_files(self.project_dir)
                for _, run in records.execution_dirs(trial_file.parent)]
        freed = sum(strip_run(run, checkpoint=True) for run in runs if (run / "backup").is_dir())
        if freed:
            logger.info("removed the checkpoints of the pruned trials (%.1f MiB; --keep-weights %s)",
                        freed / 2**20, self.mode)
        return freed
