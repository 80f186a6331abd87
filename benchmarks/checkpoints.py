"""What a checkpoint after every epoch costs a search of short epochs, against the automatic
interval (`Study.backup_interval_s = None`, the default), in one process (prints; asserts nothing).

    python benchmarks/checkpoints.py --data file:../shared/datasets/fashion-mnist --train-limit 6000 \\
        --trials 60 --rounds 2

The FashionMNIST grid's space and builder on real FashionMNIST (the first `--train-limit`
training images, 6,000 held out for validation, the test split), as `benchmarks/peers.py`
sets it up: `--trials` random configurations with ASHA (`--prune none`: each trained to
its full length, `--epochs` of them), seed 0. The same search runs with a checkpoint after
every epoch (`backup_interval_s = 0`) and with the automatic interval, taking turns
(`--rounds` rounds, every other one in reverse order, after a 2-trial search that warms the
process up and is not measured), each into a fresh directory. Prints,
per search, its wall time, the epochs trained, the checkpoints written and what writing them
took, and whether both settings gave every trial the same numbers (they must: a checkpoint
changes no number); then the median over rounds of the automatic interval's wall time over
every epoch's.
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
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SETTINGS = {"every epoch": 0.0, "automatic": None}
NUMBERS = ["trial", "status", "epochs_trained", "best_val_accuracy", "final_val_loss"]


def run_search(study_class, interval: float | None, args: argparse.Namespace, out: pathlib.Path) -> dict:
    """One search with `backup_interval_s = interval`: wall time, epochs, checkpoints and their cost, the table."""
    import kerashp
    from kerashp.tuning import backup

    class Search(study_class):
        backup_interval_s = interval

    written: list[float] = []
    original = backup.AtomicBackupAndRestore.write_checkpoint.__func__

    def timed(cls, *arguments, **keywords):
        began = time.perf_counter()
        original(cls, *arguments, **keywords)
        written.append(time.perf_counter() - began)

    backup.AtomicBackupAndRestore.write_checkpoint = classmethod(timed)
    options = {"search": "random", "trials": args.trials, "seed": 0, "out": out, "verbose": 0}
    if args.prune == "none":
        options["epochs"] = args.epochs
    else:
        options.update(prune=args.prune, eta=3)
    try:
        began = time.perf_counter()
        results = kerashp.run(Search, **options)
        wall = time.perf_counter() - began
    finally:
        backup.AtomicBackupAndRestore.write_checkpoint = classmethod(original)
    table = results.table
    epochs = table["epochs_trained"] if "epochs_trained" in table else table["epochs"]  # pruned; each trained whole
    return {"wall": wall, "epochs": int(epochs.sum()), "checkpoints": len(written),
            "checkpoint_s": sum(written), "numbers": table[[c for c in NUMBERS if c in table]].round(6)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="fashion_mnist")
    parser.add_argument("--train-limit", type=int, default=6000)
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--prune", default="asha", choices=["asha", "hyperband", "none"])
    parser.add_argument("--epochs", type=int, default=9, help="each trial's epochs with --prune none")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    import peers

    peers.prepare()
    data = peers.load_data(args.data, args.train_limit)
    study_class = peers.grid_study(data)
    print(f"data: {data.description}; {args.trials} random configurations, prune {args.prune}", flush=True)
    with tempfile.TemporaryDirectory() as scratch:  # not measured: the process's first search pays for warming up
        run_search(study_class, None, argparse.Namespace(**{**vars(args), "trials": 2}), pathlib.Path(scratch) / "s")
    measured: dict[str, list[dict]] = {name: [] for name in SETTINGS}
    for round_index in range(args.rounds):
        order = list(SETTINGS) if round_index % 2 == 0 else list(reversed(SETTINGS))
        for name in order:
            with tempfile.TemporaryDirectory() as scratch:
                result = run_search(study_class, SETTINGS[name], args, pathlib.Path(scratch) / "search")
            measured[name].append(result)
            print(f"round {round_index} {name}: {result['wall']:.1f} s, {result['epochs']} epochs, "
                  f"{result['checkpoints']} checkpoints written in {result['checkpoint_s']:.1f} s "
                  f"({1000 * result['checkpoint_s'] / max(result['checkpoints'], 1):.0f} ms each)", flush=True)
    reference = measured["every epoch"][0]["numbers"]
    same = all(result["numbers"].equals(reference) for results in measured.values() for result in results)
    print(f"every trial's numbers the same in every search: {'yes' if same else 'NO'}")
    ratios = [auto["wall"] / every["wall"] for auto, every in zip(measured["automatic"], measured["every epoch"])]
    print(f"automatic interval over every epoch, wall time per round: {', '.join(f'{r:.3f}' for r in ratios)}; "
          f"median {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
