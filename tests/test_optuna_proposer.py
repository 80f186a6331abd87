"""`--search optuna-tpe|optuna-qmc|optuna-cmaes` (kerashp.tuning.optuna_proposer): Optuna's
samplers proposing from a view rebuilt from the trials on disk. On the synthetic objective of tests/test_tpe.py, no model
trained: its proposals concentrate where the scores are high, a reloaded oracle proposes what
the uninterrupted one proposes (pruned, with failures), conditional hyperparameters are
proposed only where active, and a study runs with it end to end, killed and rerun."""

import math

import keras_tuner
import numpy as np
import pandas as pd
import pytest

from kerashp.cli import main
from kerashp.tuning.optuna_proposer import OptunaTPEOracle
from kerashp.tuning.oracle import ResumableRandomSearchOracle
from kerashp.tuning.pruners import ASHA, Rungs
from kerashp.tuning.runs import KerasRuns
from synthetic_search import conditional_score, conditional_space, make_oracle, run_trials, synthetic_score
from test_executor_seam import table_run
from tiny_study import TinyStudy


def test_optuna_tpe_proposals_concentrate_on_the_good_values_where_random_search_does_not(tmp_path):
    tpe = run_trials(make_oracle(OptunaTPEOracle, tmp_path / "tpe"), 60)
    random = run_trials(make_oracle(ResumableRandomSearchOracle, tmp_path / "random"), 60)
    later_tpe, later_random = [values for values, _ in tpe[20:]], [values for values, _ in random[20:]]
    share = lambda trials: sum(values["optimizer"] == "adam" for values in trials) / len(trials)
    assert share(later_tpe) >= 0.6 and share(later_random) < 0.5
    distance = lambda trials: np.median([abs(math.log10(values["learning_rate"]) + 3) for values in trials])
    assert distance(later_tpe) < 0.5 * distance(later_random)
    assert max(synthetic_score(v) for v, _ in tpe) > max(synthetic_score(v) for v, _ in random)
    assert all(isinstance(values["units"], int) and values["units"] % 8 == 0 for values, _ in tpe)


def test_a_reloaded_optuna_tpe_oracle_proposes_what_the_uninterrupted_one_proposes(tmp_path):
    def score(values, epochs):  # SGD fails: failed trials are part of what a proposal learns from
        return None if values["optimizer"] == "sgd" else synthetic_score(values, epochs)

    pruner = lambda: ASHA(Rungs(min_epochs=1, eta=3, max_epochs=9))
    whole = run_trials(make_oracle(OptunaTPEOracle, tmp_path / "whole", pruner=pruner()), 30, score)
    first = run_trials(make_oracle(OptunaTPEOracle, tmp_path / "split", pruner=pruner()), 17, score)
    second = run_trials(make_oracle(OptunaTPEOracle, tmp_path / "split", pruner=pruner()), 13, score)
    assert first + second == whole
    assert {epochs for _, epochs in whole} >= {1, 3}  # the pruner promoted some: PRUNED and COMPLETE both seen
    assert sum(values["optimizer"] == "sgd" for values, _ in whole[15:]) <= 3


def test_conditional_hyperparameters_are_proposed_only_where_active(tmp_path):
    proposed = run_trials(make_oracle(OptunaTPEOracle, tmp_path, hyperparameters=conditional_space()), 30,
                          conditional_score)
    for values, _ in proposed:
        assert set(values) == ({"model", "filters"} if values["model"] == "cnn" else {"model", "units"})
    assert {values["model"] for values, _ in proposed} == {"mlp", "cnn"}


@pytest.mark.parametrize("search", ["optuna-tpe", "optuna-cmaes", "optuna-gp"])
def test_a_study_searched_by_an_optuna_sampler_stopped_and_rerun_equals_one_run(tmp_path, monkeypatch, search):
    if search == "optuna-gp":
        pytest.importorskip("torch")
    monkeypatch.setattr(KerasRuns, "run", table_run)
    options = ["--verbose", "0", "--search", search, "--prune", "asha", "--epochs", "9", "--min-epochs", "1"]
    assert main(TinyStudy, ["--out", str(tmp_path / "whole"), *options, "--trials", "16"]) == 0
    assert main(TinyStudy, ["--out", str(tmp_path / "split"), *options, "--trials", "7"]) == 0
    assert main(TinyStudy, ["--out", str(tmp_path / "split"), *options, "--trials", "16"]) == 0
    read = lambda name: pd.read_csv(tmp_path / name / "results.csv")[["trial", "learning_rate", "epochs"]]
    pd.testing.assert_frame_equal(read("whole"), read("split"))
    assert read("whole")["learning_rate"].nunique() == 16


@pytest.mark.parametrize("search, missing, extra", [("optuna-tpe", "optuna", "optuna"),
                                                    ("optuna-cmaes", "cmaes", "optuna"),
                                                    ("optuna-gp", "torch", "optuna-gp")])
def test_without_what_a_sampler_needs_the_search_is_refused_naming_it_before_anything_runs(
        tmp_path, capsys, monkeypatch, search, missing, extra):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == missing else real(name, *a))
    assert main(TinyStudy, ["--out", str(tmp_path / "out"), "--search", search, "--trials", "3"]) == 2
    assert f'needs {missing}: pip install "kerashp[{extra}]"' in capsys.readouterr().err
    assert not (tmp_path / "out").exists()

