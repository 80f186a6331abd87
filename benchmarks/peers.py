"""kerashp's pruned search against KerasTuner's Hyperband and Optuna on the same search
(prints and writes; never asserts).

    pip install -e ".[bench]"          # the peers: optuna (KerasTuner is a dependency already)
    python benchmarks/peers.py --data file:../shared/datasets/fashion-mnist --budget-minutes 20 --repetitions 3
    python benchmarks/peers.py --data file:../shared/datasets/fashion-mnist --budget-minutes 2 --repetitions 1 \\
        --train-limit 3000 --searches kerashp-asha,optuna       # a smoke run

The FashionMNIST grid's question (studies/fashion_grid.py): its nine hyperparameters
and their values, its model builder (`FashionGrid.build`: kerashp's MLP with PyTorch's
defaults), batch 128, at most 40 epochs. The data: the real FashionMNIST copy, 10%
of the training images held out for validation (6,000, fixed seed), the first
`--train-limit` of the rest for training (so that a search fits the budget here),
the 10,000 test images for the test accuracy of each search's pick. Each search
gets the same wall-clock budget, one after the other, each in a fresh Python process
(KerasTuner slows down in a process that ran searches before: benchmarks/peers_process_age.py;
`--in-process` runs them all in this one), in an order that rotates with the
repetition, and a seed of its own per repetition:

- `kerashp-asha`: `kerashp.run(FashionGrid, search="random", prune="asha")`;
- `kerashp-asha-best`: the same with `restore_best_weights=True` (each run tested, and
  the pick's weights kept, at its best epoch, as KerasTuner's `get_best_models` loads
  them; `kerashp-asha` tests its pick on its final weights);
- `kerashp-asha-min3`: the same with `min_epochs=3` (rungs at 3, 9, 27 epochs and the
  trial's full length: fewer configurations, each first judged on 3 epochs);
- `kerashp-hyperband`: `search="hyperband"` (random configurations, ASHA in
  Hyperband's brackets);
- `kerashp-bayesian`: `search="bayesian", prune="asha"` (KerasTuner's Gaussian-process
  oracle proposes, ASHA stops; a model-based proposer like Optuna's TPE);
- `kerashp-tpe`: `search="tpe", prune="asha"` (kerashp's tree-structured Parzen
  estimator proposes from the highest rung 10 trials reached, ASHA stops);
- every other kerashp search of benchmarks/replay.py by its name there (`kerashp-tpe-best`,
  `kerashp-asha-best-promote`, ...; the replay's definition wins where a name is in both), so
  that a lever replayed there can be confirmed by real searches here;
- `keras-tuner`: `keras_tuner.Hyperband(max_epochs=40, factor=3)` on the same
  builder (its resource is the epochs, so the grid's `epochs` is not searched), as
  its documentation sets it up, with Hyperband iterations until the budget ends
  (`hyperband_iterations`: "as high a value as is within your resource budget");
- `optuna`: `TPESampler` with `HyperbandPruner(min_resource=1, max_resource=40,
  reduction_factor=3)`, the objective reporting the validation accuracy after each
  epoch through a pruning callback, as Optuna's Keras examples do.

`--space table-a` searches table A's sub-grid instead (benchmarks/curves_fashion_mlp.py: the
real searches that confirm the replayed race, `benchmarks/replay.py confirm`).

For each search and repetition it records every finished trial (or rung) with its
time since the search began, the test accuracy of its pick each time the pick changes
(q(t): kerashp's pick by `Results.best`'s rule from each run's test figures, KerasTuner's best
trial's best-epoch checkpoint as `get_best_models` loads it, Optuna's best complete trial on its
final weights; the evaluations of the last two run inside the search's budget, about half a
second each), and writes `--out`/peers.csv (one row per event:
search, repetition, seconds, best validation accuracy so far) and peers_summary.csv
(best validation accuracy within the budget, the time it was first reached, the
test accuracy of the pick, epochs trained, trials started, seconds outside the
training epochs per trial, the pick's hyperparameters as JSON), and peers.png (the anytime curves). The ratio the
targets speak of is printed: the time kerashp needed to reach the best peer's best
validation accuracy, over the time that peer needed (median over repetitions); and, in
peers_same_search.csv, the same ratio between two repetitions of one search (another
seed of the same search in the peer's place), which shows how often the target holds by
chance alone.

Every finished search is kept in `--out`/outcomes.json: a stopped invocation rerun with the
same `--out`, data, `--train-limit` and `--budget-minutes` measures only the searches not
finished yet (the one that was running starts again), so that 3 repetitions of 20-minute
searches can be measured in several sittings.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SEARCHES = ("kerashp-asha", "kerashp-asha-best", "kerashp-asha-min3", "kerashp-hyperband", "kerashp-bayesian",
            "kerashp-tpe", "keras-tuner", "optuna")
KERASHP_SEARCHES = {"asha": {"search": "random", "prune": "asha"},
                    "asha-best": {"search": "random", "prune": "asha", "restore_best_weights": True},
                    "asha-min3": {"search": "random", "prune": "asha", "min_epochs": 3},
                    "hyperband": {"search": "hyperband"},
                    "bayesian": {"search": "bayesian", "prune": "asha"},
                    "tpe": {"search": "tpe", "prune": "asha"}}
MAX_EPOCHS = 40


def kerashp_searches() -> dict[str, dict]:
    """kerashp's searches by method (`kerashp-<method>`): this benchmark's own and the replay's
    (benchmarks/replay.py; its definition wins where a name is in both, so that the searches
    confirming the replay run as it replayed them)."""
    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))
    import replay

    return {**KERASHP_SEARCHES,
            **{name.removeprefix("kerashp-"): dict(options) for name, options in replay.KERASHP_SEARCHES.items()}}


def all_searches() -> tuple[str, ...]:
    """Every search this benchmark runs: its own, then the replay's other kerashp searches."""
    return (*SEARCHES, *(f"kerashp-{m}" for m in kerashp_searches() if f"kerashp-{m}" not in SEARCHES))
