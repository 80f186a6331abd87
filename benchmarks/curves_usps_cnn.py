"""Learning-curve table B: a 216-point sub-grid of the USPS CNN study, 30 epochs each, the
test split evaluated after every epoch (the replayed search race's confirming table).

    python benchmarks/curves_usps_cnn.py --data file:../shared/datasets/usps.h5 \\
        --out ~/.cache/kerashp/recordings/curves_usps_cnn/seed0      # resumable: rerun to go on
    python benchmarks/curves.py export ~/.cache/kerashp/recordings/curves_usps_cnn/seed0 \\
        --to artifacts/benchmarks/curves_usps_cnn/table.csv.gz

Table B is for the verdict after the levers of the default search were chosen on table A
(benchmarks/curves_fashion_mlp.py): another data set, another model family, another cost
structure (the batch size is searched, so an epoch's cost varies with it). An ordinary
kerashp grid study (`studies/usps_cnn.py`'s model and data: 20% of the 7,291 training
images held out for validation, the 2,007 test images whole; PyTorch's defaults; dropout
0.1; the learning rate divided by 10 every 10 epochs, which does not depend on the run's
length, so that a search's 10- and 20-epoch runs are prefixes of the 30-epoch one) over 1,
2 or 3 convolutional layers of 64 filters, ReLU or tanh, batch norm on or off, batch 50 or
128, SGD / Adam / RMSprop, learning rate 0.1 / 0.01 / 0.001, cross-entropy. Each epoch's
history row holds the training loss and accuracy, the validation loss and accuracy, the test
loss and accuracy (`callbacks.EvaluateEachEpoch`) and the seconds it took (`callbacks.Timing`).
The replay reads it with `--epoch-choices 10,20,30 --cost-by num_layers,batch_norm,batch_size`.
"""

from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from kerashp.cli import main  # noqa: E402
from studies.usps_cnn import UspsCnn  # noqa: E402

EPOCHS = 30
SPACE = {
    "num_layers": [1, 2, 3],
    "activation": ["relu", "tanh"],
    "batch_size": [50, 128],
    "optimizer": ["sgd", "adam", "rmsprop"],
    "learning_rate": [0.1, 0.01, 0.001],
}
# Fixed: the study's builder reads them. The export's `loss` column is the training loss (the
# metric), not this hyperparameter.
FIXED = {"filters": 64, "loss": "cross_entropy"}


class UspsCurves(UspsCnn):
    name = "curves_usps_cnn"
    description = "learning-curve table B: 216 USPS CNNs, 30 epochs, test accuracy every epoch"
    default_search = "grid"
    epochs = EPOCHS
    configs = {}
    experiments = {}
    original = None
    table_hyperparameters = ("num_layers", "activation", "batch_norm", "batch_size", "optimizer", "learning_rate")

    def declare_hyperparameters(self, hp) -> None:
        for name, value in FIXED.items():
            hp.Fixed(name, value)
        hp.Choice("num_layers", SPACE["num_layers"])
        hp.Choice("activation", SPACE["activation"])
        hp.Boolean("batch_norm")
        for name in ("batch_size", "optimizer", "learning_rate"):
            hp.Choice(name, SPACE[name])

    def extra_callbacks(self, hp, run_dir, tensorboard_dir):
        from callbacks import EvaluateEachEpoch

        callbacks = super().extra_callbacks(hp, run_dir, tensorboard_dir)
        if self.data.test is None:
            return callbacks
        return [*callbacks, EvaluateEachEpoch(self.make_dataset(self.data.test, training=False,
                                                                batch_size=hp["batch_size"]))]


if __name__ == "__main__":
    sys.exit(main(UspsCurves))