def test_optuna_qmc_covers_the_space_more_evenly_than_random_draws_and_resumes_exactly(tmp_path):
    from scipy.stats import qmc

    from kerashp.tuning.optuna_proposer import OptunaQMCOracle

    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    hp.Float("y", 0.0, 1.0)
    score = lambda values, epochs: values["x"] + values["y"]
    whole = run_trials(make_oracle(OptunaQMCOracle, tmp_path / "whole", hyperparameters=hp), 65, score)
    first = run_trials(make_oracle(OptunaQMCOracle, tmp_path / "split", hyperparameters=hp), 20, score)
    second = run_trials(make_oracle(OptunaQMCOracle, tmp_path / "split", hyperparameters=hp), 45, score)
    assert first + second == whole  # the sequence's position came back from oracle.json
    random = run_trials(make_oracle(ResumableRandomSearchOracle, tmp_path / "random", hyperparameters=hp), 65, score)
    points = lambda trials: np.array([[values["x"], values["y"]] for values, _ in trials[1:]])  # the first: random
    assert qmc.discrepancy(points(whole)) < 0.5 * qmc.discrepancy(points(random))


def test_optuna_cmaes_closes_in_on_the_optimum_and_a_reloaded_oracle_proposes_the_same(tmp_path):
    """CMA-ES's optimizer lives in the trials' system attributes: kept in oracle.json, a
    search stopped after 13 trials (inside a generation) and rerun proposes what one run does;
    its later proposals sit nearer the optimum than random draws."""
    from kerashp.tuning.optuna_proposer import OptunaCMAESOracle

    hp = keras_tuner.HyperParameters()
    hp.Float("x", -3.0, 3.0)
    hp.Float("y", -3.0, 3.0)
    score = lambda values, epochs: -((values["x"] - 1.0) ** 2 + (values["y"] + 0.5) ** 2)
    whole = run_trials(make_oracle(OptunaCMAESOracle, tmp_path / "whole", hyperparameters=hp), 40, score)
    first = run_trials(make_oracle(OptunaCMAESOracle, tmp_path / "split", hyperparameters=hp), 13, score)
    second = run_trials(make_oracle(OptunaCMAESOracle, tmp_path / "split", hyperparameters=hp), 27, score)
    assert first + second == whole
    assert '"cma:optimizer' in (tmp_path / "whole" / "project" / "oracle.json").read_text()  # a generation was told and kept
    random = run_trials(make_oracle(ResumableRandomSearchOracle, tmp_path / "random", hyperparameters=hp), 40, score)
    later = lambda trials: np.median([-score(values, 1) for values, _ in trials[20:]])
    assert later(whole) < 0.25 * later(random)


def test_optuna_cmaes_under_asha_learns_from_pruned_trials_and_resumes(tmp_path):
    from kerashp.tuning.optuna_proposer import OptunaCMAESOracle

    pruner = lambda: ASHA(Rungs(min_epochs=1, eta=3, max_epochs=9))
    whole = run_trials(make_oracle(OptunaCMAESOracle, tmp_path / "whole", pruner=pruner()), 30, synthetic_score)
    first = run_trials(make_oracle(OptunaCMAESOracle, tmp_path / "split", pruner=pruner()), 20, synthetic_score)
    second = run_trials(make_oracle(OptunaCMAESOracle, tmp_path / "split", pruner=pruner()), 10, synthetic_score)
    assert first + second == whole
    assert '"cma:optimizer' in (tmp_path / "whole" / "project" / "oracle.json").read_text()  # pruned trials made generations


def test_optuna_cmaes_on_a_space_without_numeric_hyperparameters_says_its_proposals_are_random(tmp_path, caplog):
    from kerashp.tuning.optuna_proposer import OptunaCMAESOracle

    hp = keras_tuner.HyperParameters()
    hp.Choice("optimizer", ["adam", "sgd", "rmsprop"])
    hp.Boolean("batch_norm")
    with caplog.at_level("WARNING", logger="kerashp"):
        proposed = run_trials(make_oracle(OptunaCMAESOracle, tmp_path, hyperparameters=hp), 6,
                              lambda values, epochs: float(values["optimizer"] == "adam"))
    assert len({(v["optimizer"], v["batch_norm"]) for v, _ in proposed}) == 6  # all six points, each once
    assert sum("every proposal is random" in record.message for record in caplog.records) == 1


def test_optuna_gp_closes_in_on_the_optimum_and_a_reloaded_oracle_proposes_the_same(tmp_path):
    """Optuna's GP after its 10 random proposals: on a 2-D quadratic, its proposals 11-25 sit
    nearer the optimum than random draws'; stopped after 14 trials and rerun, it proposes what one
    run does. (Needs PyTorch, which the test extra leaves out: see pyproject's optuna-gp extra.)"""
    pytest.importorskip("torch")
    from kerashp.tuning.optuna_proposer import OptunaGPOracle

    hp = keras_tuner.HyperParameters()
    hp.Float("x", -3.0, 3.0)
    hp.Float("y", -3.0, 3.0)
    hp.Choice("shift", ["none", "far"])
    score = lambda values, epochs: -((values["x"] - 1.0) ** 2 + (values["y"] + 0.5) ** 2) - 4.0 * (values["shift"] == "far")
    whole = run_trials(make_oracle(OptunaGPOracle, tmp_path / "whole", hyperparameters=hp), 25, score)
    first = run_trials(make_oracle(OptunaGPOracle, tmp_path / "split", hyperparameters=hp), 14, score)
    second = run_trials(make_oracle(OptunaGPOracle, tmp_path / "split", hyperparameters=hp), 11, score)
    assert first + second == whole
    random = run_trials(make_oracle(ResumableRandomSearchOracle, tmp_path / "random", hyperparameters=hp), 25, score)
    later = lambda trials: np.median([-score(values, 1) for values, _ in trials[10:]])
    assert later(whole) < 0.25 * later(random)
    assert sum(values["shift"] == "none" for values, _ in whole[10:]) >= 12  # the categorical learned too
