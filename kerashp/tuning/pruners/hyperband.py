"""Hyperband (Li et al., 2018), asynchronously: ASHA in several brackets, as in
Ray Tune's AsyncHyperBand.

Bracket b starts its trials at rung b, so the less aggressive brackets hedge
against a low rung misjudging slow starters. New trials go to the brackets in
Hyperband's proportions, in a fixed interleaved order (`Rungs.bracket_of`).
"""

from __future__ import annotations

from kerashp.tuning.pruners.asha import ASHA


class Hyperband(ASHA):
    """ASHA within each of Hyperband's brackets."""

    name = "hyperband"

    @classmethod
    def default_min_epochs(cls, eta: int, max_epochs: int) -> int:
        return 1  # the brackets already start trials at each longer rung

    def bracket(self, index: int) -> int:
        return self.rungs.bracket_of(index)
