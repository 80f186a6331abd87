"""The search race replayed on a recorded learning-curve table: each library's real search
code, many seeds, a simulated clock (prints and writes; never asserts).

    pip install -e ".[bench]"      # optuna, the peer (KerasTuner is a dependency already)
    python benchmarks/replay.py run --table artifacts/benchmarks/curves_fashion_mlp/table.csv.gz \\
        --seeds 100 --horizon-minutes 60 --work ~/.cache/kerashp/replay/A     # resumable: rerun to go on
    python benchmarks/replay.py summarize --work ~/.cache/kerashp/replay/A --table-name A \\
        --out artifacts/benchmarks/replay
    # the confirming real searches (two 10-minute searches a library on table A's space), then:
    python benchmarks/peers.py --data file:../shared/datasets/fashion-mnist --space table-a --budget-minutes 10 \\
        --repetitions 2 --searches kerashp-asha-r3-best,keras-tuner,optuna --out ~/.cache/kerashp/confirm/A
    python benchmarks/replay.py confirm --work ~/.cache/kerashp/replay/A --peers ~/.cache/kerashp/confirm/A \\
        --out artifacts/benchmarks/replay

How (as Syne Tune's simulator backend and HPOBench do it): training is replaced by look-ups
in a table recorded by kerashp itself (`benchmarks/curves_fashion_mlp.py`: every point of a
grid trained 40 epochs at a constant learning rate, the validation and test accuracy and
the seconds of every epoch). Each search runs its library's own decision code unchanged; a
run's results arrive on a simulated clock at its start plus the table's seconds for the
epochs it trains, plus the library's measured time outside the epochs per trial
(`OVERHEAD_S`, from benchmarks/peers.py's 20-minute searches here), plus the real time the
library's own code took between two runs (its decisions and its bookkeeping, measured in
CPU seconds of the replaying process, so that a shared machine does not inflate them).
An epoch's seconds are the median of that epoch over the points that share the
hyperparameters setting its cost (`--cost-by`, for table A the layers, batch norm and the
optimizer): table A was recorded partly beside other work, and one of its points holds an
hour of a paused process in one epoch. `--seconds-from` takes those medians from a few points
per group recorded on an idle machine instead (for table A, its 12 groups:
`benchmarks/curves_fashion_mlp.py ... --part
dropout_1=0.1,dropout_2=0.1,learning_rate=0.001,momentum=0.9,init=xavier_uniform --out
.../calibration`, about 7 minutes, then `curves.py export`).

- `kerashp-*`: `kerashp.tuning.runner.run_study` itself, with the executor (`KerasRuns`)
  replaced by `TableRuns`, which answers a run of epochs a..b from the table and writes
  the records a trained run writes; the oracle, the proposers, the pruners, promotions,
  `--max-minutes` (on the simulated clock) and the pick (`kerashp.report.tables.pick`, what
  `Results.best` returns) are the code users run. `kerashp-asha-r3-best` (`--search random
  --prune asha`: with kerashp's defaults, a first rung of 3 epochs on table A's 40-epoch
  trials and each run tested at its best epoch) is kerashp's default search and the `default`
  row; `kerashp-asha` (a first rung of 1 epoch, each run tested at its last) was the default
  until the race at 100 seeds, and stays in the race.
  Opt-in beside the race (`--searches`): `kerashp-optuna-tpe` (Optuna's TPE as the
  proposer) and the levers of the default, `kerashp-asha-r2`/`-r3` (a first rung of 2 or 3
  epochs), `kerashp-asha-best`, `kerashp-hyperband-best` (`--restore-best-weights`: the
  pick tested at the epoch it is ranked by), `kerashp-asha-promote` and
  `kerashp-asha-best-promote` (`--when-exhausted promote`: the budget left once the grid was
  tried whole goes to the best trials, beyond ASHA's quota), `kerashp-tpe-best` and
  `kerashp-tpe-best-promote` (the same with kerashp's TPE proposing), `kerashp-asha-r3-best` and
  `kerashp-tpe-r3-best` (a first rung of 3 epochs with the best epoch's weights).
- `keras-tuner`: `keras_tuner.Hyperband(max_epochs=40, factor=3)`'s real oracle and search
  loop, with a `run_trial` that answers from the table. A trial that continues another
  (`tuner/initial_epoch` > 0) continues the same curve from the epoch it stopped at (the
  real one loads the earlier trial's best-epoch checkpoint: where that was not its last
  epoch, the replay's continuation is slightly ahead of the real one). Its pick
  (`oracle.get_best_trials(1)`, the model loaded by `get_best_models`) is tested at the
  trial's best epoch, as the checkpoint it loads.
- `optuna`: `TPESampler(seed)` with `HyperbandPruner(min_resource=1, max_resource=40,
  reduction_factor=3)` through ask/tell, each epoch reported; the trial's value is its best
  validation accuracy (as benchmarks/peers.py's objective returns); its pick is
  `study.best_trial` (complete trials only), tested on its final epoch.

Metric (per search and seed): q(t), the test accuracy of the configuration the search
would return at simulated time t by its own rule (`NO_PICK` before it has one). Target tau:
the test accuracy of the point exhaustive grid search picks by validation (kerashp's rule:
best validation accuracy over the run; the epochs choices 20/30/40 are prefixes of one
curve), minus 0.003 (and 0.005, 0.01). T: the first time q(t) >= tau (censored at the
horizon: infinite). R = median T of kerashp's default search / the smallest median T of
the peers, with a 10,000-resample bootstrap 95% interval; the A/A check compares seeds 0-99
of kerashp's default search with seeds 100-199 of the same search (it must not "pass":
R <= 0.5 with an interval below 1). Anytime curves: the interquartile mean of q(t) over
seeds with a bootstrap 95% band.

Levers (set before their replays; `beats`): a kerashp search beats the default where its
median T over the default's (`R_vs_default`, the same bootstrap) has an interval below 1 and
its IQM q is not below the default's at 2, 5, 10 or 20 minutes (the 95% interval of
default - this below 0.001). Of those that beat it, the one with the smallest median T
becomes the default (the fewest changed settings where their intervals overlap), and the
race is then replayed at 100 seeds with it.

Confirmation (`confirm`): real searches of each library on table A's space and data
(`benchmarks/peers.py --space table-a`, which records each search's q(t) as it runs) must lie
inside the 5-95% band of the same search's replayed q(t) at 80% or more of the time points
(every 10 s of their budget); where one does not, the simulation is wrong and is fixed before
any verdict.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import math
import os
import pathlib
import shutil
import sys
import time
from typing import Any, Callable

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NO_PICK = 0.1  # q(t) before a search has a pick: a guess among 10 classes
TAU_MARGINS = (0.003, 0.005, 0.01)
REPORT_MINUTES = (2, 5, 10, 20)
DEFAULT_SEARCH = "kerashp-asha-r3-best"
ETA = 3
# Seconds outside the training epochs per trial (and per ASHA promotion), (min, max) measured by
# benchmarks/peers.py on this table's data (artifacts/benchmarks/peers, 2026-12-06, 2 CPU cores).
OVERHEAD_S = {"kerashp": (0.32, 0.43), "keras-tuner": (1.5, 2.2), "optuna": (0.8, 1.2)}
# What --restore-best-weights adds to a kerashp run (benchmarks/best_epoch_cost.py on table A's
# models, 2026-12-07, this machine beside the recording: means over the four models): a save of
# the weights at each epoch that improves the objective, a load for the test pass of a run
# whose best epoch is not its last.
BEST_EPOCH_SAVE_S, BEST_EPOCH_LOAD_S = 0.018, 0.025
# Each kerashp search spells out every setting a lever changes, so that a name keeps its meaning
# when kerashp's defaults change (`_PLAIN`: the values before any lever).
_PLAIN = {"min_epochs": 1, "restore_best_weights": False, "when_exhausted": "stop"}


def _search(**options: Any) -> dict[str, Any]:
    return {**_PLAIN, **options}


KERASHP_SEARCHES = {
    "kerashp-asha": _search(search="random", prune="asha"),
    "kerashp-hyperband": _search(search="hyperband"),
    "kerashp-tpe": _search(search="tpe", prune="asha"),
    # Optuna's TPESampler as kerashp's proposer: the replay that decides whether kerashp's own
    # TPE (kerashp/tuning/tpe.py) is retired (opt-in: each proposal rebuilds Optuna's view of
    # every trial, so a seed costs more than the others').
    "kerashp-optuna-tpe": _search(search="optuna-tpe", prune="asha"),
    # Levers of the default (opt-in): the first rung's length (one epoch ranks table A's grid
    # with Spearman 0.847, three with 0.938: artifacts/benchmarks/fidelity), and Optuna's TPE
    # proposing under ASHA (above).
    "kerashp-asha-r2": _search(search="random", prune="asha", min_epochs=2),
    "kerashp-asha-r3": _search(search="random", prune="asha", min_epochs=3),
    # The pick: a run is ranked by its best epoch but, by default, returned (and tested) at its
    # last; with --restore-best-weights the model returned is the one ranked (as KerasTuner's
    # get_best_models loads the best epoch's checkpoint).
    "kerashp-asha-best": _search(search="random", prune="asha", restore_best_weights=True),
    "kerashp-hyperband-best": _search(search="hyperband", restore_best_weights=True),
    # Once every configuration was tried (a finite grid), train the best trials on beyond ASHA's
    # quota instead of stopping (--when-exhausted promote): on a 144-point part of table A the
    # default stopped after about 4 of 60 simulated minutes.
    "kerashp-asha-promote": _search(search="random", prune="asha", when_exhausted="promote"),
    "kerashp-asha-best-promote": _search(search="random", prune="asha", when_exhausted="promote",
                                         restore_best_weights=True),
    # The pick and the budget's rest with kerashp's TPE proposing (it reached the target first of
    # kerashp's searches in the dry runs).
    "kerashp-tpe-best": _search(search="tpe", prune="asha", restore_best_weights=True),
    "kerashp-tpe-best-promote": _search(search="tpe", prune="asha", when_exhausted="promote",
                                        restore_best_weights=True),
    # The first rung's length again, with the pick tested at its ranked epoch (the first dry run's
    # longer first rungs picked runs that had peaked early and tested them at their last epoch).
    "kerashp-asha-r3-best": _search(search="random", prune="asha", min_epochs=3, restore_best_weights=True),
    "kerashp-tpe-r3-best": _search(search="tpe", prune="asha", min_epochs=3, restore_best_weights=True),
}
# Table A's epoch cost: the layers, batch norm and the optimizer's state (--cost-by).
COST_BY = ("hidden", "batch_norm", "optimizer")
# The default race: kerashp's default search, kerashp's searches before it (kerashp-asha was the
# default until the race at 100 seeds), and the peers.
SEARCHES = (DEFAULT_SEARCH, "kerashp-asha", "kerashp-hyperband", "kerashp-tpe", "keras-tuner", "optuna")
# Table columns that are not hyperparameters (benchmarks/curves.py's export).
NOT_HYPERPARAMETERS = {"source", "trial", "seed", "epoch", "epochs", "accuracy", "loss", "val_accuracy", "val_loss",
                       "test_accuracy", "test_loss", "epoch_seconds", "train_seconds", "test_seconds",
                       "images_per_second"}


def library(search: str) -> str:
    return "kerashp" if search.startswith("kerashp") else search


def overhead(search: str, level: str) -> float:
    low, high = OVERHEAD_S[library(search)]
    return {"min": low, "max": high, "mid": (low + high) / 2}[level]


def _plain(value: Any) -> Any:
    """A hyperparameter value as the searches hand it back (bool, float or str)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    return str(value)


