"""MLP regression of house prices, with a Gaussian likelihood head.

    python -m studies.house_prices --experiment loss --csv ../shared/datasets/house-prices/train.csv
    python -m studies.house_prices --experiment all --csv train.csv --epochs 500
    python -m studies.house_prices --quick                  # the shipped 400-row sample, 2 epochs

Data: the Kaggle "House Prices" training file (Ames, De Cock 2011), features
OverallQual, YearBuilt, TotalBsmtSF and GrLivArea, target SalePrice; a fixed
70/15/15 train/validation/test split of the rows; features and target
standardised with training statistics (errors are reported back in dollars).
Adam, learning rate 3e-4, batch 100, 2000 epochs (`--early-stopping PATIENCE` stops
earlier; off by default, as in the original); the base MLP has two hidden
layers of 128 ReLU units. The Gaussian head predicts a mean and a
log-variance and trains on `kerashp.losses.gaussian_nll`. The original ran in
PyTorch, so the layers and optimizers use PyTorch's defaults (`--defaults keras`
for Keras'; see kerashp.frameworks).
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras
    import keras_tuner

from kerashp.cli import main
from kerashp.data.sources import SAMPLES_DIR
from kerashp.errors import StudyError
from kerashp import Experiment, Study, option, variant
from kerashp.original import Original, Reported

HOUSE_PRICES_SAMPLE = SAMPLES_DIR / "house_prices_sample.csv"
FEATURES = ("OverallQual", "YearBuilt", "TotalBsmtSF", "GrLivArea")
TARGET = "SalePrice"
HEADS = {"mse": "linear", "gaussian": "gaussian"}
WIDTHS = (64, 128, 256)
BASE = {"num_layers": 2, "units": 128, "optimizer": "adam", "learning_rate": 3e-4, "loss": "mse"}

vary = functools.partial(variant, BASE)
BUDGET = ("Kaggle House Prices train.csv (1,460 rows), 4 features, MLP of 128-unit ReLU layers, Adam 3e-4, "
          "batch 100, 2,000 epochs, PyTorch")
SOURCE = "the original house-price study's Table 2 and its final networks (validation and test loss: MSE in dollars^2)"
ORIGINAL = Original(source=SOURCE, budget=BUDGET, notes="no numbers of the original for this experiment")


def val_loss(value: float, what: str) -> Reported:
    return Reported(value, note=f"validation loss, {what}")


DEPTH_ORIGINAL = Original(
    source=SOURCE, budget=BUDGET,
    results={"1 hidden layer": {"val_mse_dollars": val_loss(1_875_367_424.00, "Table 2, 128 neurons")},
             "3 hidden layers": {"val_mse_dollars": val_loss(893_181_020.80, "the final MLP")}},
    notes="Table 2 (one hidden layer): 64 / 128 / 256 neurons 2,045,553,779.20 / 1,875,367,424.00 / "
          "1,972,901,030.40; the final MLP: 3 hidden layers of 128")
WIDTH_ORIGINAL = Original(
    source=SOURCE, budget=BUDGET,
    notes="the original's Table 2 varies the neurons of ONE hidden layer (64 / 128 / 256: validation loss "
          "2,045,553,779.20 / 1,875,367,424.00 / 1,972,901,030.40); here each of 2 hidden layers, so no row compares "
          "(the depth experiment's 1 hidden layer of 128 does)")
LOSS_ORIGINAL = Original(
    source=SOURCE, budget=BUDGET,
    notes="the original's Gaussian-likelihood version of its final MLP (3 hidden layers of 128): 1,875,367,424.0 "
          "validation and 1,750,655,104.0 test loss (its validation figure repeats Table 2's 128-neuron one); here "
          "the head is on the base MLP of 2 hidden layers, so no row compares")


class HousePrices(Study):
    name = "house_prices"
    description = "MLP regression of Ames house prices: depth, width, optimizer, MSE vs Gaussian likelihood"
    default_data = "csv"
    quick_data = "sample"  # the 400-row sample of the CSV shipped with kerashp
    epochs = 2000
    batch_size = 100
    original_framework = "pytorch"
    experiments = {
        "depth": Experiment({f"{n} hidden layer{'s' if n > 1 else ''}": vary(num_layers=n) for n in (1, 2, 3)},
                            epochs=2000, description="1-3 hidden layers of 128 units", original=DEPTH_ORIGINAL),
        "width": Experiment({f"{u} units": vary(units=u) for u in WIDTHS},
                            epochs=2000, description="64/128/256 units in each of 2 hidden layers",
                            original=WIDTH_ORIGINAL),
        "optimizer": Experiment({"SGD": vary(optimizer="sgd"), "RMSprop": vary(optimizer="rmsprop"),
                                 "Adam": vary(optimizer="adam")},
                                epochs=2000, description="SGD, RMSprop, Adam at learning rate 3e-4", original=ORIGINAL),
        "loss": Experiment({"MSE": vary(loss="mse"), "Gaussian NLL": vary(loss="gaussian")},
                           epochs=2000, description="mean squared error vs a Gaussian negative log-likelihood head",
                           original=LOSS_ORIGINAL),
    }
    table_hyperparameters = ("num_layers", "units", "optimizer", "loss")
    table_metrics = (
        ("val_mse_dollars", "val MSE ($^2)"), ("val_rmse_dollars", "val RMSE ($)"),
        ("test_mse_dollars", "test MSE ($^2)"), ("test_rmse_dollars", "test RMSE ($)"),
        ("test_within_1_sigma", "test within ±1σ"), ("test_within_2_sigma", "test within ±2σ"),
        ("best_epoch", "best epoch"), ("train_time_s", "training time (s)"),
    )
    curves = (("loss", "Training loss"), ("val_mse", "Validation MSE (standardised price)"))
    objective = "val_mse"
    objective_direction = "min"
    backup_interval_s = 5.0  # 2,000 epochs of a fraction of a second each

    @dataclasses.dataclass(frozen=True)
    class Options:
        csv: str | None = option(None, metavar="PATH", help=f"CSV with columns {', '.join(FEATURES)} and {TARGET} "
                                                            "(Kaggle House Prices train.csv)")

    def declare_hyperparameters(self, hp: keras_tuner.HyperParameters) -> None:
        hp.Int("num_layers", 1, 3)
        hp.Choice("units", list(WIDTHS))
        hp.Choice("optimizer", ["sgd", "rmsprop", "adam"])
        hp.Float("learning_rate", 1e-5, 1e-2, sampling="log")
        hp.Choice("loss", list(HEADS))

    def check_hyperparameters(self, values) -> None:
        from kerashp.optimizers import make_optimizer

        if int(values["num_layers"]) < 1 or int(values["units"]) < 1:
            raise ValueError(f"num_layers and units must be positive, got {values['num_layers']}, {values['units']}")
        if values["loss"] not in HEADS:
            raise ValueError(f"loss must be one of {', '.join(HEADS)}, got {values['loss']!r}")
        make_optimizer(values["optimizer"], values["learning_rate"], momentum=0.0, framework=self.framework)

    def load_data(self):
        from kerashp.data.tabular import load_csv_regression

        path = self.options.csv
        if not path and self.settings.data.spec == "sample":
            path = HOUSE_PRICES_SAMPLE
        if not path:
            raise StudyError(f"{self.name} needs --csv PATH (a CSV with {', '.join(FEATURES)} and {TARGET}, "
                             "e.g. Kaggle's House Prices train.csv), or --data sample for the 400-row sample "
                             "shipped with kerashp")
        data, self.target_scaler = load_csv_regression(
            path, FEATURES, TARGET, seed=self.split_seed, train_limit=self.settings.data.train_limit
        )
        return data

    def preprocessing(self, data):
        return None  # already standardised floats

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        import keras

        from kerashp.losses import gaussian_mean_squared_error, gaussian_nll
        from kerashp.models import build_mlp
        from kerashp.optimizers import make_optimizer

        head = HEADS[hp["loss"]]
        model = build_mlp(self.data.input_shape, [hp["units"]] * hp["num_layers"], outputs=1, head=head,
                          framework=self.framework)
        if head == "gaussian":
            loss, mse = gaussian_nll, keras.metrics.MeanMetricWrapper(gaussian_mean_squared_error, name="mse")
        else:
            loss, mse = "mean_squared_error", keras.metrics.MeanSquaredError(name="mse")
        model.compile(optimizer=make_optimizer(hp["optimizer"], hp["learning_rate"], momentum=0.0,
                                               framework=self.framework),
                      loss=loss, metrics=[mse])
        return model

    def evaluate(self, model, data, batch_size):
        """Errors in dollars on the validation and test rows; for the Gaussian head
        also the share of test prices inside the predicted ±1 and ±2 sigma."""
        results = {}
        for split_name, split in (("val", data.validation), ("test", data.test)):
            prediction = model.predict(split.features, batch_size=batch_size, verbose=0)
            if not np.isfinite(prediction).all():
                return results
            scale = float(self.target_scaler.std)
            mean = self.target_scaler.inverse(prediction[:, 0])
            truth = self.target_scaler.inverse(split.labels)
            mse = float(np.mean((truth - mean) ** 2))
            results[f"{split_name}_mse_dollars"] = mse
            results[f"{split_name}_rmse_dollars"] = float(np.sqrt(mse))
            if prediction.shape[1] == 2 and split_name == "test":
                sigma = np.exp(0.5 * prediction[:, 1]) * scale
                error = np.abs(truth - mean)
                results["test_within_1_sigma"] = float(np.mean(error <= sigma))
                results["test_within_2_sigma"] = float(np.mean(error <= 2 * sigma))
        return results


if __name__ == "__main__":
    sys.exit(main(HousePrices))
