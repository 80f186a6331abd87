"""Epochs or training-set size as the fidelity of a pruned search on the FashionMNIST grid
(prints and writes; never asserts).

    python benchmarks/fidelity.py --data file:../shared/datasets/fashion-mnist --configs 40
    python benchmarks/fidelity.py --data sample:fashion_mnist --configs 4 --epochs 3 --train-limit 600   # a smoke run

A pruned search ranks configurations on a cheap, low-fidelity run and trains on only
the best. kerashp's rungs are epochs (a configuration trained for `b * E` of its `E`
epochs on all the training images); Hyperband's original formulation also uses the
training-set size (all `E` epochs on a fraction `b` of the images). Both cost the same
share `b` of a full run's training steps. This benchmark asks which ranks the grid's
configurations closer to their full-fidelity order at the same cost.

`--configs` configurations are drawn at random (fixed seed) from the FashionMNIST
grid's space (studies/fashion_grid.py; its builder, PyTorch's defaults, batch 128),
with `--epochs` E for all of them; the data are those of benchmarks/peers.py (10% of
the training images validate, the first `--train-limit` of the rest train). Each
configuration is trained once at full fidelity (E epochs, all images; the validation
accuracy after every epoch, so the epoch fidelities b = eta**-k come from its history),
and once per data fraction b (E epochs on the first b of the training images, the same
initial weights, validated once at the end). For each b it prints and writes, per
fidelity: Spearman's rank correlation between the low-fidelity score and the
configuration's full-fidelity score (best validation accuracy over the E epochs); the
full-fidelity score of the configuration the low fidelity ranks first, against the best;
whether the best configuration is in the low fidelity's top 1/eta (what successive
halving promotes); and the measured training seconds.

Writes `--out`/fidelity.csv (one row per configuration), fidelity_summary.csv (one row
per fidelity and budget) and fidelity.png (low-fidelity score against full-fidelity
score).
"""

from __future__ import annotations

import argparse
import csv
import os
import pathlib
import random
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def budgets(epochs: int, eta: int) -> list[int]:
    """The epochs of the rungs below E (1, eta, eta**2, ...): each is a budget b = rung / E."""
    rungs, value = [], 1
    while value < epochs:
        rungs.append(value)
        value *= eta
    return rungs


def draw(space: dict[str, list], count: int, seed: int) -> list[dict]:
    """`count` distinct configurations of the space, at random."""
    generator, drawn, seen = random.Random(seed), [], set()
    while len(drawn) < count:
        values = {name: generator.choice(choices) for name, choices in space.items()}
        key = tuple(sorted(values.items()))
        if key not in seen:
            seen.add(key)
            drawn.append(values)
    return drawn