@dataclasses.dataclass
class CurveTable:
    """A learning-curve table: per grid point (its hyperparameter values) the validation
    and test accuracy and the seconds of each epoch, epochs 1..`max_epochs`.

    Attributes:
        space: each hyperparameter's values, in the table's order.
        val, test, seconds: by point key, arrays of `max_epochs` values.
        epoch_choices: the `epochs` values a search may choose (prefixes of one curve).
    """

    space: dict[str, list]
    val: dict[tuple, np.ndarray]
    test: dict[tuple, np.ndarray]
    seconds: dict[tuple, np.ndarray]
    max_epochs: int
    epoch_choices: tuple[int, ...]

    @classmethod
    def from_frame(cls, frame, epoch_choices: tuple[int, ...] | None = None,
                   cost_by: tuple[str, ...] = (), where: tuple[tuple[str, str], ...] = (),
                   seconds_from=None) -> "CurveTable":
        """From `benchmarks/curves.py export`'s rows: one training seed (the first row's), from
        every source that recorded a part of it; a point recorded twice counts once (its
        first source's run).

        `cost_by` names the hyperparameters that set what an epoch costs (e.g. the layers, batch
        norm, the optimizer; not the learning rate). Given, a point's k-th epoch takes the
        median seconds of the k-th epochs of every point that shares those values, instead of
        its own: a table recorded on a machine shared with other work (or paused) holds epochs
        slowed by what ran beside them, and a search must not be rewarded for avoiding them.

        `seconds_from` (with `cost_by`): another table's rows whose seconds are used instead, the
        median of each epoch over its points of each cost group: a few points per group recorded
        on an idle machine calibrate the clock of a table recorded beside other work.

        `where` keeps the rows whose hyperparameters have these values ((name, value as
        written), e.g. a part of the grid). The points kept must be a whole grid: a search
        draws from the product of the values it sees, and would draw points the table lacks.
        """
        for name, text in where:
            if name not in frame or name in NOT_HYPERPARAMETERS:
                raise SystemExit(f"--where {name}={text}: {name} is not one of the table's hyperparameters")
            frame = frame[frame[name].map(lambda value: str(_plain(value)) in (text, str(_plain(_parse(text)))))]
            if not len(frame):
                raise SystemExit(f"--where {name}={text}: no row of the table has that value")
        if "seed" in frame:
            frame = frame[frame["seed"] == frame["seed"].iloc[0]]
        names = [column for column in frame.columns if column not in NOT_HYPERPARAMETERS]
        if "source" in frame:
            first = frame.groupby(names, sort=False)["source"].transform("first")
            frame = frame[frame["source"] == first]
        max_epochs = int(frame["epoch"].max())
        space = {name: sorted({_plain(v) for v in frame[name]}, key=lambda v: (str(type(v)), v)) for name in names}
        val, test, seconds = {}, {}, {}
        for values, rows in frame.groupby(names, sort=False):
            rows = rows.sort_values("epoch")
            if len(rows) != max_epochs or list(rows["epoch"]) != list(range(1, max_epochs + 1)):
                continue  # a run in flight when the table was exported
            key = tuple(_plain(v) for v in (values if isinstance(values, tuple) else (values,)))
            val[key] = rows["val_accuracy"].to_numpy(float)
            test[key] = rows["test_accuracy"].to_numpy(float)
            seconds[key] = rows["epoch_seconds"].to_numpy(float)
        if not val:
            raise SystemExit("the table holds no point with every epoch")
        space = {name: [v for v in values if any(key[i] == v for key in val)]
                 for i, (name, values) in enumerate(space.items())}
        grid = math.prod(len(values) for values in space.values())
        if len(val) != grid:
            raise SystemExit(f"the table holds {len(val)} whole runs of the {grid} points its values span: a search "
                             "would draw points it lacks; export the whole table, or replay a whole part of it "
                             "(--where NAME=VALUE,...)")
        if cost_by:
            unknown = sorted(set(cost_by) - set(names))
            if unknown:
                raise SystemExit(f"--cost-by: {', '.join(unknown)} not among the table's hyperparameters "
                                 f"({', '.join(names)})")
            positions = [names.index(name) for name in cost_by]
            groups: dict[tuple, list[np.ndarray]] = {}
            for key, row in seconds.items():
                groups.setdefault(tuple(key[i] for i in positions), []).append(row)
            medians = {group: np.median(np.stack(rows), axis=0) for group, rows in groups.items()}
            if seconds_from is not None:
                medians = _calibrated(seconds_from, cost_by, set(medians), max_epochs)
            seconds = {key: medians[tuple(key[i] for i in positions)] for key in seconds}
        elif seconds_from is not None:
            raise SystemExit("--seconds-from needs --cost-by: the hyperparameters whose groups it calibrates")
        return cls(space, val, test, seconds, max_epochs, tuple(epoch_choices or (max_epochs,)))

    @classmethod
    def load(cls, spec: "TableSpec") -> "CurveTable":
        import pandas as pd

        calibration = pd.read_csv(spec.seconds_from) if spec.seconds_from else None
        return cls.from_frame(pd.read_csv(spec.path), spec.epoch_choices, spec.cost_by, spec.where, calibration)

    @property
    def names(self) -> list[str]:
        return list(self.space)

    def key(self, values: dict[str, Any]) -> tuple:
        return tuple(_plain(values[name]) for name in self.names)

    def declare(self, hp) -> None:
        """Declares the table's hyperparameters in a KerasTuner `HyperParameters` (both kerashp's
        and KerasTuner's searches draw from it)."""
        for name, values in self.space.items():
            if all(isinstance(v, bool) for v in values):
                hp.Boolean(name)
            else:
                hp.Choice(name, values)

    def grid_pick_test(self) -> float:
        """The test accuracy of exhaustive grid search's pick: every point and epochs choice,
        ranked by best validation accuracy over its epochs (kerashp's rule; a tie goes to the
        first in grid order, shorter runs first), tested on its final epoch."""
        best = None
        for key in self.val:
            for epochs in self.epoch_choices:
                score = float(self.val[key][:epochs].max())
                if best is None or score > best[0]:
                    best = (score, float(self.test[key][epochs - 1]))
        return best[1]


