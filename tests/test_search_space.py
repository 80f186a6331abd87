"""A study's search space as the tuner declares it: conditional scopes are honoured
(every branch's hyperparameters reach the oracle, as KerasTuner's own model-building
discovery finds them), without building a model."""

import types

import keras_tuner
from kerashp.settings import StudySettings
from kerashp.tuning.tuner import StudyTuner
from tiny_study import TinyStudy


class Branching(TinyStudy):
    name = "branching"
    built = 0

    def declare_hyperparameters(self, hp):  # KerasTuner's pattern: each scope entered, its branch taken inside
        hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
        model = hp.Choice("model", ["mlp", "cnn", "linear"])
        with hp.conditional_scope("model", "mlp"):
            if model == "mlp":
                hp.Int("units", 8, 64)
        with hp.conditional_scope("model", "cnn"):
            if model == "cnn":
                hp.Int("filters", 4, 16)
                pool = hp.Boolean("pool")
                with hp.conditional_scope("pool", True):
                    if pool:
                        hp.Choice("pool_size", [2, 3])

    def build(self, hp):
        type(self).built += 1
        return super().build(hp)


def declared_space(study_class):
    oracle = keras_tuner.oracles.RandomSearchOracle(objective="val_accuracy", max_trials=5)
    study = study_class(StudySettings.for_study(study_class, search="random", trials=5))
    StudyTuner._populate_initial_space(types.SimpleNamespace(oracle=oracle, study=study))
    return oracle


def test_every_conditional_branch_reaches_the_oracle_without_a_build():
    oracle = declared_space(Branching)
    space = {hp.name: hp for hp in oracle.get_space().space}
    assert set(space) == {"learning_rate", "model", "units", "filters", "pool", "pool_size"}
    assert [c.values for c in space["units"].conditions] == [["mlp"]]
    assert [c.values for c in space["pool_size"].conditions] == [["cnn"], [True]]
    assert Branching.built == 0
    # Values the oracle proposes respect the scopes: a linear model gets no units.
    values = oracle.populate_space("0")["values"]
    if values["model"] != "mlp":
        assert "units" not in values
