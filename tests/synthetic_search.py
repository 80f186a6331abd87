"""A search without training, for tests and benchmarks of oracles: a five-hyperparameter
space, a fixed objective of its values, and a loop that creates, scores and ends trials
as the tuner does (at each trial's rung when pruned)."""

import math

import keras_tuner
from keras_tuner.engine import trial as trial_module

OBJECTIVE = keras_tuner.Objective("score", "max")


def space():
    """A choice of three, a log-scaled float, a boolean, a stepped int, a choice of four."""
    hp = keras_tuner.HyperParameters()
    hp.Choice("optimizer", ["sgd", "adam", "rmsprop"])
    hp.Float("learning_rate", 1e-5, 1e-1, sampling="log")
    hp.Boolean("batch_norm")
    hp.Int("units", 8, 256, step=8)
    hp.Choice("dropout", [0.5, 0.3, 0.2, 0.1])
    return hp


def conditional_space():
    """A model choice with one hyperparameter of its own per model (conditional scopes)."""
    hp = keras_tuner.HyperParameters()
    hp.Choice("model", ["mlp", "cnn"])
    with hp.conditional_scope("model", ["cnn"]):
        hp.Int("filters", 8, 256, step=8)
    with hp.conditional_scope("model", ["mlp"]):
        hp.Int("units", 16, 512, step=16)
    return hp


def conditional_score(values, epochs):
    """Any CNN beats every MLP; more filters or units are better."""
    return values["filters"] / 256 + 1 if values["model"] == "cnn" else values["units"] / 512


def synthetic_score(values, epochs=9):
    """Best with adam, a learning rate of 1e-3, batch norm and 128 units; longer training adds a little."""
    return ((values["optimizer"] == "adam") - 0.3 * (math.log10(values["learning_rate"]) + 3) ** 2
            + 0.2 * values["batch_norm"] - abs(values["units"] - 128) / 256 + 1e-3 * epochs)


def make_oracle(cls, directory, pruner=None, seed=7, **kwargs):
    """An oracle of class `cls` on the space (or `hyperparameters=`), reloaded where `directory` holds one."""
    pruned = {} if pruner is None else {"pruner": pruner, "full_epochs": lambda trial: 9}
    oracle = cls(objective=OBJECTIVE, hyperparameters=kwargs.pop("hyperparameters", space()), max_trials=10**6,
                 seed=seed, max_consecutive_failed_trials=10**6, **pruned, **kwargs)
    oracle._set_project_dir(str(directory), "project")
    oracle.verbose = 0  # as the runner sets it (one line per trial of its own)
    if (directory / "project" / "oracle.json").exists():
        oracle.reload()
    return oracle


def run_trials(oracle, count, score=synthetic_score):
    """Creates, scores and ends `count` trials (each at its rung's epochs when pruned; a score of
    None: the trial fails); their values and epochs."""
    proposed = []
    for _ in range(count):
        trial = oracle.create_trial("tuner0")
        assert trial.status == trial_module.TrialStatus.RUNNING
        values = dict(trial.hyperparameters.values)
        epochs = oracle.rung_book.state(trial.trial_id)["epochs"] if oracle.rung_book else 9
        proposed.append((values, epochs))
        value = score(values, epochs)
        if value is not None:
            oracle.update_trial(trial.trial_id, {"score": value}, step=epochs)
        trial.status = trial_module.TrialStatus.COMPLETED if value is not None else trial_module.TrialStatus.FAILED
        oracle.end_trial(trial)
    return proposed