ETA = 3
# KerasTuner's Hyperband runs iterations until the deadline stops it (its default, one, ended after
# 700 s of a 20-minute budget; its documentation recommends as many as the budget allows).
HYPERBAND_ITERATIONS = 1000


@dataclasses.dataclass
class Outcome:
    """What one search did within its budget."""

    search: str
    repetition: int
    events: list[tuple[float, float]]  # (seconds since the start, validation accuracy of a finished trial/rung)
    test_accuracy: float
    epochs: int
    trials: int  # trials started; a promotion to a further rung counts as one more (KerasTuner's own count)
    overhead_s: float  # per trial (or rung), outside the training epochs
    pick: dict = dataclasses.field(default_factory=dict)  # the pick's hyperparameter values
    # q(t): (seconds since the start, test accuracy of the search's pick by its own rule), each
    # time the pick changed, past the budget too (the last is the pick of `test_accuracy`);
    # benchmarks/replay.py confirm compares them with the replay's band.
    picks: list[tuple[float, float]] = dataclasses.field(default_factory=list)

    def curve(self) -> list[tuple[float, float]]:
        best, points = -1.0, []
        for seconds, value in sorted(self.events):
            if value > best:
                best = value
                points.append((seconds, best))
        return points

    def best(self) -> float:
        return max((value for _, value in self.events), default=float("nan"))

    def time_to(self, target: float) -> float:
        """Seconds until the search first had a trial at `target` or better (inf: never)."""
        return next((seconds for seconds, best in self.curve() if best >= target - 1e-12), float("inf"))


def load_data(spec: str, train_limit: int):
    """The validation split (10%, seed 0) and test split whole, the first `train_limit` of the training rest."""
    from kerashp.data import load_image_classification
    from kerashp.data.splits import limit_examples

    full = load_image_classification(spec, val_split=0.1, split_seed=0)
    train = limit_examples(full.train, train_limit)
    return dataclasses.replace(full, train=train, description=f"{full.description}; first {len(train)} training "
                                                               "examples", applied=frozenset({"train_limit", "val_split"}))