def _calibrated(frame, cost_by: tuple[str, ...], groups: set[tuple], max_epochs: int) -> dict[tuple, np.ndarray]:
    """Per cost group, the median seconds of each epoch 1..`max_epochs` over `frame`'s points
    of that group; a group of the table that `frame` lacks (or an epoch) is one line."""
    missing = sorted(set(cost_by) - set(frame.columns))
    if missing:
        raise SystemExit(f"--seconds-from: the table lacks {', '.join(missing)}")
    medians = {}
    for values, rows in frame.groupby(list(cost_by), sort=False):
        group = tuple(_plain(v) for v in (values if isinstance(values, tuple) else (values,)))
        by_epoch = rows.groupby("epoch")["epoch_seconds"].median()
        if set(range(1, max_epochs + 1)) <= set(by_epoch.index):
            medians[group] = by_epoch.loc[1:max_epochs].to_numpy(float)
    lacking = sorted(groups - set(medians), key=str)
    if lacking:
        raise SystemExit(f"--seconds-from: no point with all {max_epochs} epochs for "
                         f"{', '.join(f'{cost_by}={group}' for group in lacking)}")
    return medians


def _assignment(item: str) -> tuple[str, str]:
    """`--where`'s "NAME=VALUE" as (name, value); a one-line error otherwise."""
    name, equals, value = item.strip().partition("=")
    if not equals or not name or not value:
        raise SystemExit(f"--where {item.strip()!r}: expected NAME=VALUE")
    return name, value


def _parse(text: str) -> Any:
    """A value written on the command line as the table's cells hold it (a number where it is one)."""
    try:
        return float(text)
    except ValueError:
        return {"True": True, "False": False}.get(text, text)


@dataclasses.dataclass(frozen=True)
class TableSpec:
    """Which table a replay reads, and how: the file, the `epochs` a search may choose, the
    hyperparameters that set an epoch's cost, the part of the grid kept and the table the
    epochs' seconds come from (see `CurveTable.from_frame`). Saved in the work directory: a
    rerun with another spec is refused."""

    path: str
    epoch_choices: tuple[int, ...]
    cost_by: tuple[str, ...] = ()
    where: tuple[tuple[str, str], ...] = ()
    seconds_from: str | None = None

    def load(self) -> CurveTable:
        """The table (read once per process)."""
        if self not in _TABLES:
            _TABLES[self] = CurveTable.load(self)
        return _TABLES[self]

    def describe(self) -> dict[str, Any]:
        return {"table": self.path, "epoch_choices": list(self.epoch_choices), "cost_by": list(self.cost_by),
                "where": [list(item) for item in self.where], "seconds_from": self.seconds_from}

    @classmethod
    def from_description(cls, saved: dict[str, Any]) -> "TableSpec":
        return cls(saved["table"], tuple(saved["epoch_choices"]), tuple(saved.get("cost_by", ())),
                   tuple(tuple(item) for item in saved.get("where", ())), saved.get("seconds_from"))


_TABLES: dict[TableSpec, CurveTable] = {}


def library_seconds() -> float:
    """The clock a library's own time is measured on: the CPU seconds of the replaying
    process (all its threads), so that a replay beside other work charges what a decision
    costs, not its wait for a core. On `--scratch` in memory the records' disk writes cost no
    waiting either; a real search's waits for the disk are outside the replay."""
    return time.process_time()


class SimulatedClock:
    """The simulated clock of one replay: table seconds and overheads added by the replay,
    the library's own time between two runs measured and added."""

    def __init__(self):
        self.now = 0.0
        self._returned: float | None = None

    def run_begins(self) -> None:
        """A run starts: the real time since the last one ended was the library's own."""
        if self._returned is not None:
            self.now += library_seconds() - self._returned

    def run_ends(self) -> None:
        self._returned = library_seconds()


@dataclasses.dataclass
class Trajectory:
    """q(t) of one search and seed: the times at which its pick's test accuracy changed."""

    search: str
    seed: int
    times: list[float]
    values: list[float]
    trials: int
    epochs: int
    decision_s: float  # the library's own measured time, in all

    def q_at(self, t: np.ndarray) -> np.ndarray:
        index = np.searchsorted(np.asarray(self.times), t, side="right") - 1
        values = np.asarray([NO_PICK, *self.values])
        return values[index + 1]

    def first_time(self, tau: float, horizon_s: float) -> float:
        for when, value in zip(self.times, self.values):
            if when > horizon_s:
                break
            if value >= tau - 1e-12:
                return when
        return math.inf