def spearman(first: list[float], second: list[float]) -> float:
    from scipy import stats

    return float(stats.spearmanr(first, second).statistic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="fashion_mnist")
    parser.add_argument("--train-limit", type=int, default=6000)
    parser.add_argument("--configs", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=27)
    parser.add_argument("--eta", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "artifacts" / "benchmarks" / "fidelity")
    args = parser.parse_args()
    if args.configs < 3 or args.epochs < 2 or args.eta < 2:
        parser.error("needs --configs >= 3, --epochs >= 2 and --eta >= 2")

    import logging

    logging.getLogger("kerashp").setLevel(logging.WARNING)
    from kerashp.quiet import import_keras_quietly

    import_keras_quietly()
    import keras
    import keras_tuner

    import peers
    from studies.fashion_grid import FashionGrid

    space = keras_tuner.HyperParameters()
    FashionGrid.declare_hyperparameters(None, space)
    grid = {hp.name: list(hp.values) if hasattr(hp, "values") else [False, True]
            for hp in space.space if hp.name != "epochs"}
    data = peers.load_data(args.data, args.train_limit)
    study, build = peers.builder(data)
    (x, y), validation = peers.arrays(data.train), peers.arrays(data.validation)
    rungs = budgets(args.epochs, args.eta)
    fractions = {rung: rung / args.epochs for rung in rungs}
    print(f"data: {data.description}; {args.configs} configurations, {args.epochs} epochs; budgets "
          f"{', '.join(f'{rung}/{args.epochs}' for rung in rungs)}", flush=True)

    rows = []
    for index, values in enumerate(draw(grid, args.configs, args.seed)):
        values = {**values, "epochs": args.epochs}
        seed = args.seed * 1000 + index
        keras.utils.set_random_seed(seed)
        model = build(values)
        began = time.perf_counter()
        history = model.fit(x, y, validation_data=validation, batch_size=study.batch_size, epochs=args.epochs,
                            verbose=0).history["val_accuracy"]
        row = {"config": index, **values, "full": max(history), "full_s": time.perf_counter() - began}
        for rung in rungs:
            row[f"epochs_{rung}"] = history[rung - 1]
        keras.backend.clear_session()
        for rung, fraction in fractions.items():
            keras.utils.set_random_seed(seed)  # the same initial weights as the full run
            model = build(values)
            count = max(study.batch_size, round(fraction * len(x)))
            began = time.perf_counter()
            model.fit(x[:count], y[:count], batch_size=study.batch_size, epochs=args.epochs, verbose=0)
            row[f"data_{rung}_s"] = time.perf_counter() - began
            row[f"data_{rung}"] = float(model.evaluate(*validation, batch_size=study.batch_size, verbose=0,
                                                       return_dict=True)["accuracy"])
            keras.backend.clear_session()
        rows.append(row)
        low = {fidelity: ", ".join(f"{row[fidelity + '_' + str(r)]:.3f}" for r in rungs) for fidelity in ("epochs", "data")}
        print(f"configuration {index + 1}/{args.configs}: full {row['full']:.4f}; epochs {low['epochs']}; "
              f"data {low['data']}", flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "fidelity.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: (f"{v:.4f}" if isinstance(v, float) and k not in grid else v) for k, v in row.items()}
                         for row in rows)

    full = [row["full"] for row in rows]
    best = max(full)
    epoch_s = sum(row["full_s"] for row in rows) / args.epochs  # seconds of one epoch on all images, per run
    summary = []
    for rung in rungs:
        for fidelity in ("epochs", "data"):
            scores = [row[f"{fidelity}_{rung}"] for row in rows]
            ranked = sorted(range(len(rows)), key=lambda i: (-scores[i], i))
            top = ranked[:max(1, len(rows) // args.eta)]
            seconds = (epoch_s * rung if fidelity == "epochs" else sum(row[f"data_{rung}_s"] for row in rows))
            summary.append({"fidelity": fidelity, "budget": f"{rung}/{args.epochs}", "spearman": spearman(scores, full),
                            "full_of_first": full[ranked[0]], "best_full": best,
                            "best_in_top": any(full[i] == best for i in top), "train_s": seconds / len(rows)})
    with open(args.out / "fidelity_summary.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(summary[0]))
        writer.writeheader()
        writer.writerows({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items()} for row in summary)
    print("fidelity budget  spearman  full score of its first (best)  best in top 1/eta  train s per configuration")
    for row in summary:
        print(f"{row['fidelity']:8s} {row['budget']:>6s}  {row['spearman']:8.3f}  {row['full_of_first']:.4f} "
              f"({row['best_full']:.4f})  {str(row['best_in_top']):>17s}  {row['train_s']:.2f}")

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(1, len(rungs), figsize=(3.2 * len(rungs), 3.2), sharey=True, squeeze=False)
    for axis, rung in zip(axes[0], rungs):
        for fidelity, colour in (("epochs", "tab:blue"), ("data", "tab:orange")):
            axis.scatter([row[f"{fidelity}_{rung}"] for row in rows], full, s=12, color=colour, alpha=0.8,
                         label=f"{rung} of {args.epochs} epochs" if fidelity == "epochs" else
                         f"{rung}/{args.epochs} of the images")
        axis.set(xlabel="low-fidelity validation accuracy", title=f"budget {rung}/{args.epochs}")
        axis.legend(fontsize=7)
    axes[0][0].set_ylabel("full-fidelity best validation accuracy")
    figure.tight_layout()
    figure.savefig(args.out / "fidelity.png", dpi=120)
    print(f"wrote {args.out / 'fidelity.csv'}, {args.out / 'fidelity_summary.csv'}, {args.out / 'fidelity.png'}")


if __name__ == "__main__":
    main()
