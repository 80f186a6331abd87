"""The median stopping rule (Golovin et al., 2017).

A trial at rung k trains on unless its objective there is worse than the median
of the other trials that reached rung k (always while fewer than
`MEDIAN_MIN_TRIALS` have).
"""

from __future__ import annotations

import statistics
from typing import Sequence

from kerashp.tuning.pruners.base import Pruner, RungBook

MEDIAN_MIN_TRIALS = 3  # the rule stops trials only once this many other trials reached the rung


class MedianStopping(Pruner):
    """Stops a trial below the median of its rung; promotes the others one rung at a time."""

    name = "median"

    def choose(self, book: RungBook, trials: Sequence, busy: set[str]):
        for trial, rung in book.can_train_on(trials, busy):
            others = [book.score_at(other, rung) for other in book.at_rung(trials, rung)
                      if other.trial_id != trial.trial_id]
            if len(others) >= MEDIAN_MIN_TRIALS:
                median = statistics.median(others)
                if book.score_at(trial, rung) < median:
                    book.stop(trial, f"below the median of the {len(others)} other trials at rung {rung} "
                                     f"({book.trial_rungs(trial)[rung]} epochs)")
                    continue
            return trial, rung + 1
        return None