# --- kerashp: its real runner, with the executor answering from the table ---------------------

def _replay_study(table: CurveTable):
    """A `kerashp.Study` whose search space is the table's (epochs a searched choice, as the
    FashionMNIST grid declares it), and whose data is never trained on."""
    from kerashp import Study
    from kerashp.data import Split, make_splits

    class ReplayStudy(Study):
        name = "replay"
        description = "a search replayed on a learning-curve table"
        epochs = table.max_epochs
        epochs_hyperparameter = True
        batch_size = 1

        def declare_hyperparameters(self, hp) -> None:
            hp.Choice("epochs", list(table.epoch_choices))
            table.declare(hp)

        def load_data(self):
            features = np.zeros((20, 2), np.float32)
            labels = np.arange(20, dtype=np.int32) % 2
            return make_splits(Split(features, labels), Split(features, labels), num_classes=2,
                               class_names=("a", "b"), source="a learning-curve table (nothing is trained)")

        def build(self, hp):
            raise AssertionError("a replayed run is never built")

    return ReplayStudy


def best_epoch_seconds(val: np.ndarray, trained: int) -> float:
    """What `--restore-best-weights` adds to a run that trains epochs `trained`..len(val) of a
    curve: a save at each of them that improves on every epoch before it, and a load where
    the best epoch (the first of the best value) is not the last."""
    best = -math.inf if trained == 0 else float(val[:trained].max())
    saves = 0
    for value in val[trained:]:
        if value > best:
            best, saves = float(value), saves + 1
    loads = int(int(np.argmax(val)) < len(val) - 1)
    return saves * BEST_EPOCH_SAVE_S + loads * BEST_EPOCH_LOAD_S


def _table_runs(table: CurveTable, clock: SimulatedClock, overhead_s: float, on_run: Callable):
    """`KerasRuns` whose `run` answers from the table and whose clock is the simulated one."""
    from kerashp.storage import records
    from kerashp.tuning.runs import KerasRuns

    class TableRuns(KerasRuns):
        report_figures = False  # the tables are written, the figures of thousands of replays are not

        def clock(self) -> float:  # noqa: D102 - the search's clock (--max-minutes)
            return clock.now

        def run(self, trial, index, data, stage):
            clock.run_begins()
            key = table.key(trial.hyperparameters.values)
            directory = self.execution_dir(trial.trial_id, index)
            directory.mkdir(parents=True, exist_ok=True)
            before = records.read_summary(directory / records.SUMMARY_FILE)
            trained = int(before["stage_epochs"]) if before else 0  # a promotion trains on from its rung
            clock.now += overhead_s + float(table.seconds[key][trained:stage].sum())
            val, test = table.val[key][:stage], table.test[key]
            if self.settings.training.restore_best_weights:
                clock.now += best_epoch_seconds(val, trained)
            rows = "epoch,val_accuracy,test_accuracy\n" + "".join(
                f"{epoch},{val[epoch]:.6g},{test[epoch]:.6g}\n" for epoch in range(stage))
            records.write_text_atomic(directory / records.HISTORY_FILE, rows)
            best_epoch = int(np.argmax(val))
            # The test pass sees the run's last epoch, or with --restore-best-weights its best one's weights.
            tested = best_epoch if self.settings.training.restore_best_weights else stage - 1
            summary = {"best_val_accuracy": float(val[best_epoch]), "final_val_accuracy": float(val[-1]),
                       "best_epoch": best_epoch + 1, "test_accuracy": float(test[tested]), "epochs": stage,
                       "stage_epochs": stage, "seed": index, "diverged_epoch": None}
            records.write_json_atomic(directory / records.SUMMARY_FILE, summary)
            on_run(trial.trial_id, stage - trained, summary)
            clock.run_ends()
            return summary

    return TableRuns


def replay_kerashp(table: CurveTable, search: str, seed: int, horizon_s: float, overhead_level: str,
                   work: pathlib.Path) -> Trajectory:
    """One seed of one kerashp search through `run_study`, trained from the table."""
    import pandas as pd

    from kerashp.errors import option_style
    from kerashp.report.tables import pick
    from kerashp.settings import resolve_runs
    from kerashp.tuning.runner import run_study

    clock = SimulatedClock()
    latest: dict[str, dict] = {}
    trajectory = Trajectory(search, seed, [], [], 0, 0, 0.0)

    chosen: list[str] = []  # the pick's trial id

    def on_run(trial_id: str, epochs: int, summary: dict) -> None:
        latest[trial_id] = summary
        trajectory.trials += 1
        trajectory.epochs += epochs
        # kerashp's pick over every trial; when another trial than the pick changed, over the
        # pick and that trial (the same answer: the rule is a maximum, ties to the lower id).
        candidates = sorted(latest if not chosen or chosen[0] == trial_id else {chosen[0], trial_id}, key=int)
        frame = pd.DataFrame([{"trial": t, "status": "COMPLETED", **latest[t]} for t in candidates])
        best = pick(frame, "best_val_accuracy")
        chosen[:] = [best["trial"]]
        value = float(best["test_accuracy"])
        if not trajectory.values or value != trajectory.values[-1]:
            trajectory.times.append(clock.now)
            trajectory.values.append(value)

    study_class = _replay_study(table)
    out = work / f"{search}-{seed}"
    shutil.rmtree(out, ignore_errors=True)
    options = {"eta": ETA, **KERASHP_SEARCHES[search], "trials": 10**6, "seed": seed,
               "max_minutes": horizon_s / 60, "out": out, "verbose": 0, "keep_weights": "none"}
    with option_style("python"):
        settings = resolve_runs(study_class, options)[0]
    started = library_seconds()
    run_study(study_class, settings, executor=_table_runs(table, clock, overhead(search, overhead_level), on_run))
    trajectory.decision_s = library_seconds() - started
    shutil.rmtree(out, ignore_errors=True)
    return trajectory


# --- KerasTuner's Hyperband: its real oracle and search loop, run_trial from the table ----------

def replay_keras_tuner(table: CurveTable, seed: int, horizon_s: float, overhead_level: str,
                       work: pathlib.Path) -> Trajectory:
    import keras_tuner

    clock = SimulatedClock()
    trajectory = Trajectory("keras-tuner", seed, [], [], 0, 0, 0.0)
    best_epoch_test: dict[str, float] = {}
    overhead_s = overhead("keras-tuner", overhead_level)

    class Oracle(keras_tuner.oracles.HyperbandOracle):
        def create_trial(self, tuner_id):
            if clock.now > horizon_s:  # as a deadline in on_trial_begin would (benchmarks/peers.py)
                return keras_tuner.engine.trial.Trial(self.hyperparameters.copy(), status="STOPPED")
            return super().create_trial(tuner_id)

    class Model(keras_tuner.HyperModel):
        def build(self, hp):
            table.declare(hp)  # the epochs are Hyperband's resource, not searched

    class Tuner(keras_tuner.engine.base_tuner.BaseTuner):
        def run_trial(self, trial, *args, **kwargs):
            clock.run_begins()
            values = trial.hyperparameters.values
            first, last = int(values.get("tuner/initial_epoch", 0)), int(values["tuner/epochs"])
            key = table.key(values)
            clock.now += overhead_s + float(table.seconds[key][first:last].sum())
            window = table.val[key][first:last]
            best = first + int(np.argmax(window))
            best_epoch_test[trial.trial_id] = float(table.test[key][best])  # its checkpoint: the best epoch
            trajectory.trials += 1
            trajectory.epochs += last - first
            clock.run_ends()  # what KerasTuner does from here to the next run is its own time
            return {"val_accuracy": float(window.max())}

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            best = self.oracle.get_best_trials(1)
            if best:
                value = best_epoch_test[best[0].trial_id]
                if not trajectory.values or value != trajectory.values[-1]:
                    trajectory.times.append(clock.now)
                    trajectory.values.append(value)

        def save_model(self, trial_id, model, step=0):
            pass

        def load_model(self, trial):
            return None

    directory = work / f"keras-tuner-{seed}"
    oracle = Oracle(objective=keras_tuner.Objective("val_accuracy", "max"), max_epochs=table.max_epochs,
                    factor=ETA, hyperband_iterations=10**4, seed=seed)
    started = library_seconds()
    tuner = Tuner(oracle, Model(), directory=str(directory), project_name="kt", overwrite=True)
    tuner.search(verbose=0)
    trajectory.decision_s = library_seconds() - started
    shutil.rmtree(directory, ignore_errors=True)
    return trajectory


