"""The KerasTuner HyperModel of a study: forwards to the `kerashp.Study`."""

from __future__ import annotations

import keras_tuner

from kerashp.study import Study


class StudyHyperModel(keras_tuner.HyperModel):
    """What KerasTuner's tuner and oracle see of a study: its space, its model and
    its training loop, each the study's own.

    Args:
        study: the study, with its settings and data.
    """

    def __init__(self, study: Study):
        super().__init__(name=study.name)
        self.study = study

    def declare_hyperparameters(self, hp: keras_tuner.HyperParameters) -> None:
        self.study.declare_hyperparameters(hp)

    def build(self, hp: keras_tuner.HyperParameters):
        return self.study.build(hp)

    def fit(self, hp: keras_tuner.HyperParameters, model, *args, **kwargs):
        return self.study.fit(hp, model, *args, **kwargs)
