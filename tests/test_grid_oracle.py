"""GridOracle: the whole grid in product order, no repeats, exact resumption from disk."""

import itertools

import keras_tuner
from keras_tuner.engine import trial as trial_module

from kerashp.tuning.oracle import GridOracle


def make_oracle(directory, max_trials=None, fixed=None):
    hp = keras_tuner.HyperParameters()
    for name, value in (fixed or {}).items():
        hp.Fixed(name, value)
    oracle = GridOracle(objective=keras_tuner.Objective("score", "max"), max_trials=max_trials, hyperparameters=hp)
    oracle._set_project_dir(str(directory), "project")
    space = keras_tuner.HyperParameters()
    space.Choice("optimizer", ["sgd", "adam"])
    space.Int("layers", 1, 3)
    space.Boolean("batch_norm")
    oracle.update_space(space)
    if (directory / "project" / "oracle.json").exists():
        oracle.reload()
    return oracle


def finish(oracle, trial):
    oracle.update_trial(trial.trial_id, {"score": 1.0})
    trial.status = trial_module.TrialStatus.COMPLETED
    oracle.end_trial(trial)


def point(trial):
    values = trial.hyperparameters.values
    return values["optimizer"], values["layers"], values["batch_norm"]


def run_all(oracle):
    seen = []
    while (trial := oracle.create_trial("tuner0")).status != "STOPPED":
        seen.append(point(trial))
        finish(oracle, trial)
    return seen


EXPECTED = list(itertools.product(["sgd", "adam"], [1, 2, 3], [False, True]))


def test_grid_is_the_product_in_declared_order_then_stops(tmp_path):
    oracle = make_oracle(tmp_path)
    assert oracle.grid_size() == 12
    assert run_all(oracle) == EXPECTED


def test_stopped_grid_resumes_where_it_stopped_without_repeating(tmp_path):
    first = make_oracle(tmp_path, max_trials=4)
    assert run_all(first) == EXPECTED[:4]
    interrupted = make_oracle(tmp_path).create_trial("tuner0")  # a process dies during trial 5
    assert point(interrupted) == EXPECTED[4]
    resumed = make_oracle(tmp_path)
    again = resumed.create_trial("tuner0")
    assert (again.trial_id, point(again)) == (interrupted.trial_id, EXPECTED[4])  # the same trial, retried
    finish(resumed, again)
    assert run_all(resumed) == EXPECTED[5:]
    every = sorted(point(t) for t in make_oracle(tmp_path).trials.values())
    assert every == sorted(EXPECTED)


def test_fixed_values_shrink_the_grid(tmp_path):
    oracle = make_oracle(tmp_path, fixed={"optimizer": "adam"})
    assert run_all(oracle) == [p for p in EXPECTED if p[0] == "adam"]
