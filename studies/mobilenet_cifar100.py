"""Learning rate, cosine schedule, weight decay and activation of MobileNet v1 on CIFAR-100.

    python -m studies.mobilenet_cifar100 --experiment learning_rate     # 15 epochs
    python -m studies.mobilenet_cifar100 --experiment schedule --epochs 20
    python -m studies.mobilenet_cifar100 --experiment all --data folder:../shared/datasets/cifar10-jpeg.tar.gz

Data: 40,000 train / 10,000 validation (fixed seed) from the training split, the
10,000 test images for the final evaluation only; random 32x32 crops of the
4-pixel-padded image and horizontal flips on training batches; per-channel
normalisation with training-split statistics. SGD, momentum 0.9, batch 128.
The original ran in PyTorch, so the network and SGD use PyTorch's defaults
(weights uniform in +-1/sqrt(fan_in), batch norm momentum 0.1 in PyTorch's
convention and epsilon 1e-5, SGD's momentum buffer of gradients and coupled
weight decay; `--defaults keras` for Keras'; see kerashp.frameworks).
"""

from __future__ import annotations

import dataclasses
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras
    import keras_tuner

from kerashp.cli import main
from kerashp.data.augment import channel_statistics, normalize_channels, pad_crop_flip
from kerashp.report import GRADIENT_NORMS_FILE, markdown_table, plot_gradient_norms
from kerashp import Experiment, Study, option
from kerashp.original import Claim, Original

GRADIENT_VARIABLE = "block_8_depthwise/kernel"
SIGMOID_BLOCKS = range(4, 11)


BUDGET = ("CIFAR-100, 40,000 train / 10,000 validation images of the training split, MobileNet v1 for 32x32 "
          "inputs, SGD momentum 0.9, batch 128, crops and flips, PyTorch")
SOURCE = "the original's write-up (final numbers of each run)"


def original(epochs, results, *claims):
    return Original(source=SOURCE, budget=f"{BUDGET}, {epochs} epochs", results=results, claims=claims)


def setting(learning_rate, schedule="constant", weight_decay=0.0, activation="relu"):
    return {"learning_rate": learning_rate, "schedule": schedule, "weight_decay": weight_decay, "activation": activation}


