"""Shared compiled models against a model per trial on the FashionMNIST grid (prints,
never asserts).

    python benchmarks/grid_reuse.py --data file:../shared/datasets/fashion-mnist
    python benchmarks/grid_reuse.py --data sample:fashion_mnist --trials 12 --train-limit 2000   # a short check

The same random search (`--trials` points of the whole grid, one epoch each, so that
per-trial costs show as they do at a pruned search's first rung) runs twice in this
process, in the order shared, fresh, fresh, shared: once as the study is (trials share
one compiled model per architecture key: hidden layers, batch norm and optimizer,
18 of them, `FashionGrid.architecture_key`), once with `architecture_key` returning
None (every trial builds and traces its own model). Prints each run's wall time,
its training time (the epochs, tracing included) and the time outside the epochs,
per trial; the ratio shared/fresh; and whether both found the same best validation
accuracy (they train the same trials to the same numbers).
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
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="fashion_mnist")
    parser.add_argument("--train-limit", type=int, default=6000)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    import logging

    logging.getLogger("kerashp").setLevel(logging.WARNING)
    from kerashp.quiet import import_keras_quietly

    import_keras_quietly()
    import kerashp
    from peers import grid_study, load_data

    data = load_data(args.data, args.train_limit)
    shared = grid_study(data)

    class Fresh(shared):
        def architecture_key(self, hp):
            return None

    print(f"data: {data.description}; {args.trials} random grid points, 1 epoch each", flush=True)
    walls: dict[str, list[float]] = {"shared": [], "fresh": []}
    best: dict[str, set] = {"shared": set(), "fresh": set()}
    for label, study_class in (("shared", shared), ("fresh", Fresh), ("fresh", Fresh), ("shared", shared)):
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            results = kerashp.run(study_class, search="random", trials=args.trials, seed=args.seed, out=out,
                                  verbose=0, set={"epochs": 1})
            wall = time.perf_counter() - started
        table = results.table
        train = float(table["train_time_s"].sum())
        walls[label].append(wall)
        best[label].add(round(float(table["best_val_accuracy"].max()), 6))
        print(f"{label:6s} wall {wall:6.1f} s: {wall / args.trials:.2f} s per trial, of which epochs "
              f"{train / args.trials:.2f} s and outside them {(wall - train) / args.trials:.2f} s", flush=True)
    ratio = statistics.fmean(walls["shared"]) / statistics.fmean(walls["fresh"])
    print(f"shared / fresh wall time: {ratio:.2f} (means of 2 runs each); best validation accuracy "
          f"{sorted(best['shared'])} shared, {sorted(best['fresh'])} fresh")


if __name__ == "__main__":
    main()
