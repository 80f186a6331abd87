"""What a proposal costs: the oracle's time per trial (propose, record, score, end; no
training) for random search and TPE, unpruned and under ASHA, as the trials on disk
grow (prints; never asserts).

    python benchmarks/proposals.py                  # at 100, 500 and 2,000 trials
    python benchmarks/proposals.py --at 100,1000 --window 50

The space, objective and trial loop of `tests/synthetic_search.py`: five
hyperparameters (a choice of three, a log-scaled float, a boolean, a stepped int, a
choice of four) and a fixed function of them, so that TPE has something to model. Each figure is the mean over `--window` trials created,
scored and ended after the first N.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # tests/synthetic_search.py: the space, objective and trial loop
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--at", default="100,500,2000", help="trials on disk at which to measure")
    parser.add_argument("--window", type=int, default=20, help="trials timed at each point")
    args = parser.parse_args()
    points = sorted(int(value) for value in args.at.split(","))
    from kerashp.quiet import import_keras_quietly

    import_keras_quietly()
    from kerashp.tuning.oracle import ResumableRandomSearchOracle
    from kerashp.tuning.pruners import ASHA, Rungs
    from kerashp.tuning.tpe import ResumableTPEOracle
    from synthetic_search import make_oracle, run_trials

    oracles = {"random": ResumableRandomSearchOracle, "tpe": ResumableTPEOracle}
    print("ms per trial (propose, record, score, end), mean of", args.window, "trials")
    for pruned in (False, True):
        for kind in ("random", "tpe"):
            with tempfile.TemporaryDirectory() as scratch:
                oracle = make_oracle(oracles[kind], pathlib.Path(scratch),
                                     pruner=ASHA(Rungs(1, 3, 9)) if pruned else None)
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