def grid_study(data):
    """The FashionMNIST grid on `data`, as a study class: its whole space, or with `--space
    table-a` table A's sub-grid (SPACE), the epochs 20, 30 or 40 as the grid's."""
    from studies.fashion_grid import FashionGrid

    class PeerGrid(FashionGrid):
        name = "peer_grid"

        def declare_hyperparameters(self, hp) -> None:
            if SPACE_NAME[0] == "grid":
                return super().declare_hyperparameters(hp)
            hp.Choice("epochs", [20, 30, 40])
            for name, choices in SPACE.items():
                hp.Boolean(name) if name == "batch_norm" else hp.Choice(name, choices)

        def load_data(self):
            return data

    return PeerGrid


def kerashp_options(method: str, seed: int, budget_s: float, out: pathlib.Path) -> dict:
    """`kerashp.run`'s options for the search `kerashp-<method>`."""
    return {**kerashp_searches()[method], "trials": 100_000, "eta": ETA, "seed": seed, "max_minutes": budget_s / 60,
            "out": out, "verbose": 0, "keep_weights": "best"}


def run_kerashp(data, seed: int, budget_s: float, method: str, out: pathlib.Path) -> Outcome:
    import pandas as pd

    import kerashp
    from kerashp.report.tables import pick as pick_rule
    from kerashp.storage import layout, records
    from kerashp.tuning import tuner as tuner_module

    events: list[tuple[float, float]] = []
    picks: list[tuple[float, float]] = []
    summaries: dict[str, dict] = {}  # each trial's latest run summary (a rung's, then a promotion's)
    runs: list[str] = []  # a trial trained to a rung and promoted later counts once per rung, as in KerasTuner
    original = tuner_module.StudyTuner.on_trial_end
    started = time.perf_counter()

    def on_trial_end(self, trial):  # each finished trial or rung, as it ends
        original(self, trial)
        runs.append(trial.trial_id)
        ended = self.oracle.get_trial(trial.trial_id)
        if ended.status == "COMPLETED" and ended.score is not None:
            now = time.perf_counter() - started
            events.append((now, float(ended.score)))
            summary = records.read_summary(layout.execution_dir(layout.project_dir(out), trial.trial_id, 0)
                                           / records.SUMMARY_FILE)
            if summary and summary.get("test_accuracy") is not None:
                summaries[trial.trial_id] = summary
                best = pick_rule(pd.DataFrame([{"trial": t, "status": "COMPLETED", **summaries[t]}
                                               for t in sorted(summaries)]), "best_val_accuracy")
                value = float(best["test_accuracy"])  # Results.best's rule, as the replay applies it
                if not picks or picks[-1][1] != value:
                    picks.append((now, value))

    tuner_module.StudyTuner.on_trial_end = on_trial_end
    try:
        results = kerashp.run(grid_study(data), **kerashp_options(method, seed, budget_s, out))
    finally:
        tuner_module.StudyTuner.on_trial_end = original
    wall = time.perf_counter() - started
    table = results.table
    epochs = int(table["epochs_trained"].sum())
    train_s = float(table["train_time_s"].sum())  # the training epochs of every trial and rung
    pick = results.best
    return Outcome(f"kerashp-{method}", 0, [e for e in events if e[0] <= budget_s], float(pick["test_accuracy"]),
                   epochs, len(runs), (wall - train_s) / max(len(runs), 1),
                   {name: _plain(pick[name]) for name in ("epochs", *SPACE) if name in pick},
                   picks)


def builder(data):
    """`FashionGrid.build` for a dict of values, on `data`."""
    import keras_tuner

    from kerashp.settings import StudySettings

    study_class = grid_study(data)
    study = study_class(StudySettings.for_study(study_class))
    study.data = data

    def build(values):
        hp = keras_tuner.HyperParameters()
        hp.values.update(values)
        return study.build(hp)

    return study, build


def arrays(split):
    import numpy as np

    return split.features.astype(np.float32) / 255.0, split.labels


