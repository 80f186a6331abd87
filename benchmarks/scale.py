"""Bookkeeping per trial as a grid search grows (prints, never asserts).

    python benchmarks/scale.py --trials 2000

The FashionMNIST grid's space (23,328 points) in kerashp's GridOracle, on disk in a
temporary project, with no training at all: each trial is created, given an
objective value and ended, as the tuner does, so what is timed is the oracle's
work (choosing the next point, writing trial.json and oracle.json). Prints the
median time per trial in windows of `--window` trials and the ratio of the last
window to the one at trial 100; then the time to reload the project (a rerun).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--window", type=int, default=100)
    args = parser.parse_args()

    from kerashp.quiet import import_keras_quietly

    import_keras_quietly()
    import keras_tuner
    from keras_tuner.engine import trial as trial_module

    from kerashp.tuning.oracle import GridOracle
    from studies.fashion_grid import FashionGrid

    def make_oracle(directory):
        oracle = GridOracle(objective=keras_tuner.Objective("val_accuracy", "max"), max_trials=None, seed=1)
        space = keras_tuner.HyperParameters()
        FashionGrid.declare_hyperparameters(None, space)
        oracle.update_space(space)
        oracle._set_project_dir(directory, "tuner")  # as BaseTuner does
        oracle.verbose = 0  # as the runner sets it: one line per trial of its own, none here
        return oracle

    with tempfile.TemporaryDirectory() as directory:
        oracle = make_oracle(directory)
        print(f"grid of {oracle.grid_size()} points; {args.trials} trials", flush=True)
        times = []
        for index in range(args.trials):
            started = time.perf_counter()
            trial = oracle.create_trial("tuner0")
            oracle.update_trial(trial.trial_id, {"val_accuracy": (index % 97) / 97})
            trial.status = trial_module.TrialStatus.COMPLETED
            oracle.end_trial(trial)
            times.append(time.perf_counter() - started)
            if (index + 1) % args.window == 0:
                window = times[-args.window:]
                print(f"trials {index + 2 - args.window:6d}-{index + 1:6d}: median {statistics.median(window) * 1e3:7.2f} ms "
                      "per trial", flush=True)
        first = statistics.median(times[args.window:2 * args.window]) if args.trials >= 2 * args.window else None
        last = statistics.median(times[-args.window:])
        if first:
            print(f"per-trial time, last window / trials {args.window + 1}-{2 * args.window}: {last / first:.2f}x")
        started = time.perf_counter()
        reloaded = make_oracle(directory)
        reloaded.reload()
        print(f"reload of {len(reloaded.trials)} trials: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
