"""Does a peer search's time outside the epochs grow with the age of the process it runs in?
(prints; never asserts).

    python benchmarks/peers_process_age.py --data file:../shared/datasets/fashion-mnist \\
        --search keras-tuner --budget-minutes 2.5 --runs 2

`benchmarks/peers.py` ran its searches one after the other in one process (now each
runs in a fresh one; `--in-process` for the old way). There KerasTuner's seconds per
trial outside the epochs grew from repetition to repetition (2.3, 4.4, 9.3 s in the
20-minute benchmark) while kerashp's stayed at 0.4 s; the
repetitions differ in seed, so that alone does not say whether the process or the
draws made the difference. Here one search runs `--runs` times in one process with
the same seed, data and budget as `benchmarks/peers.py` gives its repetition 0, and
each run's trials, epochs and seconds per trial outside the epochs are printed.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import peers  # noqa: E402  (benchmarks/peers.py: the same searches, data and space)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="fashion_mnist")
    parser.add_argument("--train-limit", type=int, default=6000)
    parser.add_argument("--budget-minutes", type=float, default=2.5)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--search", default="keras-tuner", choices=peers.SEARCHES)
    args = parser.parse_args()
    if args.search == "optuna":
        try:
            import optuna  # noqa: F401
        except ImportError:
            parser.error('optuna is not installed: pip install -e ".[bench]"')
    peers.prepare()
    data = peers.load_data(args.data, args.train_limit)
    budget_s = args.budget_minutes * 60
    print(f"data: {data.description}; {args.search}, {args.runs} runs of {args.budget_minutes:g} min, repetition "
          "0's seed, one process", flush=True)
    for run in range(args.runs):
        began = time.perf_counter()
        outcome = peers.measure(args.search, 0, data, budget_s)  # peers.py's repetition 0: its seed
        print(f"run {run}: {outcome.trials} trials, {outcome.epochs} epochs, {outcome.overhead_s:.2f} s per trial "
              f"outside the epochs, best val accuracy {outcome.best():.4f}, {time.perf_counter() - began:.0f} s",
              flush=True)


if __name__ == "__main__":
    main()
