"""Grid, random, Bayesian or TPE search over fully connected networks on FashionMNIST.

    python -m studies.fashion_grid                          # the whole grid, resumable, until stopped
    python -m studies.fashion_grid --search random --trials 30 --seeds 3
    python -m studies.fashion_grid --data file:../shared/datasets/fashion-mnist --search bayesian --trials 20
    python -m studies.fashion_grid --search tpe --trials 400 --prune asha --max-minutes 60

The search space of the original: epochs {20, 30, 40}; hidden layers
[1024, 256], [1024, 512] or [1024, 128]; weight initialisation Xavier uniform,
random normal or Kaiming uniform; batch norm on/off; dropout per hidden layer
from {0.5, 0.3, 0.2, 0.1}; ReLU; SGD, Adam or RMSprop; learning rate
{1e-2, 1e-3, 1e-4}; momentum {0.9, 0.95, 0.99} (SGD's and RMSprop's momentum,
Adam's beta_1). 23,328 grid points. Batch 128; 10% of the training images
held out for validation (fixed seed); test accuracy of every run.

The original ran in PyTorch, so the networks use PyTorch's defaults
(`--defaults keras` for Keras'): "random normal" is `torch.nn.init.normal_`,
N(0, 1); biases and the output layer are uniform in +-1/sqrt(fan_in); Adam's
epsilon is 1e-8, RMSprop's alpha 0.99; batch norm has momentum 0.1 (PyTorch's
convention) and epsilon 1e-5 (see kerashp.frameworks).

The named configurations (`--search configs`) are the original's initialisation
tables: the six grid points it reports, Xavier uniform, random normal and
Kaiming uniform initialisation, each with and without batch norm and each with
its own dropout pair, on [1024, 256] with Adam 1e-3 for 30 epochs:

    python -m studies.fashion_grid --search configs --seeds 3 --out artifacts/fashion_grid/init_bn
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras
    import keras_tuner

from kerashp.cli import main
from kerashp import Study, variant
from kerashp.original import Claim, Original, Reported

HIDDEN_LAYERS = {"1024-256": [1024, 256], "1024-512": [1024, 512], "1024-128": [1024, 128]}
INITIALIZERS = ("xavier_uniform", "random_normal", "kaiming_uniform")  # kerashp.frameworks' names
OPTIMIZERS = {"sgd": "sgd_momentum", "adam": "adam", "rmsprop": "rmsprop"}
DROPOUTS = [0.5, 0.3, 0.2, 0.1]
INIT_BASE = {"epochs": 30, "hidden": "1024-256", "init": "xavier_uniform", "batch_norm": False,
             "dropout_1": 0.2, "dropout_2": 0.2, "optimizer": "adam", "learning_rate": 1e-3, "momentum": 0.9}
# The original's initialisation tables: (name, init, batch norm, dropout after each hidden layer).
INIT_TABLES = (
    ("Xavier + BN", "xavier_uniform", True, (0.3, 0.5)),
    ("Random normal + BN", "random_normal", True, (0.3, 0.2)),
    ("Kaiming + BN", "kaiming_uniform", True, (0.1, 0.1)),
    ("Xavier", "xavier_uniform", False, (0.1, 0.1)),
    ("Random normal", "random_normal", False, (0.5, 0.3)),
    ("Kaiming", "kaiming_uniform", False, (0.2, 0.5)),
)

# The original's mean and standard deviation of test accuracy for each INIT_TABLES point.
INIT_PUBLISHED = (
    ("Xavier + BN", 0.8967, 0.0222), ("Random normal + BN", 0.8807, 0.0202), ("Kaiming + BN", 0.8912, 0.0175),
    ("Xavier", 0.8976, 0.0175), ("Random normal", 0.7372, 0.0335), ("Kaiming", 0.8978, 0.0251),
)


class FashionGrid(Study):
    name = "fashion_grid"
    description = "fully connected networks on FashionMNIST: the original's grid, or a random, Bayesian or TPE search of it"
    default_data = "fashion_mnist"
    quick_data = "sample:fashion_mnist"
    default_val_split = 0.1
    default_search = "grid"
    epochs_hyperparameter = True
    epochs = 20
    batch_size = 128
    table_hyperparameters = ("epochs", "hidden", "init", "batch_norm", "dropout_1", "dropout_2",
                             "optimizer", "learning_rate", "momentum")
    table_metrics = (
        ("best_val_accuracy", "best val accuracy"), ("final_val_accuracy", "final val accuracy"),
        ("best_epoch", "best epoch"), ("test_accuracy", "test accuracy"), ("train_time_s", "training time (s)"),
    )
    curves = ()
    curve_grid = (("loss", "train loss"), ("val_loss", "validation loss"),
                  ("accuracy", "train accuracy"), ("val_accuracy", "validation accuracy"))
    isolation_hyperparameter = "optimizer"
    original_framework = "pytorch"
    original = Original(
        source="the original's initialisation tables (test accuracy of six grid points; its text: random normal "
               "initialisation dramatically hurt test accuracy)",
        results={name: {"test_accuracy": Reported(mean, std, "test accuracy, mean and standard deviation")}
                 for name, mean, std in INIT_PUBLISHED},
        budget="FashionMNIST, 60,000 training images, [1024, 256] ReLU, Adam 1e-3, batch 128, 30 epochs, each "
               "initialisation with its own dropout pair, PyTorch (random normal: torch.nn.init.normal_, N(0, 1))",
        claims=(Claim("random normal initialisation hurts (without batch norm)", "test_accuracy",
                      better=("Xavier", "Kaiming"), worse=("Random normal",)),
                Claim("random normal initialisation hurts (with batch norm)", "test_accuracy",
                      better=("Xavier + BN", "Kaiming + BN"), worse=("Random normal + BN",))),
        notes="each initialisation comes with the dropout pair of the original's grid point, so a difference "
              "mixes initialisation and dropout, as in the original; 10% of the training images are held out "
              "for validation here",
    )
    configs = {name: variant(INIT_BASE, init=init, batch_norm=batch_norm, dropout_1=first, dropout_2=second)
               for name, init, batch_norm, (first, second) in INIT_TABLES}

    def declare_hyperparameters(self, hp: keras_tuner.HyperParameters) -> None:
        hp.Choice("epochs", [20, 30, 40])
        hp.Choice("hidden", list(HIDDEN_LAYERS))
        hp.Choice("init", list(INITIALIZERS))
        hp.Boolean("batch_norm")
        hp.Choice("dropout_1", DROPOUTS)
        hp.Choice("dropout_2", DROPOUTS)
        hp.Choice("optimizer", list(OPTIMIZERS))
        hp.Choice("learning_rate", [1e-2, 1e-3, 1e-4])
        hp.Choice("momentum", [0.9, 0.95, 0.99])

    def check_hyperparameters(self, values) -> None:
        from kerashp.optimizers import make_optimizer

        make_optimizer(OPTIMIZERS[values["optimizer"]], values["learning_rate"], values["momentum"],
                       framework=self.framework)
        for name in ("dropout_1", "dropout_2"):
            if not 0.0 <= values[name] < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {values[name]}")
        if values["hidden"] not in HIDDEN_LAYERS or values["init"] not in INITIALIZERS:
            raise ValueError(f"hidden must be one of {', '.join(HIDDEN_LAYERS)} and init one of "
                             f"{', '.join(INITIALIZERS)}")
        if int(values["epochs"]) <= 0:
            raise ValueError(f"epochs must be positive, got {values['epochs']}")

    def network(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        """The trial's MLP, uncompiled."""
        from kerashp.models import build_mlp

        return build_mlp(
            self.data.input_shape, HIDDEN_LAYERS[hp["hidden"]], outputs=self.data.num_classes,
            activation="relu", dropout=[hp["dropout_1"], hp["dropout_2"]], batch_norm=hp["batch_norm"],
            kernel_initializer=hp["init"], framework=self.framework, variable_dropout=True,
        )

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        import keras

        from kerashp.optimizers import make_optimizer

        model = self.network(hp)
        model.compile(
            optimizer=make_optimizer(OPTIMIZERS[hp["optimizer"]], hp["learning_rate"], hp["momentum"],
                                     framework=self.framework, in_variables=True),
            loss="sparse_categorical_crossentropy",
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        )
        return model

    def architecture_key(self, hp):
        # What the traced train step holds as constants: the layers and the optimizer's kind
        # (and its momentum where the optimizer keeps it a constant: Keras' SGD and RMSprop).
        # The initialisation, the dropout rates (VariableDropout), the learning rate and the
        # momentum are set in place (reconfigure): the grid's 23,328 points need 18 traces.
        from kerashp.optimizers import momentum_in_variable

        name = OPTIMIZERS[hp["optimizer"]]
        return (hp["hidden"], hp["batch_norm"], hp["optimizer"],
                None if momentum_in_variable(name, self.framework) else hp["momentum"])

    def pack_key(self, hp):
        return None  # --pack: not checked against unpacked runs for this study yet

    def reconfigure(self, model, hp) -> None:
        from kerashp.models import copy_initial_state
        from kerashp.optimizers import momentum_in_variable, momentum_name, set_hyperparameters

        # Weights and dropout rates drawn as a fresh build draws them, under the same seed.
        copy_initial_state(model, self.network(hp))
        model.optimizer.learning_rate = hp["learning_rate"]  # variables: assigned, nothing retraced
        name = OPTIMIZERS[hp["optimizer"]]
        if momentum_in_variable(name, self.framework):
            set_hyperparameters(model.optimizer, **{momentum_name(name): hp["momentum"]})


if __name__ == "__main__":
    sys.exit(main(FashionGrid))
