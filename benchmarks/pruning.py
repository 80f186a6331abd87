"""Pruned against unpruned search on a fixed 81-point subset of the FashionMNIST grid.

    python benchmarks/pruning.py                       # FashionMNIST from ../shared/datasets
    python benchmarks/pruning.py --data sample:fashion_mnist --epochs 9 --train-limit 2000   # a short check

Both searches are `python -m studies.fashion_grid --search grid` over the same 81
points (hidden layers x initialisation x optimizer x learning rate, 3 values each;
batch norm off, dropout 0.2, momentum 0.9, `--epochs` for every point), one after
the other in this process's machine, with the same seed, data and settings; the
pruned one adds `--prune asha --min-epochs 1 --eta 3 --no-restore-best-weights` (the settings it
was recorded with). Prints, for each: epochs
trained, wall time, the trial each would pick (best validation accuracy among its
full-length trials) with its test accuracy, and the best test accuracy among its
full-length trials; then pruned/full ratios. The outputs stay in `--out`
(rerunning resumes them; `--overwrite` starts afresh).

Target (issue 13): at most 1/4 of the epochs for a picked trial within 0.5
points of the full search's. Trials of the same configuration train identically
up to a rung in both searches (same seed, stateless input pipeline), so any
difference comes from the pruned search stopping the full search's winner early.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import time

import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXED = {"batch_norm": False, "dropout_1": 0.2, "dropout_2": 0.2, "momentum": 0.9}


def run(out: pathlib.Path, data: str, epochs: int, train_limit: int | None, prune: list[str], overwrite: bool) -> float:
    command = [sys.executable, "-m", "studies.fashion_grid", "--search", "grid", "--data", data, "--out", str(out),
               "--epochs", str(epochs), "--verbose", "0", *prune]
    for name, value in FIXED.items():
        command += ["--set", f"{name}={value}"]
    if train_limit:
        command += ["--train-limit", str(train_limit)]
    if overwrite:
        command.append("--overwrite")
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return time.perf_counter() - started


def summarize(out: pathlib.Path, epochs: int) -> dict[str, float]:
    table = pd.read_csv(out / "results.csv")
    trained_to = table["rung_epochs"] if "rung_epochs" in table else table.get("epochs_run", table["epochs"])
    full = table[(table["status"] == "COMPLETED") & (trained_to == epochs)]
    picked = full.sort_values(["best_val_accuracy", "trial"], ascending=[False, True]).iloc[0]
    trained = int(table["epochs_trained"].sum()) if "epochs_trained" in table else int(table.get("epochs_run", table["epochs"]).sum())
    return {"trials": len(table), "full_length": len(full), "epochs_trained": trained,
            "picked": picked["name"], "picked_val": float(picked["best_val_accuracy"]),
            "picked_test": float(picked["test_accuracy"]), "best_test": float(full["test_accuracy"].max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="file:../shared/datasets/fashion-mnist")
    parser.add_argument("--epochs", type=int, default=27)
    parser.add_argument("--train-limit", type=int, default=3000, help="training images (10%% of them validate)")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("artifacts/benchmarks/pruning"))
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()
    results = {}
    for label, prune in (("full", ["--prune", "none"]), ("pruned", ["--prune", "asha", "--min-epochs", "1", "--eta", "3",
                                                                 "--no-restore-best-weights"])):
        out = args.out / label
        wall = run(out, args.data, args.epochs, args.train_limit, prune, args.overwrite)
        results[label] = {**summarize(out, args.epochs), "wall_s": wall}
        print(label, results[label], flush=True)
    full, pruned = results["full"], results["pruned"]
    print(f"epochs: pruned {pruned['epochs_trained']} / full {full['epochs_trained']} = "
          f"{pruned['epochs_trained'] / full['epochs_trained']:.3f}")
    print(f"wall time (this invocation, resumed work excluded): pruned {pruned['wall_s']:.0f} s / full "
          f"{full['wall_s']:.0f} s = {pruned['wall_s'] / full['wall_s']:.3f}")
    print(f"picked trial: full {full['picked']} (val {full['picked_val']:.4f}, test {full['picked_test']:.4f}); "
          f"pruned {pruned['picked']} (val {pruned['picked_val']:.4f}, test {pruned['picked_test']:.4f}); "
          f"test difference {100 * (pruned['picked_test'] - full['picked_test']):+.2f} points")
    print(f"best test accuracy among full-length trials: full {full['best_test']:.4f}, pruned {pruned['best_test']:.4f}")


if __name__ == "__main__":
    main()
