"""`--search tpe` (kerashp.tuning.tpe) on synthetic objectives, no model trained: its
proposals concentrate where the scores are high (against random search with the
same seed), a pruned search ranks its trials by how far they trained, failed trials
rank last, a reloaded oracle proposes what the uninterrupted one proposes, and conditional
hyperparameters are proposed only where active."""

import math

import keras_tuner
import numpy as np
import pytest

from kerashp.tuning.oracle import ResumableRandomSearchOracle
from kerashp.tuning.pruners import ASHA, Rungs
from kerashp.tuning.tpe import ResumableTPEOracle, TPESampler, _Gaussians, _Scale, observations
from synthetic_search import conditional_score, conditional_space, make_oracle, run_trials, synthetic_score

def test_tpe_proposals_concentrate_on_the_good_values_where_random_search_does_not(tmp_path):
    tpe = run_trials(make_oracle(ResumableTPEOracle, tmp_path / "tpe"), 60)
    random = run_trials(make_oracle(ResumableRandomSearchOracle, tmp_path / "random"), 60)
    # The first 10 TPE proposals are random; after 20 observations the model has found the good region.
    later_tpe, later_random = [values for values, _ in tpe[20:]], [values for values, _ in random[20:]]
    share = lambda trials: sum(values["optimizer"] == "adam" for values in trials) / len(trials)
    assert share(later_tpe) >= 0.6 and share(later_random) < 0.5
    distance = lambda trials: np.median([abs(math.log10(values["learning_rate"]) + 3) for values in trials])
    assert distance(later_tpe) < 0.5 * distance(later_random)
    best = lambda trials: max(synthetic_score(values) for values, _ in trials)
    assert best(tpe) > best(random)


def test_a_pruned_tpe_search_ranks_trials_by_how_far_they_trained_then_by_their_score_there(tmp_path):
    oracle = make_oracle(ResumableTPEOracle, tmp_path, pruner=ASHA(Rungs(min_epochs=1, eta=3, max_epochs=9)))
    trials = lambda: sorted(oracle.trials.values(), key=lambda trial: int(trial.trial_id))
    run_trials(oracle, 69)
    observed = observations(oracle, trials())
    assert len(observed) == len(oracle.trials)  # every trial, at the highest rung it reached
    for values, (epochs, score) in observed:
        assert epochs in (1, 3, 9) and score == pytest.approx(synthetic_score(values, epochs))
    reached = {epochs: sum(key[0] == epochs for _, key in observed) for epochs in (1, 3, 9)}
    assert reached[9] >= 1 and reached[3] >= 5
    # The good group: the trials promoted furthest first, each level by its score.
    good, rest = TPESampler().split(observed)
    assert len(good) == math.ceil(0.15 * len(observed))
    keys = [key for _, key in good + rest]
    assert keys == sorted(keys, reverse=True) and good[0][1][0] == 9
    assert min(key for _, key in good) > max(key for _, key in rest)


def test_failed_trials_count_as_the_worst_and_their_values_are_avoided(tmp_path):
    def score(values, epochs):  # SGD diverges
        return None if values["optimizer"] == "sgd" else synthetic_score(values, epochs)

    for pruner in (None, ASHA(Rungs(min_epochs=1, eta=3, max_epochs=9))):
        oracle = make_oracle(ResumableTPEOracle, tmp_path / str(pruner), pruner=pruner)
        proposed = run_trials(oracle, 40, score)
        trials = sorted(oracle.trials.values(), key=lambda trial: int(trial.trial_id))
        observed = observations(oracle, trials)
        failed = [key for values, key in observed if values["optimizer"] == "sgd"]
        assert failed and all(key == (-1, -math.inf) for key in failed)
        assert all(key[1] > -math.inf for values, key in observed if values["optimizer"] != "sgd")
        assert sum(values["optimizer"] == "sgd" for values, _ in proposed[20:]) <= 4


def test_a_reloaded_tpe_oracle_proposes_what_the_uninterrupted_one_proposes(tmp_path):
    pruner = lambda: ASHA(Rungs(min_epochs=1, eta=3, max_epochs=9))
    whole = run_trials(make_oracle(ResumableTPEOracle, tmp_path / "whole", pruner=pruner()), 30)
    first = run_trials(make_oracle(ResumableTPEOracle, tmp_path / "split", pruner=pruner()), 17)
    second = run_trials(make_oracle(ResumableTPEOracle, tmp_path / "split", pruner=pruner()), 13)
    assert first + second == whole
    assert len({tuple(sorted(values.items())) for values, epochs in whole if epochs == 1}) == sum(
        epochs == 1 for _, epochs in whole)  # no configuration proposed twice


def test_conditional_hyperparameters_are_proposed_only_where_active(tmp_path):
    proposed = run_trials(make_oracle(ResumableTPEOracle, tmp_path, hyperparameters=conditional_space()), 30,
                          conditional_score)
    for values, _ in proposed:
        assert set(values) == ({"model", "filters"} if values["model"] == "cnn" else {"model", "units"})
    assert sum(values["model"] == "cnn" for values, _ in proposed[15:]) >= 10


def test_the_parzen_estimators_are_densities_and_cover_every_value():
    gaussians = _Gaussians([0.1, 0.12, 0.8], prior_weight=1.0)
    grid = np.linspace(0, 1, 20001)[:-1] + 0.5 / 20000
    assert np.mean(np.exp(gaussians.log_density(grid))) == pytest.approx(1.0, abs=1e-3)
    draws = gaussians.sample(np.random.default_rng(0), 4000)
    # Draws follow the density: the share below 0.3 matches its integral there (~0.55, 1/2 of the weight near 0.1).
    below = np.mean(np.exp(gaussians.log_density(grid[grid < 0.3]))) * 0.3
    assert draws.min() >= 0 and draws.max() < 1 and np.mean(draws < 0.3) == pytest.approx(below, abs=0.025)
    hp = keras_tuner.HyperParameters()
    hp.Float("rate", 0.0, 0.5, step=0.1)
    hp.Int("width", 1, 1000, sampling="log")
    rate, width = (_Scale.of(item) for item in hp.space)
    assert sorted({rate.value(point) for point in np.linspace(0, 0.999, 500)}) == list(hp.space[0].values)
    assert all(rate.value(rate.position(value)) == value for value in hp.space[0].values)
    widths = [width.value(point) for point in np.linspace(0, 0.999, 500)]
    assert min(widths) == 1 and max(widths) >= 950 and all(isinstance(value, int) for value in widths)
    with pytest.raises(ValueError, match="invalid TPE settings"):
        TPESampler(gamma=1.5)