def run_keras_tuner(data, seed: int, budget_s: float, out: pathlib.Path) -> Outcome:
    import keras
    import keras_tuner

    study, build = builder(data)
    (x, y), validation, test = arrays(data.train), arrays(data.validation), arrays(data.test)
    events: list[tuple[float, float]] = []
    picks: list[tuple[float, float]] = []
    epoch_s: list[float] = []
    started = time.perf_counter()

    class Deadline(Exception):
        pass

    class EpochTimes(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epoch_s.append(time.perf_counter() - self.began)

    class Model(keras_tuner.HyperModel):
        def build(self, hp):
            values = {"epochs": MAX_EPOCHS}
            for name, choices in SPACE.items():
                values[name] = hp.Choice(name, choices) if name != "batch_norm" else hp.Boolean(name)
            return build(values)

    class Tuner(keras_tuner.Hyperband):
        def on_trial_begin(self, trial):
            if time.perf_counter() - started > budget_s:
                raise Deadline
            super().on_trial_begin(trial)

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            ended = self.oracle.get_trial(trial.trial_id)
            if ended.status == "COMPLETED" and ended.score is not None:
                now = time.perf_counter() - started
                events.append((now, float(ended.score)))
                best = self.oracle.get_best_trials(1)[0]
                if best.trial_id == trial.trial_id:  # a new pick: its best epoch's checkpoint, as get_best_models loads it
                    model = self.load_model(best)
                    picks.append((now, float(model.evaluate(*test, batch_size=study.batch_size, verbose=0,
                                                            return_dict=True)["accuracy"])))

    tuner = Tuner(Model(), objective="val_accuracy", max_epochs=MAX_EPOCHS, factor=ETA, seed=seed,
                  hyperband_iterations=HYPERBAND_ITERATIONS, directory=str(out), project_name="keras_tuner",
                  overwrite=True)
    try:
        tuner.search(x, y, validation_data=validation, batch_size=study.batch_size, callbacks=[EpochTimes()],
                     verbose=0)
    except Deadline:
        pass
    wall = time.perf_counter() - started
    trials = len(tuner.oracle.trials)
    best_model = tuner.get_best_models(1)[0]
    test_accuracy = float(best_model.evaluate(*test, batch_size=study.batch_size, verbose=0, return_dict=True)[
        "accuracy"])
    return Outcome("keras-tuner", 0, [e for e in events if e[0] <= budget_s], test_accuracy, len(epoch_s), trials,
                   (wall - sum(epoch_s)) / max(trials, 1), dict(tuner.get_best_hyperparameters(1)[0].values),
                   picks)


def run_optuna(data, seed: int, budget_s: float) -> Outcome:
    import keras
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study, build = builder(data)
    (x, y), validation, test = arrays(data.train), arrays(data.validation), arrays(data.test)
    events: list[tuple[float, float]] = []
    picks: list[tuple[float, float]] = []
    epoch_s: list[float] = []
    best = {"val": -1.0, "test": float("nan"), "values": {}}
    started = time.perf_counter()

    class Pruning(keras.callbacks.Callback):
        """Reports the validation accuracy after each epoch; stops a trial the pruner prunes."""

        def __init__(self, trial):
            super().__init__()
            self.trial, self.pruned = trial, False

        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epoch_s.append(time.perf_counter() - self.began)
            self.trial.report(float(logs["val_accuracy"]), step=epoch + 1)
            if self.trial.should_prune():
                self.pruned, self.model.stop_training = True, True

    def objective(trial):
        values = {name: (trial.suggest_categorical(name, choices)) for name, choices in SPACE.items()}
        values["epochs"] = trial.suggest_categorical("epochs", [20, 30, 40])
        keras.utils.set_random_seed(seed + trial.number)
        model = build(values)
        callback = Pruning(trial)
        history = model.fit(x, y, validation_data=validation, batch_size=study.batch_size, epochs=values["epochs"],
                            callbacks=[callback], verbose=0)
        value = max(history.history["val_accuracy"])
        now = time.perf_counter() - started
        events.append((now, value))
        # The pick is study.best_trial (complete trials only): its test accuracy, evaluated on the
        # trial's final weights when it becomes the pick.
        if not callback.pruned and value > best["val"]:
            best["val"], best["values"] = value, dict(values)
            best["test"] = float(model.evaluate(*test, batch_size=study.batch_size, verbose=0,
                                                return_dict=True)["accuracy"])
            picks.append((now, best["test"]))
        keras.backend.clear_session()
        if callback.pruned:
            raise optuna.TrialPruned()
        return value

    search = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed),
                                 pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=MAX_EPOCHS,
                                                                       reduction_factor=ETA))
    search.optimize(objective, timeout=budget_s)
    wall = time.perf_counter() - started
    trials = len(search.trials)
    return Outcome("optuna", 0, [e for e in events if e[0] <= budget_s], best["test"], len(epoch_s), trials,
                   (wall - sum(epoch_s)) / max(trials, 1), best["values"], picks)


