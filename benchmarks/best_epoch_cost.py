"""What `--restore-best-weights` costs a run outside its epochs (prints, never asserts).

    python benchmarks/best_epoch_cost.py --repeats 20

kerashp's `BestEpochWeights` writes a run's weights at every epoch that improves its
objective (written whole, renamed into place, the previous best epoch's file removed), and
`restored_best_weights` loads them for the test pass (and, for a run stopped at a pruning
rung, puts the last epoch's back). This times both, through kerashp's own code, on table A's
models (`benchmarks/curves_fashion_mlp.py`: MLPs of [1024, 256] and [1024, 128] units on
784 inputs, with and without batch norm), in a directory beside the repository (a disk,
not a tmpfs). `benchmarks/replay.py` charges these seconds to the simulated clock of the
searches that restore the best epoch: one save per improving epoch, one load per run whose
best epoch is not its last.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def mlp(hidden: tuple[int, ...], batch_norm: bool):
    import keras

    layers = [keras.Input((784,))]
    for units in hidden:
        layers.append(keras.layers.Dense(units, activation="relu"))
        if batch_norm:
            layers.append(keras.layers.BatchNormalization())
    return keras.Sequential([*layers, keras.layers.Dense(10, activation="softmax")])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--dir", type=pathlib.Path, default=ROOT.parent, help="where the weights are written")
    args = parser.parse_args(argv)

    from kerashp.tuning.best_epoch import BestEpochWeights, restored_best_weights

    saves, loads = [], []
    for hidden in ((1024, 256), (1024, 128)):
        for batch_norm in (False, True):
            model = mlp(hidden, batch_norm)
            with tempfile.TemporaryDirectory(dir=args.dir, prefix="best-epoch-cost-") as name:
                directory = pathlib.Path(name)
                callback = BestEpochWeights(directory, "val_accuracy")
                callback.set_model(model)
                callback.on_epoch_begin(0)
                callback.on_epoch_end(0, {"val_accuracy": 0.0})  # the first write (h5 library warm-up)
                started = time.perf_counter()
                for epoch in range(1, args.repeats + 1):
                    callback.on_epoch_end(epoch, {"val_accuracy": epoch / 1000})  # each one improves
                save = (time.perf_counter() - started) / args.repeats
                started = time.perf_counter()
                for _ in range(args.repeats):
                    with restored_best_weights(model, directory, args.repeats + 1, args.repeats + 2, keep=False):
                        pass
                load = (time.perf_counter() - started) / args.repeats
            saves.append(save)
            loads.append(load)
            print(f"hidden {list(hidden)}, batch norm {batch_norm}: {model.count_params():,} parameters; "
                  f"a best epoch's save {save * 1000:.1f} ms, its load (and the last epoch's put back) "
                  f"{load * 1000:.1f} ms")
    print(f"mean over the four: save {sum(saves) / len(saves) * 1000:.1f} ms, load {sum(loads) / len(loads) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
