"""The KerasTuner HyperModel every study subclasses: its whole declaration."""

from __future__ import annotations

import argparse
from typing import Any, ClassVar, Mapping

import keras
import keras_tuner

from kerashp.data import DataSplits, make_dataset
from kerashp.report.tables import DEFAULT_METRICS
from kerashp.settings import StudySettings


class StudyHyperModel(keras_tuner.HyperModel):
    """A study: its data, model, fixed settings, configurations and search space.

    Subclasses set the class attributes and implement `declare_hyperparameters`,
    `load_data` and `build`; the runner does everything else (tuner, resumption,
    callbacks, TensorBoard, tables, figures).

    Class attributes:
        name: the study's name; outputs go to `artifacts/<name>/`.
        description: one line for `--help` and the results note.
        default_data: `--data` when none is given.
        epochs, batch_size: the original study's training length and batch.
        configs: named configurations, each a mapping of hyperparameter values,
            run in this order by `--search configs` (the default).
        table_hyperparameters: hyperparameters shown as table columns.
        table_metrics: (summary key, title) pairs shown as table columns.
        curves: (metric, title) pairs; one figure each, one line per trial.
        objective: the metric (a key of the Keras logs) that ranks trials.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    default_data: ClassVar[str] = "sample"
    epochs: ClassVar[int] = 1
    batch_size: ClassVar[int] = 32
    configs: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    table_hyperparameters: ClassVar[tuple[str, ...]] = ()
    table_metrics: ClassVar[tuple[tuple[str, str], ...]] = DEFAULT_METRICS
    curves: ClassVar[tuple[tuple[str, str], ...]] = (
        ("val_accuracy", "Validation accuracy"),
        ("loss", "Training loss"),
    )
    objective: ClassVar[str] = "val_accuracy"
    objective_direction: ClassVar[str] = "max"

    def __init__(self, settings: StudySettings, data: DataSplits | None = None):
        super().__init__(name=self.name)
        self.settings = settings
        self.data = data

    # ---- what a study declares -------------------------------------------------

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Adds the study's own command-line options (stored in `settings.options`)."""

    def declare_hyperparameters(self, hp: keras_tuner.HyperParameters) -> None:
        """Declares the search space (used by `--search random|bayesian`)."""
        raise NotImplementedError

    def check_hyperparameters(self, values: Mapping[str, Any]) -> None:
        """Raises ValueError for impossible values, before anything is trained."""

    def load_data(self) -> DataSplits:
        """Loads the study's data as configured by `self.settings`."""
        raise NotImplementedError

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        """Returns the compiled model for the hyperparameter values in `hp`."""
        raise NotImplementedError

    # ---- what a study may override --------------------------------------------

    def make_datasets(self, data: DataSplits, seed: int):
        """Returns the (train, validation) pipelines of one run."""
        batch_size = self.settings.batch_size
        return (
            make_dataset(data.train, batch_size, training=True, seed=seed),
            make_dataset(data.validation, batch_size, training=False),
        )

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, *args, **kwargs):
        """Trains `model`; the runner passes data, epochs and callbacks."""
        return model.fit(*args, **kwargs)