# --- Optuna: TPE with the Hyperband pruner, ask/tell ------------------------------------------

def replay_optuna(table: CurveTable, seed: int, horizon_s: float, overhead_level: str) -> Trajectory:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    clock = SimulatedClock()
    trajectory = Trajectory("optuna", seed, [], [], 0, 0, 0.0)
    overhead_s = overhead("optuna", overhead_level)
    distributions = {"epochs": optuna.distributions.CategoricalDistribution(list(table.epoch_choices))}
    distributions.update({name: optuna.distributions.CategoricalDistribution(values)
                          for name, values in table.space.items()})
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=table.max_epochs,
                                                                      reduction_factor=ETA))
    final_test: dict[int, float] = {}
    started = library_seconds()
    while clock.now <= horizon_s:
        clock.run_begins()
        trial = study.ask(distributions)
        epochs = int(trial.params["epochs"])
        key = table.key(trial.params)
        clock.now += overhead_s
        pruned = False
        for epoch in range(epochs):
            clock.now += float(table.seconds[key][epoch])
            trajectory.epochs += 1
            decided = library_seconds()
            trial.report(float(table.val[key][epoch]), step=epoch + 1)
            pruned = trial.should_prune()
            clock.now += library_seconds() - decided
            if pruned or clock.now > horizon_s:
                break
        trajectory.trials += 1
        clock.run_ends()  # telling and asking again are Optuna's own time, measured at the next run
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        elif clock.now > horizon_s:
            break  # ended by the horizon mid-run: never told
        else:
            final_test[trial.number] = float(table.test[key][epochs - 1])
            study.tell(trial, float(table.val[key][:epochs].max()))
            value = final_test[study.best_trial.number]
            if not trajectory.values or value != trajectory.values[-1]:
                trajectory.times.append(clock.now)
                trajectory.values.append(value)
    trajectory.decision_s = library_seconds() - started
    return trajectory


def replay(table: CurveTable, search: str, seed: int, horizon_s: float, overhead_level: str,
           work: pathlib.Path) -> Trajectory:
    """One seed of one search."""
    if search in KERASHP_SEARCHES:
        return replay_kerashp(table, search, seed, horizon_s, overhead_level, work)
    if search == "keras-tuner":
        return replay_keras_tuner(table, seed, horizon_s, overhead_level, work)
    if search == "optuna":
        return replay_optuna(table, seed, horizon_s, overhead_level)
    raise SystemExit(f"unknown search {search!r}; choose from {', '.join(SEARCHES)}")


# --- the statistics -----------------------------------------------------------------------------

