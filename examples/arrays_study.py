"""Your own model on your own NumPy arrays: learning rate x optimizer, over seeds.

    python examples/arrays_study.py --seeds 3              # 6 configurations x 3 seeds
    python examples/arrays_study.py --epochs 2 --configs "adam lr=0.001,sgd lr=0.1"
    kerashp run examples/arrays_study.py --help

Replace `make_arrays` with your own loading (np.load, pandas, ...); everything
else stays.
"""

import itertools
import sys

import numpy as np

import kerashp
from kerashp.data import from_arrays


def make_arrays(n=3000, features=20, classes=4, seed=0):
    """Stand-in data: noisy Gaussian clusters (use your own arrays here)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(classes, features)) * 1.5
    y = rng.integers(0, classes, n)
    x = centers[y] + rng.normal(size=(n, features)) * 2.0
    return x.astype("float32"), y


class LearningRateByOptimizer(kerashp.Study):
    name = "lr_by_optimizer"
    description = "learning rate x optimizer for a small MLP on arrays"
    epochs = 8
    batch_size = 64
    configs = {
        f"{optimizer} lr={rate:g}": {"optimizer": optimizer, "learning_rate": rate}
        for optimizer, rate in itertools.product(("sgd", "adam"), (1e-3, 1e-2, 1e-1))
    }
    table_hyperparameters = ("optimizer", "learning_rate")

    def load_data(self):
        x, y = make_arrays()
        return from_arrays(x[:2400], y[:2400], x[2400:], y[2400:], source="Gaussian clusters")

    def build(self, hp):
        import keras  # imported here, so that --help answers before TensorFlow loads

        model = keras.Sequential([
            keras.Input(self.data.input_shape),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(self.data.num_classes, activation="softmax"),
        ])
        optimizer = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam}[hp["optimizer"]]
        model.compile(optimizer(hp["learning_rate"]), "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model


if __name__ == "__main__":
    sys.exit(kerashp.main(LearningRateByOptimizer))