def _plain(value):
    """A table cell as a plain Python value (numpy scalars and pandas' booleans as JSON writes them)."""
    return value.item() if hasattr(value, "item") else value


SPACE: dict[str, list] = {}
SPACE_NAME = ["grid"]  # --space: "grid" (the FashionMNIST grid's) or "table-a" (benchmarks/curves_fashion_mlp.py's)


def prepare(space: str = "grid") -> None:
    """Keras imported quietly, kerashp's log at one line per search, and SPACE filled with the
    values of `space`: the FashionMNIST grid's, or table A's sub-grid (`--space table-a`, the
    replay's confirming searches)."""
    import logging

    logging.getLogger("kerashp").setLevel(logging.WARNING)  # one line per search here, not one per trial
    from kerashp.quiet import import_keras_quietly

    import_keras_quietly()
    import keras_tuner

    from studies.fashion_grid import FashionGrid

    grid = keras_tuner.HyperParameters()
    FashionGrid.declare_hyperparameters(None, grid)
    SPACE.clear()
    SPACE.update({hp.name: list(hp.values) if hasattr(hp, "values") else [False, True]
                  for hp in grid.space if hp.name != "epochs"})
    SPACE_NAME[0] = space
    if space == "table-a":
        if str(ROOT / "benchmarks") not in sys.path:
            sys.path.append(str(ROOT / "benchmarks"))
        from curves_fashion_mlp import SPACE as TABLE_A

        SPACE.update({name: list(TABLE_A[name]) for name in SPACE if name in TABLE_A})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="fashion_mnist")
    parser.add_argument("--train-limit", type=int, default=6000)
    parser.add_argument("--budget-minutes", type=float, default=20.0)
    parser.add_argument("--space", choices=("grid", "table-a"), default="grid",
                        help="the FashionMNIST grid's space, or table A's sub-grid (benchmarks/curves_fashion_mlp.py: "
                             "the searches that confirm the replay, benchmarks/replay.py confirm)")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--searches", default=",".join(SEARCHES), help="comma-separated subset of " + ", ".join(SEARCHES) + " and the replay's kerashp searches "
                             "(benchmarks/replay.py)")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "artifacts" / "benchmarks" / "peers")
    parser.add_argument("--in-process", action="store_true",
                        help="run every search in this process (by default each runs in a fresh one)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # SEARCH:REPETITION, run by the parent in a fresh process
    parser.add_argument("--outcome-file", type=pathlib.Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    searches = [name.strip() for name in args.searches.split(",") if name.strip()]
    unknown = set(searches) - set(all_searches())
    if unknown:
        parser.error(f"unknown search(es) {', '.join(sorted(unknown))}; choose from {', '.join(all_searches())}")
    if "optuna" in searches:
        try:
            import optuna  # noqa: F401
        except ImportError:
            parser.error('optuna is not installed: pip install -e ".[bench]"')

    prepare(args.space)
    data = load_data(args.data, args.train_limit)
    budget_s = args.budget_minutes * 60
    if args.one:  # a child: one search, its outcome written for the parent
        name, repetition = args.one.rsplit(":", 1)
        outcome = measure(name, int(repetition), data, budget_s)
        args.outcome_file.write_text(json.dumps(dataclasses.asdict(outcome)))
        return
    print(f"data: {data.description}; budget {args.budget_minutes:g} min per search; searches {', '.join(searches)}",
          flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    settings = {"data": args.data, "train_limit": args.train_limit, "budget_minutes": args.budget_minutes,
                **({"space": args.space} if args.space != "grid" else {})}  # the grid's as outcomes.json had it
    try:
        outcomes = load_outcomes(args.out, settings)
    except ValueError as error:
        parser.exit(2, f"peers.py: error: {error}\n")
    for outcome in outcomes:
        print(f"repetition {outcome.repetition} {outcome.search}: measured before (best val accuracy "
              f"{outcome.best():.4f}), kept", flush=True)
    for repetition in range(args.repetitions):
        order = searches[repetition % len(searches):] + searches[:repetition % len(searches)]
        for name in order:
            if any(o.search == name and o.repetition == repetition for o in outcomes):
                continue
            if args.in_process:
                outcome = measure(name, repetition, data, budget_s)
            else:
                outcome = measure_in_own_process(name, repetition, args)
                if outcome is None:
                    parser.exit(2, f"peers.py: error: the {name} search of repetition {repetition} failed (its "
                                   f"output is above); the searches finished before it are kept in "
                                   f"{args.out / OUTCOMES_FILE}\n")
            outcomes.append(outcome)
            print(f"repetition {repetition} {name}: best val accuracy {outcome.best():.4f} at "
                  f"{outcome.time_to(outcome.best()):.0f} s, test accuracy of the pick {outcome.test_accuracy:.4f}, "
                  f"{outcome.trials} trials, {outcome.epochs} epochs, {outcome.overhead_s:.2f} s per trial outside "
                  "the epochs", flush=True)
            save_outcomes(args.out, settings, outcomes)  # what is done so far survives a stopped run
            write(outcomes, args.out, budget_s, final=False)
    write([o for o in outcomes if o.search in searches and o.repetition < args.repetitions], args.out, budget_s)


def measure(name: str, repetition: int, data, budget_s: float) -> Outcome:
    """The search `name` at repetition `repetition`'s seed, in this process."""
    seed = 1000 * repetition + 7
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        if name.startswith("kerashp-"):
            outcome = run_kerashp(data, seed, budget_s, name.removeprefix("kerashp-"), scratch)
        elif name == "keras-tuner":
            outcome = run_keras_tuner(data, seed, budget_s, scratch)
        else:
            outcome = run_optuna(data, seed, budget_s)
    outcome.repetition = repetition
    return outcome


def measure_in_own_process(name: str, repetition: int, args: argparse.Namespace) -> Outcome | None:
    """The same, in a fresh Python process, so that no search runs in a process aged by the ones before it
    (KerasTuner's time per trial outside the epochs grows with it: benchmarks/peers_process_age.py).
    None when that process fails."""
    with tempfile.TemporaryDirectory() as scratch:
        outcome_file = pathlib.Path(scratch) / "outcome.json"
        command = [sys.executable, str(pathlib.Path(__file__).resolve()), "--data", args.data, "--train-limit",
                   str(args.train_limit), "--budget-minutes", repr(args.budget_minutes), "--space", args.space,
                   "--searches", name,
                   "--one", f"{name}:{repetition}", "--outcome-file", str(outcome_file)]
        finished = subprocess.run(command, check=False)
        if finished.returncode != 0 or not outcome_file.exists():
            return None
        item = json.loads(outcome_file.read_text())
    return Outcome(**{**item, "events": [tuple(event) for event in item["events"]],
                       "picks": [tuple(p) for p in item.get("picks", [])]})


OUTCOMES_FILE = "outcomes.json"


def load_outcomes(out: pathlib.Path, settings: dict) -> list[Outcome]:
    """The searches finished by an earlier invocation with the same data, training images and
    budget (a rerun measures only the rest); another invocation's settings: ValueError."""
    path = out / OUTCOMES_FILE
    if not path.exists():
        return []
    try:
        saved = json.loads(path.read_text())
        outcomes = [Outcome(**{**item, "events": [tuple(event) for event in item["events"]],
                       "picks": [tuple(p) for p in item.get("picks", [])]})
                    for item in saved["outcomes"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} cannot be read ({error}); move it away to start these measurements again") from None
    if saved.get("settings") != settings:
        raise ValueError(f"{path} holds searches measured with {saved.get('settings')}, not {settings}: "
                         "choose another --out")
    return outcomes


def save_outcomes(out: pathlib.Path, settings: dict, outcomes: list[Outcome]) -> None:
    """Every finished search, written whole to a new file, then renamed over the last one."""
    path = out / OUTCOMES_FILE
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps({"settings": settings, "outcomes": [dataclasses.asdict(o) for o in outcomes]}))
    os.replace(partial, path)


def write(outcomes: list[Outcome], out: pathlib.Path, budget_s: float, final: bool = True) -> None:
    with open(out / "peers.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["search", "repetition", "seconds", "best_val_accuracy"])
        for outcome in outcomes:
            for seconds, best in outcome.curve():
                writer.writerow([outcome.search, outcome.repetition, f"{seconds:.1f}", f"{best:.4f}"])
    with open(out / "peers_summary.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["search", "repetition", "best_val_accuracy", "seconds_to_best", "test_accuracy_of_pick",
                         "epochs", "trials", "overhead_s_per_trial", "pick"])
        for o in outcomes:
            writer.writerow([o.search, o.repetition, f"{o.best():.4f}", f"{o.time_to(o.best()):.1f}",
                             f"{o.test_accuracy:.4f}", o.epochs, o.trials, f"{o.overhead_s:.2f}",
                             json.dumps(o.pick, sort_keys=True)])
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4))
    colours = {"kerashp-asha": "tab:blue", "kerashp-asha-best": "tab:pink", "kerashp-asha-min3": "tab:red",
               "kerashp-hyperband": "tab:cyan", "kerashp-bayesian": "tab:purple", "kerashp-tpe": "tab:brown",
               "keras-tuner": "tab:orange", "optuna": "tab:green"}
    for o in outcomes:
        points = o.curve()
        if points:
            xs, ys = zip(*points)
            axes.step([*xs, budget_s], [*ys, ys[-1]], where="post", color=colours.get(o.search), alpha=0.8,
                      label=o.search if o.repetition == 0 else None)
    top = max((o.best() for o in outcomes if o.events), default=1.0)
    axes.set(xlabel="seconds since the search began", ylabel="best validation accuracy so far",
             title=f"Anytime curves, {'table A' if SPACE_NAME[0] == 'table-a' else 'FashionMNIST grid'} space", ylim=(top - 0.04, top + 0.004))  # where the race is
    axes.legend()
    figure.tight_layout()
    figure.savefig(out / "peers.png", dpi=120)

    pyplot.close(figure)
    if not final:
        return
    peers = [name for name in ("keras-tuner", "optuna") if any(o.search == name for o in outcomes)]
    ours = [name for name in all_searches() if name.startswith("kerashp-") and any(o.search == name for o in outcomes)]
    repetitions = sorted({o.repetition for o in outcomes})
    for mine in ours:
        ratios = []
        for repetition in repetitions:
            by_name = {o.search: o for o in outcomes if o.repetition == repetition}
            rivals = [by_name[p] for p in peers if p in by_name]
            if mine not in by_name or not rivals:
                continue
            best_peer = max(rivals, key=lambda o: o.best())
            ratios.append(by_name[mine].time_to(best_peer.best()) / best_peer.time_to(best_peer.best()))
        if ratios:
            print(f"{mine}: time to the best peer's best validation accuracy over that peer's time, per repetition "
                  f"{', '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f} (target <= 0.5)")
    pairs = same_search_ratios(outcomes)
    with open(out / "peers_same_search.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["search", "repetition", "against_repetition", "ratio"])
        writer.writerows([name, mine, theirs, f"{ratio:.2f}"] for name, mine, theirs, ratio in pairs)
    for name in dict.fromkeys(name for name, *_ in pairs):
        ratios = [ratio for search, _, _, ratio in pairs if search == name]
        print(f"{name} against its own other repetitions (the same ratio, another seed of the same search): "
              f"{sum(r <= 0.5 for r in ratios)} of {len(ratios)} pairs <= 0.5, median {statistics.median(ratios):.2f}")
    print(f"wrote {out / 'peers.csv'}, {out / 'peers_summary.csv'}, {out / 'peers_same_search.csv'}, "
          f"{out / 'peers.png'}")


def same_search_ratios(outcomes: list[Outcome]) -> list[tuple[str, int, int, float]]:
    """For every search and ordered pair of its repetitions (a, b): the time repetition a took to
    reach b's best validation accuracy over b's time to it (inf: never), the target's ratio with
    another seed of the same search in place of the peer: how often the target holds by chance."""
    pairs = []
    for name in dict.fromkeys(o.search for o in outcomes):
        runs = [o for o in outcomes if o.search == name and o.events]
        for mine in runs:
            for theirs in runs:
                if mine is not theirs:
                    best = theirs.best()
                    pairs.append((name, mine.repetition, theirs.repetition,
                                  mine.time_to(best) / theirs.time_to(best)))
    return pairs


if __name__ == "__main__":
    main()