def iqm(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """The interquartile mean (the mean of the middle 50%)."""
    from scipy.stats import trim_mean

    return trim_mean(values, 0.25, axis=axis)


def median_time(times: np.ndarray) -> float:
    """The median of first-hit times where misses (censored) are infinite: a sample value, never
    interpolated (so an infinite median means half the seeds missed)."""
    return float(np.quantile(times, 0.5, method="inverted_cdf"))


def ratio_interval(numerator: np.ndarray, denominators: list[np.ndarray], resamples: int = 10_000,
                   seed: int = 0) -> tuple[float, float, float]:
    """R = median(numerator) / min over denominators of their median, with a bootstrap 95%
    interval (seeds resampled with replacement within each search)."""
    rng = np.random.default_rng(seed)

    def ratio(top: float, bottom: float) -> float:
        if math.isinf(top) and math.isinf(bottom):
            return math.nan
        return math.inf if bottom == 0 else top / bottom

    point = ratio(median_time(numerator), min(median_time(d) for d in denominators))

    def boot_medians(values: np.ndarray) -> np.ndarray:
        samples = rng.choice(values, size=(resamples, len(values)), replace=True)
        return np.quantile(samples, 0.5, axis=1, method="inverted_cdf")

    tops = boot_medians(numerator)
    bottoms = np.min([boot_medians(d) for d in denominators], axis=0)
    ratios = np.array([ratio(a, b) for a, b in zip(tops, bottoms)])
    ratios = ratios[~np.isnan(ratios)]
    if not len(ratios):
        return point, math.nan, math.nan
    low, high = np.quantile(ratios, [0.025, 0.975], method="inverted_cdf")
    return point, float(low), float(high)


def beats(row: dict) -> bool:
    """The levers' rule, set before their replays: a kerashp search beats the default where
    its median time to tau over the default's has a 95% interval below 1 and its q is not
    below the default's at any reported minute (the interval of default - this below 0.001)."""
    return (row["R_vs_default_high"] < 1
            and all(row[f"default_minus_this_{m}min_high"] < 0.001 for m in REPORT_MINUTES))


def passes(r: float, high: float) -> bool:
    """The target: R <= 0.5 with the interval's upper bound below 1."""
    return r <= 0.5 and high < 1


def iqm_interval(q: np.ndarray, resamples: int = 2_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IQM over seeds (rows) at each time (columns), with a bootstrap 95% band."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(q), size=(resamples, len(q)))
    boots = np.stack([iqm(q[index], axis=0) for index in rows])
    return iqm(q, axis=0), np.quantile(boots, 0.025, axis=0), np.quantile(boots, 0.975, axis=0)


def difference_interval(a: np.ndarray, b: np.ndarray, resamples: int = 10_000, seed: int = 0) -> tuple[float, float, float]:
    """IQM(a) - IQM(b) with a bootstrap 95% interval (independent seeds)."""
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, len(a), size=(resamples, len(a)))
    ib = rng.integers(0, len(b), size=(resamples, len(b)))
    diffs = iqm(a[ia], axis=1) - iqm(b[ib], axis=1)
    return float(iqm(a) - iqm(b)), float(np.quantile(diffs, 0.025)), float(np.quantile(diffs, 0.975))


# --- running and resuming -----------------------------------------------------------------------

def trajectory_file(work: pathlib.Path, overhead_level: str) -> pathlib.Path:
    return work / f"trajectories-{overhead_level}.jsonl"


def load_trajectories(work: pathlib.Path, overhead_level: str) -> dict[tuple[str, int], Trajectory]:
    path = trajectory_file(work, overhead_level)
    found: dict[tuple[str, int], Trajectory] = {}
    stale: set[tuple[str, int]] = set()
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill: that replay runs again
            made = record.pop("definition", None)
            trajectory = Trajectory(**record)
            key = (trajectory.search, trajectory.seed)
            if made != json.loads(json.dumps(definition(trajectory.search, overhead_level))):
                stale.add(key)
                found.pop(key, None)
            else:
                found[key] = trajectory
    for search in sorted({search for search, _ in stale - set(found)}):
        count = sum(1 for key in stale - set(found) if key[0] == search)
        print(f"{count} kept replay(s) of {search} were made with other settings or charges: not counted "
              "(a run replays them again)", flush=True)
    return found


def definition(search: str, overhead_level: str) -> dict[str, Any]:
    """What a replay of `search` is made of besides the table and horizon (kept with each
    trajectory): its kerashp options, the time charged outside the epochs, and what
    restoring the best epoch costs. A kept replay defined otherwise is stale and runs again."""
    options = KERASHP_SEARCHES.get(search)
    return {"options": options, "overhead_s": overhead(search, overhead_level), "library_clock": "cpu",
            "best_epoch_s": [BEST_EPOCH_SAVE_S, BEST_EPOCH_LOAD_S]
            if options and options.get("restore_best_weights") else None}


def _replay_job(job: tuple) -> dict:
    spec, search, seed, horizon_s, overhead_level, scratch = job
    trajectory = replay(spec.load(), search, seed, horizon_s, overhead_level, pathlib.Path(scratch) / str(os.getpid()))
    return {**dataclasses.asdict(trajectory), "definition": definition(search, overhead_level)}


def _quiet_worker() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("kerashp").setLevel(logging.WARNING)


def run(spec: TableSpec, searches: list[str], seeds: list[int], horizon_s: float, overhead_level: str,
        work: pathlib.Path, processes: int, scratch: pathlib.Path | None = None) -> dict[tuple[str, int], Trajectory]:
    """Replays every (search, seed) not replayed yet in `work`, appending each as it ends; each
    kerashp and KerasTuner replay writes its study directory in a new directory under `scratch`
    (default `work`), removed when the replays end."""
    import multiprocessing

    work.mkdir(parents=True, exist_ok=True)
    settings_path = work / "replay.json"
    spec.load()  # a table that cannot be replayed: one line, before any work
    settings = {**spec.describe(), "horizon_s": horizon_s}
    if settings_path.exists() and json.loads(settings_path.read_text()) != settings:
        raise SystemExit(f"{work} holds replays of other settings ({settings_path.read_text().strip()}); "
                         "choose another --work")
    settings_path.write_text(json.dumps(settings))
    done = load_trajectories(work, overhead_level)
    import tempfile

    parent = pathlib.Path(scratch) if scratch is not None else work
    parent.mkdir(parents=True, exist_ok=True)
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="replay-scratch-", dir=parent))  # only this is removed after
    jobs = [(spec, search, seed, horizon_s, overhead_level, str(scratch))
            for seed in seeds for search in searches if (search, seed) not in done]
    print(f"{len(done)} replays kept, {len(jobs)} to run ({processes} process(es))", flush=True)
    wall_started = time.monotonic()
    with open(trajectory_file(work, overhead_level), "a") as sink:
        context = multiprocessing.get_context("spawn")
        with contextlib.ExitStack() as stack:
            if processes > 1:  # else in this process (a test's patches hold there)
                pool = stack.enter_context(context.Pool(processes, initializer=_quiet_worker, maxtasksperchild=50))
                records = pool.imap_unordered(_replay_job, jobs)
            else:
                records = map(_replay_job, jobs)
            for count, record in enumerate(records, 1):
                sink.write(json.dumps(record) + "\n")
                sink.flush()
                record.pop("definition")
                done[(record["search"], record["seed"])] = Trajectory(**record)
                if count % 10 == 0 or count == len(jobs):
                    print(f"  {count}/{len(jobs)} replays, {time.monotonic() - wall_started:.0f} s", flush=True)
    shutil.rmtree(scratch, ignore_errors=True)
    return done


def summarize(trajectories: dict[tuple[str, int], Trajectory], table: CurveTable, table_name: str,
              horizon_s: float, seeds: list[int], aa_seeds: list[int]) -> tuple[list[dict], dict]:
    """The summary rows (one per search) and the verdicts."""
    replayed = {search for search, _ in trajectories}
    searches = [s for s in (*SEARCHES, *sorted(replayed - set(SEARCHES)))  # the default race, then the opt-in ones
                if all((s, seed) in trajectories for seed in seeds)]
    peers = [s for s in searches if library(s) != "kerashp"]
    grid_test = table.grid_pick_test()
    minutes = np.asarray(REPORT_MINUTES, float) * 60
    first = {}
    q_at = {}
    for search in searches:
        runs = [trajectories[(search, seed)] for seed in seeds]
        first[search] = {margin: np.array([r.first_time(grid_test - margin, horizon_s) for r in runs])
                         for margin in TAU_MARGINS}
        q_at[search] = np.stack([r.q_at(minutes) for r in runs])
    rows = []
    verdicts: dict[str, Any] = {"grid_pick_test_accuracy": grid_test, "tau": grid_test - TAU_MARGINS[0]}
    for search in searches:
        runs = [trajectories[(search, seed)] for seed in seeds]
        row = {"table": table_name, "search": search, "default": int(search == DEFAULT_SEARCH), "seeds": len(seeds),
               "horizon_min": horizon_s / 60, "tau": grid_test - TAU_MARGINS[0],
               "median_T": median_time(first[search][TAU_MARGINS[0]])}
        # kerashp's searches against the best peer; a peer against kerashp's default search.
        others = peers if library(search) == "kerashp" else [s for s in searches if s == DEFAULT_SEARCH]
        if others:
            row["R"], row["R_low"], row["R_high"] = ratio_interval(first[search][TAU_MARGINS[0]],
                                                                   [first[o][TAU_MARGINS[0]] for o in others])
        for margin in TAU_MARGINS[1:]:
            row[f"median_T_tau{margin:g}"] = median_time(first[search][margin])
            if others:
                row[f"R_tau{margin:g}"] = ratio_interval(first[search][margin], [first[o][margin] for o in others])[0]
        row["reached"] = float(np.isfinite(first[search][TAU_MARGINS[0]]).mean())
        for m, column in zip(REPORT_MINUTES, q_at[search].T):
            row[f"iqm_q_{m}min"] = float(iqm(column))
        if search != DEFAULT_SEARCH and DEFAULT_SEARCH in searches:
            for m, mine, theirs in zip(REPORT_MINUTES, q_at[DEFAULT_SEARCH].T, q_at[search].T):
                d, low, high = difference_interval(mine, theirs)
                row[f"default_minus_this_{m}min"], row[f"default_minus_this_{m}min_low"] = d, low
                row[f"default_minus_this_{m}min_high"] = high
            if library(search) == "kerashp":  # a lever against the default: its median T over the default's
                row["R_vs_default"], row["R_vs_default_low"], row["R_vs_default_high"] = ratio_interval(
                    first[search][TAU_MARGINS[0]], [first[DEFAULT_SEARCH][TAU_MARGINS[0]]])
                row["beats_default"] = int(beats(row))
        row["trials"] = float(np.mean([r.trials for r in runs]))
        row["epochs"] = float(np.mean([r.epochs for r in runs]))
        row["decision_s_per_trial"] = float(np.sum([r.decision_s for r in runs]) / max(sum(r.trials for r in runs), 1))
        rows.append(row)
    if DEFAULT_SEARCH in searches and peers:
        default = next(r for r in rows if r["search"] == DEFAULT_SEARCH)
        verdicts["R"] = (default["R"], default["R_low"], default["R_high"])
        verdicts["R_target_met"] = passes(default["R"], default["R_high"])
        verdicts["iqm_not_below_any_peer"] = all(
            row[f"default_minus_this_{m}min_low"] > -0.001 for row in rows if row["search"] in peers
            for m in REPORT_MINUTES)
    if aa_seeds and all((DEFAULT_SEARCH, seed) in trajectories for seed in aa_seeds):
        a = first[DEFAULT_SEARCH][TAU_MARGINS[0]] if DEFAULT_SEARCH in first else None
        b = np.array([trajectories[(DEFAULT_SEARCH, seed)].first_time(grid_test - TAU_MARGINS[0], horizon_s)
                      for seed in aa_seeds])
        if a is not None:
            r, low, high = ratio_interval(a, [b])
            verdicts["A/A"] = (r, low, high)
            verdicts["A/A_passes"] = passes(r, high)
    return rows, verdicts


