"""Asynchronous successive halving (ASHA; Li et al., 2020).

Whenever a worker asks for work, the best trial that stands at rung k, is among
the top `floor(n / eta)` of the n trials that reached rung k, and has not been
promoted yet, is promoted (top rung first); otherwise a new configuration
starts at rung 0. Nothing waits for a rung to fill, so it runs the same on one
process or many workers.
"""

from __future__ import annotations

from typing import Sequence

from kerashp.tuning.pruners.base import Pruner, RungBook


class ASHA(Pruner):
    """Asynchronous successive halving, in the brackets `bracket` assigns (one for ASHA)."""

    name = "asha"
    # The first rung when none is given, where the longest trial has room for it and one rung
    # more (3 x eta epochs): one epoch ranks table A's grid with Spearman 0.85, three with 0.94
    # (artifacts/benchmarks/fidelity), and over 100 replayed seeds ASHA from 3 epochs, tested at
    # each run's best epoch, reached the target in 0.61 of the time ASHA from one epoch took
    # (artifacts/benchmarks/replay; that race's seeds were dependent, so it is being replayed:
    # docs/performance.md).
    LONG_FIRST_RUNG = 3

    @classmethod
    def default_min_epochs(cls, eta: int, max_epochs: int) -> int:
        return cls.LONG_FIRST_RUNG if max_epochs >= cls.LONG_FIRST_RUNG * eta else 1

    def choose(self, book: RungBook, trials: Sequence, busy: set[str]):
        brackets: dict[int, list] = {}
        for trial in trials:
            brackets.setdefault(book.bracket_of(trial), []).append(trial)
        for bracket in sorted(brackets):
            members = brackets[bracket]
            for rung in range(max(len(book.trial_rungs(t)) for t in members) - 2, -1, -1):
                pool = book.at_rung(members, rung)
                quota = len(pool) // self.rungs.eta
                ranked = sorted(pool, key=lambda t: (-book.score_at(t, rung), int(t.trial_id)))
                for trial in ranked[:quota]:
                    if trial.trial_id not in busy and book.promotable(trial, rung):
                        return trial, rung + 1
        return None
