"""What a proposal costs: the oracle's time per trial (propose, record, score, end; no
training) for random search and TPE, unpruned and under ASHA, as the trials on disk
grow (prints; never asserts).

    python benchmarks/proposals.py                  # at 100, 500 and 2,000 trials
    python benchmarks/proposals.py --at 100,1000 --window 50

The space: five hyperparameters (a choice of three, a log-scaled float, a boolean, a
stepped int, a choice of four); the objective a fixed function of them, so that TPE
has something to model. Each figure is the mean over `--window` trials created,
scored and ended after the first N.
"""

from __future__ import annotations

import argparse
import math
import os
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def space():
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    hp.Choice("optimizer", ["sgd", "adam", "rmsprop"])
    hp.Float("learning_rate", 1e-5, 1e-1, sampling="log")
    hp.Boolean("batch_norm")
    hp.Int("units", 8, 256, step=8)
    hp.Choice("dropout", [0.5, 0.3, 0.2, 0.1])
    return hp


def score(values, epochs):
    return ((values["optimizer"] == "adam") - 0.3 * (math.log10(values["learning_rate"]) + 3) ** 2
            + 0.2 * values["batch_norm"] - abs(values["units"] - 128) / 256 + 1e-3 * epochs)


def make_oracle(kind: str, pruned: bool, directory: pathlib.Path):
    import keras_tuner

    from kerashp.tuning.oracle import ResumableRandomSearchOracle
    from kerashp.tuning.pruners import ASHA, Rungs
    from kerashp.tuning.tpe import ResumableTPEOracle

    cls = {"random": ResumableRandomSearchOracle, "tpe": ResumableTPEOracle}[kind]
    extra = {"pruner": ASHA(Rungs(1, 3, 9)), "full_epochs": lambda trial: 9} if pruned else {}
    oracle = cls(objective=keras_tuner.Objective("score", "max"), hyperparameters=space(), max_trials=10**7,
                 seed=7, max_consecutive_failed_trials=10**6, **extra)
    oracle._set_project_dir(str(directory), "project")  # as the tuner sets it up
    oracle.verbose = 0
    return oracle


def run_trials(oracle, count: int) -> None:
    for _ in range(count):
        trial = oracle.create_trial("tuner0")
        epochs = oracle.rung_book.state(trial.trial_id)["epochs"] if oracle.rung_book else 9
        oracle.update_trial(trial.trial_id, {"score": score(trial.hyperparameters.values, epochs)}, step=epochs)
        trial.status = "COMPLETED"
        oracle.end_trial(trial)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--at", default="100,500,2000", help="trials on disk at which to measure")
    parser.add_argument("--window", type=int, default=20, help="trials timed at each point")
    args = parser.parse_args()
    points = sorted(int(value) for value in args.at.split(","))
    from kerashp.quiet import import_keras_quietly

    import_keras_quietly()
    print("ms per trial (propose, record, score, end), mean of", args.window, "trials")
    for pruned in (False, True):
        for kind in ("random", "tpe"):
            with tempfile.TemporaryDirectory() as scratch:
                oracle = make_oracle(kind, pruned, pathlib.Path(scratch))
                done, figures = 0, []
                for point in points:
                    run_trials(oracle, point - done)
                    started = time.perf_counter()
                    run_trials(oracle, args.window)
                    figures.append(f"{point}: {(time.perf_counter() - started) / args.window * 1000:.1f}")
                    done = point + args.window
                print(f"{kind:6s} {'ASHA' if pruned else 'unpruned':8s} " + ", ".join(figures), flush=True)


if __name__ == "__main__":
    main()