def write_summary(rows: list[dict], verdicts: dict, trajectories, seeds: list[int], horizon_s: float,
                  out: pathlib.Path) -> None:
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out / "summary.csv", index=False, float_format="%.6g")
    (out / "verdicts.json").write_text(json.dumps(verdicts, indent=1, default=float) + "\n")
    figure = anytime_figure(rows, trajectories, seeds, horizon_s, verdicts["tau"])
    figure.savefig(out / "anytime.png", dpi=110)
    figure = first_time_figure(rows, trajectories, seeds, horizon_s, verdicts["tau"])
    figure.savefig(out / "time_to_target.png", dpi=110)


def anytime_figure(rows, trajectories, seeds, horizon_s, tau):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 4.5))
    axes = figure.subplots()
    times = np.linspace(0, horizon_s, 241)
    low_edge = []
    for row in rows:
        q = np.stack([trajectories[(row["search"], seed)].q_at(times) for seed in seeds])
        middle, low, high = iqm_interval(q)
        line, = axes.plot(times / 60, middle, label=f"{row['search']} (IQM, 95% band)",
                          linewidth=2.2 if row["default"] else 1.3)
        axes.fill_between(times / 60, low, high, color=line.get_color(), alpha=0.18, linewidth=0)
        low_edge.append(middle[len(times) // 12])
    axes.axhline(tau, color="black", linestyle="--", linewidth=0.9, label=f"target tau = {tau:.4f}")
    axes.set_ylim(max(min(low_edge) - 0.01, tau - 0.06), tau + 0.02)
    axes.set_xlabel("simulated minutes")
    axes.set_ylabel("test accuracy of the pick, q(t)")
    axes.set_title(f"anytime performance over {len(seeds)} seeds")
    axes.legend(fontsize=8, loc="lower right")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def first_time_figure(rows, trajectories, seeds, horizon_s, tau):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 4.5))
    axes = figure.subplots()
    for row in rows:
        times = np.sort([trajectories[(row["search"], seed)].first_time(tau, horizon_s) for seed in seeds])
        finite = times[np.isfinite(times)]
        fraction = np.arange(1, len(finite) + 1) / len(times)
        axes.step(np.concatenate([[0], finite / 60, [horizon_s / 60]]),
                  np.concatenate([[0], fraction, [fraction[-1] if len(fraction) else 0]]), where="post",
                  label=f"{row['search']} (median {row['median_T'] / 60:.1f} min)" if math.isfinite(row["median_T"])
                  else f"{row['search']} (median: not reached)", linewidth=2.2 if row["default"] else 1.3)
    axes.set_xlabel("simulated minutes")
    axes.set_ylabel("fraction of seeds with q(t) >= tau")
    axes.set_title("time to the target T (censored at the horizon)")
    axes.legend(fontsize=8, loc="lower right")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return figure


# --- confirming the simulation with real searches -------------------------------------------

CONFIRM_SHARE = 0.8  # a real search must lie inside the replay's band at this share of the time points
CONFIRM_BAND = (5, 95)  # percentiles of q(t) over the replay's seeds


def real_q_at(picks: list[tuple[float, float]], times: np.ndarray) -> np.ndarray:
    """q(t) of a real search from its picks ((seconds, test accuracy) each time its pick changed)."""
    return Trajectory("real", 0, [t for t, _ in picks], [v for _, v in picks], 0, 0, 0.0).q_at(times)


def confirm(trajectories: dict[tuple[str, int], Trajectory], outcomes: list[dict], seeds: list[int],
            budget_s: float, step_s: float = 10.0) -> list[dict]:
    """One row per real search (benchmarks/peers.py's outcomes with their picks): the share of
    the time points (every `step_s` seconds of its budget) at which its q(t) lies inside the 5-95%
    band of the same search's replayed q(t) over `seeds`, and whether that share is at least
    CONFIRM_SHARE. Searches the replay did not run are left out."""
    rows = []
    for outcome in outcomes:
        search = outcome["search"]
        if not all((search, seed) in trajectories for seed in seeds):
            continue
        times = np.arange(step_s, budget_s + 1e-9, step_s)
        replayed = np.stack([trajectories[(search, seed)].q_at(times) for seed in seeds])
        low, high = np.percentile(replayed, CONFIRM_BAND, axis=0)
        real = real_q_at([tuple(p) for p in outcome["picks"]], times)
        inside = (real >= low - 1e-9) & (real <= high + 1e-9)
        above, below = float((real > high + 1e-9).mean()), float((real < low - 1e-9).mean())
        rows.append({"search": search, "repetition": outcome["repetition"], "points": len(times),
                     "share_inside": float(inside.mean()), "share_above": above, "share_below": below,
                     "confirms": bool(inside.mean() >= CONFIRM_SHARE), "real_final_q": float(real[-1]),
                     "replay_final_q_low": float(low[-1]), "replay_final_q_high": float(high[-1])})
    return rows


def confirm_figure(trajectories: dict[tuple[str, int], Trajectory], outcomes: list[dict], seeds: list[int],
                   budget_s: float, step_s: float = 10.0):
    """One panel per search: the replay's 5-95% band of q(t) and its median, the real searches' q(t) over it."""
    from matplotlib.figure import Figure

    searches = [s for s in dict.fromkeys(o["search"] for o in outcomes)
                if all((s, seed) in trajectories for seed in seeds)]
    figure = Figure(figsize=(4.2 * max(len(searches), 1), 3.8))
    times = np.arange(step_s, budget_s + 1e-9, step_s)
    for index, search in enumerate(searches):
        axes = figure.add_subplot(1, len(searches), index + 1)
        replayed = np.stack([trajectories[(search, seed)].q_at(times) for seed in seeds])
        low, middle, high = np.percentile(replayed, (CONFIRM_BAND[0], 50, CONFIRM_BAND[1]), axis=0)
        axes.fill_between(times / 60, low, high, color="tab:blue", alpha=0.2, linewidth=0,
                          label=f"replay, {CONFIRM_BAND[0]}-{CONFIRM_BAND[1]}% of {len(seeds)} seeds")
        axes.plot(times / 60, middle, color="tab:blue", linewidth=1, label="replay, median")
        for outcome in (o for o in outcomes if o["search"] == search):
            axes.step(times / 60, real_q_at([tuple(p) for p in outcome["picks"]], times), where="post",
                      linewidth=1.6, label=f"real, repetition {outcome['repetition']}")
        finite = replayed[replayed > NO_PICK]
        if finite.size:
            axes.set_ylim(np.percentile(finite, 1) - 0.01, finite.max() + 0.005)
        axes.set(title=search, xlabel="minutes", ylabel="test accuracy of the pick, q(t)" if index == 0 else None)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    return figure