class MobileNetCifar100(Study):
    name = "mobilenet_cifar100"
    description = "MobileNet v1 on CIFAR-100: learning rate, cosine schedule, weight decay, activation"
    default_data = "cifar100"
    default_val_split = 0.2
    original_framework = "pytorch"
    quick_experiments = ("learning_rate",)  # three short runs; the others are 300-epoch schedules
    batch_size = 128
    experiments = {
        "learning_rate": Experiment(
            {f"lr {lr}": setting(lr) for lr in (0.01, 0.05, 0.2)}, epochs=15,
            description="constant learning rates",
            original=original(15, {"lr 0.01": {"final_loss": 1.953, "final_val_accuracy": 0.4225},
                                   "lr 0.05": {"final_loss": 1.762, "final_val_accuracy": 0.4604},
                                   "lr 0.2": {"final_loss": 1.838, "final_val_accuracy": 0.4480}},
                              Claim("0.05 gives the best final validation accuracy", "final_val_accuracy",
                                    better=("lr 0.05",)),
                              Claim("0.05 gives the lowest final training loss", "final_loss", better=("lr 0.05",),
                                    higher_is_better=False))),
        "schedule": Experiment(
            {"constant 0.05": setting(0.05), "cosine 0.05": setting(0.05, "cosine")}, epochs=300,
            description="constant vs cosine annealing to 0",
            original=original(300, {"constant 0.05": {"final_val_accuracy": 0.5580},
                                    "cosine 0.05": {"final_val_accuracy": 0.5751}},
                              Claim("cosine annealing beats a constant rate", "final_val_accuracy",
                                    better=("cosine 0.05",), worse=("constant 0.05",)))),
        "weight_decay": Experiment(
            {f"wd {wd:g}": setting(0.05, "cosine", wd) for wd in (1e-4, 5e-4)}, epochs=300,
            description="weight decay (PyTorch's coupled form by default) with cosine 0.05",
            original=original(300, {"wd 0.0001": {"final_val_accuracy": 0.6032, "test_accuracy": 0.6199},
                                    "wd 0.0005": {"final_val_accuracy": 0.6795, "test_accuracy": 0.6812}},
                              Claim("weight decay 5e-4 beats 1e-4", "final_val_accuracy", better=("wd 0.0005",)),
                              Claim("weight decay 5e-4 beats 1e-4 on the test split", "test_accuracy",
                                    better=("wd 0.0005",)))),
        "activation": Experiment(
            {"relu": setting(0.05, "cosine", 5e-4),
             "sigmoid blocks 4-10": setting(0.05, "cosine", 5e-4, "sigmoid_4_10")}, epochs=300,
            description="ReLU vs sigmoid in blocks 4-10, with the gradient norm of block 8's depthwise kernel",
            original=original(300, {}, Claim("sigmoid in blocks 4-10 trains worse than ReLU", "final_val_accuracy",
                                             worse=("sigmoid blocks 4-10",)))),
    }
    table_hyperparameters = ("learning_rate", "schedule", "weight_decay", "activation")
    table_metrics = (
        ("final_loss", "final train loss"), ("final_val_loss", "final val loss"),
        ("final_accuracy", "final train accuracy"), ("final_val_accuracy", "final val accuracy"),
        ("best_val_accuracy", "best val accuracy"), ("test_accuracy", "test accuracy"),
        ("train_time_s", "training time (s)"), ("images_per_second", "images/s"),
    )
    curves = ()
    curve_grid = (("loss", "train loss"), ("val_loss", "validation loss"),
                  ("accuracy", "train accuracy"), ("val_accuracy", "validation accuracy"))

    @dataclasses.dataclass(frozen=True)
    class Options:
        grad_norm_every: int = option(20, metavar="N", help="record the gradient norm every N training steps "
                                                            "(activation experiment)")

    def declare_hyperparameters(self, hp: keras_tuner.HyperParameters) -> None:
        hp.Float("learning_rate", 1e-3, 0.5, sampling="log")
        hp.Choice("schedule", ["constant", "cosine"])
        hp.Choice("weight_decay", [0.0, 1e-4, 5e-4, 1e-3])
        hp.Choice("activation", ["relu", "sigmoid_4_10"])

    def check_hyperparameters(self, values) -> None:
        from kerashp.optimizers import make_sgd

        make_sgd(values["learning_rate"], 0.9, values["weight_decay"], framework=self.framework)
        if values["schedule"] not in ("constant", "cosine"):
            raise ValueError(f"schedule must be constant or cosine, got {values['schedule']!r}")
        if values["activation"] not in ("relu", "sigmoid_4_10"):
            raise ValueError(f"activation must be relu or sigmoid_4_10, got {values['activation']!r}")

    def load_data(self):
        data = super().load_data()  # 40k/10k with the fixed split_seed 0
        self._statistics = channel_statistics(data.train)
        return data

    def preprocessing(self, data):
        return normalize_channels(*self._statistics)

    def augmentation(self, data):
        return pad_crop_flip(4)

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        from kerashp.models.mobilenet import block_activations, build_mobilenet
        from kerashp.optimizers import make_sgd

        activations = (
            block_activations("relu", {i: "sigmoid" for i in SIGMOID_BLOCKS})
            if hp["activation"] == "sigmoid_4_10" else "relu"
        )
        model = build_mobilenet(self.data.input_shape, self.data.num_classes, activations=activations,
                                framework=self.framework)
        model.compile(
            optimizer=make_sgd(hp["learning_rate"], momentum=0.9, weight_decay=hp["weight_decay"],
                               framework=self.framework),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    def pack_key(self, hp):
        # Settings of one activation share a network; the learning rate, schedule and weight
        # decay live in each trial's own optimizer and callbacks. The gradient-norm callback
        # of the activation experiment rewrites the train step, so that experiment runs unpacked.
        return None if self.settings.experiment == "activation" else ("mobilenet", hp["activation"])

    def extra_callbacks(self, hp, run_dir, tensorboard_dir):
        from callbacks import CosineAnnealing, GradientNorm

        callbacks = []
        if hp["schedule"] == "cosine":
            callbacks.append(CosineAnnealing(max_rate=hp["learning_rate"], min_rate=0.0, per="epoch"))
        if self.settings.experiment == "activation":
            callbacks.append(GradientNorm(
                GRADIENT_VARIABLE, every_n_steps=self.options.grad_norm_every,
                csv_path=str(run_dir / GRADIENT_NORMS_FILE), log_dir=str(tensorboard_dir),
            ))
        return callbacks

    def extra_report(self, trials, table):
        if self.settings.experiment == "weight_decay":
            columns = [("best_val_accuracy", "best val accuracy"), ("test_accuracy", "test accuracy")]
            return {"test_accuracy.md": f"# {self.name} / weight_decay: final models on the test split\n\n"
                                        + markdown_table(table, ("weight_decay",), columns)}
        if self.settings.experiment == "activation":
            return {"gradient_norm.png": plot_gradient_norms(trials, f"Gradient norm of {GRADIENT_VARIABLE}")}
        return {}

if __name__ == "__main__":
    sys.exit(main(MobileNetCifar100))
