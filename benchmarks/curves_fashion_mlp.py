"""Learning-curve table A: a 576-point sub-grid of the FashionMNIST grid, 40 epochs each,
the test split evaluated after every epoch (recorded for the replayed search race).

    python benchmarks/curves_fashion_mlp.py --data file:../shared/datasets/fashion-mnist --train-limit 6000 \\
        --out ~/.cache/kerashp/recordings/curves_fashion_mlp/seed0     # resumable: rerun to go on
    python benchmarks/curves_fashion_mlp.py --data file:../shared/datasets/fashion-mnist --train-limit 6000 \\
        --subset --seed 1 --out ~/.cache/kerashp/recordings/curves_fashion_mlp/seed1  # a second seed
    python benchmarks/curves.py export ~/.cache/kerashp/recordings/curves_fashion_mlp/seed0 \\
        ~/.cache/kerashp/recordings/curves_fashion_mlp/seed1 --to artifacts/benchmarks/curves_fashion_mlp/table.csv.gz

An ordinary kerashp grid study (`studies/fashion_grid.py`'s model, batch 128, PyTorch's
defaults; the data as `benchmarks/peers.py` reads it: 6,000 validation images held out of the
training set, the first `--train-limit` of the rest for training, the test set whole), over two values of each of the grid's hyperparameters but the
optimizer and the learning rate (three each): hidden layers [1024, 256] or [1024, 128],
Xavier uniform or random normal initialisation, batch norm on or off, dropout 0.1 or 0.5
after each hidden layer, SGD / Adam / RMSprop, learning rate 1e-2 / 1e-3 / 1e-4, momentum
0.9 or 0.99. Every point trains 40 epochs at a constant learning rate, so that the grid's
20- and 30-epoch points are prefixes of its run. Each epoch's history row holds the training
loss and accuracy, the validation loss and accuracy, the test loss and accuracy
(`callbacks.EvaluateEachEpoch`) and the seconds it took (`callbacks.Timing`).
`--subset` records the 144 points with [1024, 256] and Xavier initialisation only (a
second training seed for a quarter of the table, to measure training noise). `--part
hidden=1024-128,init=random_normal` records only those points, into another `--out`, so that a
second process shares the work (one process uses about 1.3 of these 2 cores); export both
directories: the replay reads them as one table of seed 0 (a point in both counts once).
"""

from __future__ import annotations

import dataclasses
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from kerashp import option  # noqa: E402
from kerashp.cli import main  # noqa: E402
from studies.fashion_grid import FashionGrid  # noqa: E402

EPOCHS = 40
SPACE = {
    "hidden": ["1024-256", "1024-128"],
    "init": ["xavier_uniform", "random_normal"],
    "batch_norm": [False, True],
    "dropout_1": [0.1, 0.5],
    "dropout_2": [0.1, 0.5],
    "optimizer": ["sgd", "adam", "rmsprop"],
    "learning_rate": [1e-2, 1e-3, 1e-4],
    "momentum": [0.9, 0.99],
}
SUBSET = {"hidden": ["1024-256"], "init": ["xavier_uniform"]}


def part_space(part: str) -> dict[str, list]:
    """`--part`'s "NAME=VALUE,..." as one-value choices of SPACE (a one-line error otherwise)."""
    from kerashp import StudyError

    space = {}
    for item in filter(None, (item.strip() for item in part.split(","))):
        name, _, text = item.partition("=")
        values = [value for value in SPACE.get(name, []) if str(value).lower() == text.strip().lower()]
        if not values:
            raise StudyError(f"--part {item!r}: expected NAME=VALUE with NAME one of {', '.join(SPACE)} "
                             f"and VALUE one of its values")
        space[name] = values
    return space


class FashionCurves(FashionGrid):
    name = "curves_fashion_mlp"
    description = "learning-curve table A: 576 FashionMNIST MLPs, 40 epochs, test accuracy every epoch"
    default_search = "grid"
    epochs = EPOCHS
    configs = {}
    experiments = {}
    original = None
    table_metrics = (("best_val_accuracy", "best val accuracy"), ("final_val_accuracy", "final val accuracy"),
                     ("best_epoch", "best epoch"), ("test_accuracy", "test accuracy"),
                     ("train_time_s", "training time (s)"))

    @dataclasses.dataclass(frozen=True)
    class Options:
        subset: bool = option(False, help="only the 144 points with [1024, 256] and Xavier initialisation "
                                          "(a second seed for a quarter of the table)")
        part: str = option("", metavar="NAME=VALUE,...",
                           help="only the points with these values (e.g. hidden=1024-128,init=random_normal): "
                                "a part of the table recorded by a second process into its own --out")

    def declare_hyperparameters(self, hp) -> None:
        hp.Fixed("epochs", EPOCHS)
        space = {**SPACE, **(SUBSET if self.options.subset else {}), **part_space(self.options.part)}
        hp.Choice("hidden", space["hidden"])
        hp.Choice("init", space["init"])
        if space["batch_norm"] == [False, True]:
            hp.Boolean("batch_norm")  # as recorded: the whole table's study directory holds a Boolean
        else:
            hp.Fixed("batch_norm", space["batch_norm"][0])
        for name in ("dropout_1", "dropout_2", "optimizer", "learning_rate", "momentum"):
            hp.Choice(name, space[name])

    def load_data(self):
        """As the peers benchmark reads it (`benchmarks/peers.py`): 10% of the training images held
        out for validation (6,000, seed 0), the first `--train-limit` of the rest for training,
        the 10,000 test images whole."""
        from peers import load_data

        return load_data(self.settings.data.spec, self.settings.data.train_limit)

    def extra_callbacks(self, hp, run_dir, tensorboard_dir):
        from callbacks import EvaluateEachEpoch

        if self.data.test is None:
            return []
        return [EvaluateEachEpoch(self.make_dataset(self.data.test, training=False, batch_size=self.batch_size))]


if __name__ == "__main__":
    sys.exit(main(FashionCurves))