def print_summary(rows: list[dict], verdicts: dict) -> None:
    print(f"grid's pick tests {verdicts['grid_pick_test_accuracy']:.4f}; tau = {verdicts['tau']:.4f}")
    for row in rows:
        r = f"R {row['R']:.2f} [{row['R_low']:.2f}, {row['R_high']:.2f}]" if "R" in row else ""
        iqms = " ".join(f"{m}min {row[f'iqm_q_{m}min']:.4f}" for m in REPORT_MINUTES)
        lever = (f"; vs the default {row['R_vs_default']:.2f} [{row['R_vs_default_low']:.2f}, "
                 f"{row['R_vs_default_high']:.2f}]{', beats it' if row['beats_default'] else ''}"
                 if "beats_default" in row else "")
        print(f"{row['search']:18s} median T {row['median_T'] / 60:6.2f} min, reached {row['reached']:.0%}, {r}; "
              f"IQM q: {iqms}; {row['trials']:.0f} trials{lever}")
    for key in ("R_target_met", "iqm_not_below_any_peer", "A/A", "A/A_passes"):
        if key in verdicts:
            print(f"{key}: {verdicts[key]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    confirming = commands.add_parser("confirm", help="compare real searches (benchmarks/peers.py --space table-a) "
                                                     "with the replay's 5-95% band")
    confirming.add_argument("--work", type=pathlib.Path, required=True, help="the replays (as run wrote them)")
    confirming.add_argument("--peers", type=pathlib.Path, required=True, help="benchmarks/peers.py's --out")
    confirming.add_argument("--overheads", choices=("min", "mid", "max"), default="mid")
    confirming.add_argument("--seeds", type=int, default=100)
    confirming.add_argument("--step-seconds", type=float, default=10.0)
    confirming.add_argument("--out", type=pathlib.Path, help="write confirm.csv here")
    for name in ("run", "summarize"):
        command = commands.add_parser(name)
        command.add_argument("--table", type=pathlib.Path, required=name == "run",
                             help="a table written by benchmarks/curves.py export")
        command.add_argument("--epoch-choices", default="20,30,40", help="the searched epochs (prefixes of a curve)")
        command.add_argument("--cost-by", default=",".join(COST_BY),
                             help="the hyperparameters that set an epoch's cost: an epoch takes the median seconds "
                                  "of the points sharing them (empty: each point's own recorded seconds)")
        command.add_argument("--seconds-from", type=pathlib.Path, default=None, metavar="TABLE",
                             help="epoch seconds from this table instead (a few points per --cost-by group recorded "
                                  "on an idle machine: the calibrated clock)")
        command.add_argument("--where", default="", metavar="NAME=VALUE,...",
                             help="replay the part of the table with these values (a whole grid)")
        command.add_argument("--searches", default=",".join(SEARCHES))
        command.add_argument("--seeds", type=int, default=100)
        command.add_argument("--aa", action="store_true", help=f"also seeds N..2N-1 of {DEFAULT_SEARCH} (the A/A check)")
        command.add_argument("--horizon-minutes", type=float, default=60.0)
        command.add_argument("--overheads", choices=("min", "mid", "max"), default="mid",
                             help="each library's measured time outside the epochs per trial (OVERHEAD_S)")
        command.add_argument("--work", type=pathlib.Path, required=True, help="where replays are kept (resumable)")
        command.add_argument("--processes", type=int, default=2)
        command.add_argument("--scratch", type=pathlib.Path, default=None,
                             help="a folder where the replays make their scratch directory (default: WORK); a tmpfs "
                                  "such as /dev/shm makes a kerashp replay about 40%% cheaper")
        command.add_argument("--table-name", default="A")
        command.add_argument("--out", type=pathlib.Path, help="write summary.csv, verdicts.json and the figures here")
    args = parser.parse_args(argv)
    if args.command == "confirm":
        return main_confirm(args)
    searches = [s.strip() for s in args.searches.split(",") if s.strip()]
    seeds = list(range(args.seeds))
    aa_seeds = list(range(args.seeds, 2 * args.seeds)) if args.aa else []
    epoch_choices = tuple(int(e) for e in args.epoch_choices.split(","))
    if args.command == "run":
        spec = TableSpec(str(args.table.resolve()), epoch_choices,
                         tuple(name.strip() for name in args.cost_by.split(",") if name.strip()),
                         tuple(_assignment(item) for item in args.where.split(",") if item.strip()),
                         str(args.seconds_from.resolve()) if args.seconds_from else None)
        trajectories = run(spec, searches, seeds, args.horizon_minutes * 60, args.overheads, args.work,
                           args.processes, args.scratch)
        if aa_seeds:
            trajectories = run(spec, [DEFAULT_SEARCH], aa_seeds, args.horizon_minutes * 60, args.overheads,
                               args.work, args.processes, args.scratch)
    else:
        trajectories = load_trajectories(args.work, args.overheads)
    settings = json.loads((args.work / "replay.json").read_text())
    table = TableSpec.from_description(settings).load()
    rows, verdicts = summarize(trajectories, table, args.table_name, settings["horizon_s"], seeds, aa_seeds)
    print_summary(rows, verdicts)
    if args.out:
        write_summary(rows, verdicts, trajectories, seeds, settings["horizon_s"], args.out)
        print(f"wrote {args.out / 'summary.csv'}, verdicts.json, anytime.png, time_to_target.png")
    return 0


def main_confirm(args: argparse.Namespace) -> int:
    import pandas as pd

    saved = json.loads((args.peers / "outcomes.json").read_text())
    budget_s = float(saved["settings"]["budget_minutes"]) * 60
    outcomes = [item for item in saved["outcomes"] if item.get("picks")]
    if saved["settings"].get("space") != "table-a":
        raise SystemExit(f"{args.peers}: its searches are not on table A's space (benchmarks/peers.py --space table-a)")
    rows = confirm(load_trajectories(args.work, args.overheads), outcomes, list(range(args.seeds)), budget_s,
                   args.step_seconds)
    if not rows:
        raise SystemExit(f"no search of {args.peers} was replayed {args.seeds} times in {args.work}")
    for row in rows:
        print(f"{row['search']:18s} repetition {row['repetition']}: inside the replay's {CONFIRM_BAND[0]}-"
              f"{CONFIRM_BAND[1]}% band at {row['share_inside']:.0%} of {row['points']} time points "
              f"(above {row['share_above']:.0%}, below {row['share_below']:.0%}): "
              f"{'confirms' if row['confirms'] else 'does NOT confirm'}")
    print("the simulation is confirmed" if all(row["confirms"] for row in rows)
          else "the simulation is not confirmed: fix it before any verdict")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(args.out / "confirm.csv", index=False, float_format="%.6g")
        confirm_figure(load_trajectories(args.work, args.overheads), outcomes, list(range(args.seeds)), budget_s,
                       args.step_seconds).savefig(args.out / "confirm.png", dpi=110)
        print(f"wrote {args.out / 'confirm.csv'} and confirm.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
