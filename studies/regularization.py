"""Weight penalties, dropout, batch size, activation depth and optimizers on FashionMNIST.

    python -m studies.regularization --experiment penalty --data file:../shared/datasets/fashion-mnist
    python -m studies.regularization --experiment all --model cnn --data cifar10

An MLP (two hidden layers of 512 and 256 ReLU units) on FashionMNIST, or with
`--model cnn` the CNN builder (3 layers of 64 filters) on an image data set
such as CIFAR-10. Adam, learning rate 1e-3, batch 128, 10 epochs, 10% of the
training images held out for validation; each experiment varies one setting:

- penalty: none, L1 or L2 on every kernel at 1e-4, 1e-3, 1e-2;
- dropout: 0, 0.2, 0.4 after every hidden layer;
- batch_size: 32, 128, 512;
- activation: sigmoid, tanh, ReLU in a deep (8 hidden layers of 256 units, or
  8 conv layers) network, with every layer's gradient norm recorded during
  the first epochs (`gradient_norms.png`: vanishing gradients with sigmoid);
- optimizer: SGD (0.05), SGD + momentum 0.9 (0.05), RMSprop (1e-3), Adam (1e-3),
  each at its usual learning rate.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras
    import keras_tuner

from kerashp.cli import main
from kerashp.names import OPTIMIZER_NAMES
from kerashp.report import GRADIENT_NORMS_FILE, plot_gradient_norms
from kerashp import Experiment, Study, option, variant
from kerashp.original import Claim, Original

ACTIVATIONS = ("sigmoid", "tanh", "relu")
BASE = {"penalty": "none", "penalty_strength": 1e-4, "dropout": 0.0, "batch_size": 128, "activation": "relu",
        "depth": 2, "optimizer": "adam", "learning_rate": 1e-3}
DEEP = 8
GRADIENT_EPOCHS = 2  # epochs of gradient norms drawn in gradient_norms.png

vary = functools.partial(variant, BASE)


def original(*claims):
    return Original(source="the regularisation study's stated expectations (in words)",
                    budget="FashionMNIST, an MLP of 512 and 256 ReLU units (8 x 256 for the activation experiment), "
                           "Adam 1e-3, batch 128, 10 epochs, Keras", claims=claims,
                    notes="" if claims else "no numbers or claims are declared for this experiment")


class Regularization(Study):
    name = "regularization"
    description = "regularisation and optimisers: L1/L2, dropout, batch size, activation depth, optimizer"
    default_data = "fashion_mnist"
    quick_data = "sample:fashion_mnist"
    default_val_split = 0.1
    batch_size = 128
    experiments = {
        "penalty": Experiment(
            {"none": vary(), **{f"{kind.upper()} {strength:g}": vary(penalty=kind, penalty_strength=strength)
                                for kind in ("l1", "l2") for strength in (1e-4, 1e-3, 1e-2)}},
            epochs=10, description="no penalty, L1 or L2 on every kernel", original=original()),
        "dropout": Experiment({f"dropout {rate}": vary(dropout=rate) for rate in (0.0, 0.2, 0.4)},
                              epochs=10, description="dropout after every hidden layer", original=original()),
        "batch_size": Experiment({f"batch {size}": vary(batch_size=size) for size in (32, 128, 512)},
                                 epochs=10, description="batch size at the same learning rate and epochs",
                                 original=original()),
        "activation": Experiment({name: vary(activation=name, depth=DEEP) for name in ACTIVATIONS},
                                 epochs=10, description=f"activations of a {DEEP}-layer network, with gradient norms",
                                 original=original(Claim(f"sigmoid trains worst in a {DEEP}-layer network "
                                                         "(vanishing gradients)", "final_val_accuracy",
                                                         worse=("sigmoid",)))),
        "optimizer": Experiment(
            {"SGD": vary(optimizer="sgd", learning_rate=0.05),
             "SGD + momentum": vary(optimizer="sgd_momentum", learning_rate=0.05),
             "RMSprop": vary(optimizer="rmsprop"), "Adam": vary(optimizer="adam")},
            epochs=10, description="optimizers at their usual learning rates", original=original()),
    }
    table_hyperparameters = ("penalty", "penalty_strength", "dropout", "batch_size", "activation", "depth",
                             "optimizer", "learning_rate")
    table_metrics = (
        ("best_val_accuracy", "best val accuracy"), ("final_val_accuracy", "final val accuracy"),
        ("final_accuracy", "final train accuracy"), ("test_accuracy", "test accuracy"),
        ("train_time_s", "training time (s)"),
    )
    curves = ()
    curve_grid = (("loss", "train loss"), ("val_loss", "validation loss"),
                  ("accuracy", "train accuracy"), ("val_accuracy", "validation accuracy"))

    @dataclasses.dataclass(frozen=True)
    class Options:
        model: str = option("mlp", choices=("mlp", "cnn"), help="MLP (FashionMNIST) or the CNN builder (e.g. CIFAR-10)")
        grad_norm_every: int = option(10, metavar="N", help="record each layer's gradient norm every N steps "
                                                            "(activation experiment)")

    def declare_hyperparameters(self, hp: keras_tuner.HyperParameters) -> None:
        hp.Choice("penalty", ["none", "l1", "l2"])
        hp.Float("penalty_strength", 1e-5, 1e-2, sampling="log")
        hp.Choice("dropout", [0.0, 0.2, 0.4])
        hp.Choice("batch_size", [32, 128, 512])
        hp.Choice("activation", list(ACTIVATIONS))
        hp.Int("depth", 1, DEEP)
        hp.Choice("optimizer", list(OPTIMIZER_NAMES))
        hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")

    def check_hyperparameters(self, values) -> None:
        from kerashp.losses import make_penalty
        from kerashp.optimizers import make_optimizer

        make_penalty(values["penalty"], values["penalty_strength"])
        make_optimizer(values["optimizer"], values["learning_rate"])
        if not 0.0 <= values["dropout"] < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {values['dropout']}")
        if values["activation"] not in ACTIVATIONS or int(values["depth"]) < 1 or int(values["batch_size"]) < 1:
            raise ValueError(f"need an activation of {ACTIVATIONS}, depth >= 1 and batch_size >= 1, got "
                             f"{values['activation']!r}, {values['depth']}, {values['batch_size']}")

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        import keras

        from kerashp.losses import make_penalty
        from kerashp.models import build_cnn, build_mlp
        from kerashp.optimizers import make_optimizer

        penalty = make_penalty(hp["penalty"], hp["penalty_strength"])
        depth = hp["depth"]
        if self.options.model == "cnn":
            model = build_cnn(self.data.input_shape, self.data.num_classes, filters=64,
                              num_layers=3 if depth == BASE["depth"] else depth, activation=hp["activation"],
                              dropout=hp["dropout"], kernel_regularizer=penalty)
        else:
            units = [512, 256] if depth == BASE["depth"] else [256] * depth
            model = build_mlp(self.data.input_shape, units, outputs=self.data.num_classes,
                              activation=hp["activation"], dropout=hp["dropout"], kernel_regularizer=penalty)
        model.compile(
            optimizer=make_optimizer(hp["optimizer"], hp["learning_rate"]),
            loss="sparse_categorical_crossentropy",
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        )
        return model

    def extra_callbacks(self, hp, run_dir, tensorboard_dir):
        from callbacks import GradientNorm

        if self.settings.experiment != "activation":
            return []
        return [GradientNorm(r"(hidden|conv)_\d+/kernel", every_n_steps=self.options.grad_norm_every,
                             csv_path=str(run_dir / GRADIENT_NORMS_FILE), log_dir=str(tensorboard_dir))]

    def extra_report(self, trials, table):
        if self.settings.experiment != "activation":
            return {}
        return {"gradient_norms.png": plot_gradient_norms(
            trials, f"Gradient norm per layer, first {GRADIENT_EPOCHS} epochs", max_epoch=GRADIENT_EPOCHS)}

if __name__ == "__main__":
    sys.exit(main(Regularization))
