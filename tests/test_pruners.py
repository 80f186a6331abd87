"""The pruning rules (kerashp.tuning.pruners) on synthetic trials: which trial ASHA,
Hyperband and the median rule promote or stop, that each decision is written to the
trial's rung.json before it is acted on, and that a fresh book reading those files
decides the same (what lets a killed search resume exactly). No model is trained."""

import math

import keras_tuner
import pytest
from keras_tuner.engine import trial as trial_module

from kerashp.storage.layout import read_rung_state
from kerashp.tuning.pruners import ASHA, Hyperband, MedianStopping, PRUNERS, RungBook, Rungs, make_pruner

OBJECTIVE = keras_tuner.Objective("val_accuracy", "max")
RUNGS = Rungs(min_epochs=1, eta=3, max_epochs=9)  # rungs 1, 3, 9 epochs


def make_trial(trial_id, scores, status=trial_module.TrialStatus.COMPLETED):
    """A trial that reported `scores` (epochs -> objective), as the tuner reports at each rung."""
    trial = trial_module.Trial(keras_tuner.HyperParameters(), trial_id=trial_id, status=status)
    for epochs, value in scores.items():
        trial.metrics.update(OBJECTIVE.name, value, step=epochs)
    return trial


def book_for(tmp_path, pruner):
    return RungBook(lambda trial_id: tmp_path / f"trial_{trial_id}", OBJECTIVE, lambda trial: 9, pruner.rungs,
                    pruner.bracket)


def started(book, trials):
    """Writes each trial's first rung state, as the oracle does when it hands a new trial out."""
    for trial in trials:
        book.write(trial.trial_id, book.first_state(trial))
    return trials


def test_the_registry_names_one_class_per_rule():
    assert PRUNERS == {"asha": ASHA, "median": MedianStopping, "hyperband": Hyperband}
    assert isinstance(make_pruner("median", RUNGS), MedianStopping)
    with pytest.raises(ValueError, match="unknown pruner 'sha'; choose from asha, median, hyperband"):
        make_pruner("sha", RUNGS)


def test_asha_promotes_the_best_of_the_top_third_and_writes_the_decision_first(tmp_path):
    asha = ASHA(RUNGS)
    book = book_for(tmp_path, asha)
    scores = [0.50, 0.80, 0.65, 0.90, 0.40, 0.70]  # at rung 0 (1 epoch)
    trials = started(book, [make_trial(f"{i:02d}", {1: score}) for i, score in enumerate(scores)])
    # 6 trials at rung 0: the top 6 // 3 = 2 may be promoted; the best first.
    trial, rung = asha.choose(book, trials, busy=set())
    assert (trial.trial_id, rung) == ("03", 1)
    book.promote(trial, rung)
    assert read_rung_state(tmp_path / "trial_03") == {"bracket": 0, "rungs": [1, 3, 9], "rung": 1, "epochs": 3}
    # While 03 trains to rung 1, the next of the top two goes; a busy trial is never chosen.
    assert asha.choose(book, trials, busy={"03"})[0].trial_id == "01"
    book.promote(trials[1], 1)
    assert asha.choose(book, trials, busy=set()) is None  # the quota of 2 is used: start a new configuration
    # A fresh book reads the decisions from disk and decides the same.
    assert asha.choose(book_for(tmp_path, asha), trials, busy=set()) is None


def test_asha_promotes_at_the_top_rung_first_and_counts_failed_trials_in_the_pool(tmp_path):
    asha = ASHA(RUNGS)
    book = book_for(tmp_path, asha)
    trials = started(book, [make_trial(f"{i:02d}", {1: 0.1 * i}) for i in range(1, 7)])
    trials.append(started(book, [make_trial("07", {}, status=trial_module.TrialStatus.FAILED)])[0])
    for trial in trials[3:6]:  # 04, 05, 06 reached rung 1 (3 epochs)
        book.promote(trial, 1)
        trial.metrics.update(OBJECTIVE.name, {"04": 0.5, "05": 0.9, "06": 0.6}[trial.trial_id], step=3)
    trial, rung = asha.choose(book, trials, busy=set())
    assert (trial.trial_id, rung) == ("05", 2)  # rung 1's top third (3 // 3 = 1) before rung 0's next
    # 7 at rung 0 (the failed trial counts, at -inf): quota 2, both (06 and 05) already promoted.
    book.promote(trial, 2)
    assert asha.choose(book, trials, busy=set()) is None


def test_the_median_rule_stops_a_trial_below_the_median_and_promotes_one_above(tmp_path):
    median = MedianStopping(RUNGS)
    book = book_for(tmp_path, median)
    trials = started(book, [make_trial(f"{i:02d}", {1: score}) for i, score in enumerate([0.6, 0.7, 0.2])])
    # Fewer than 3 others at the rung: the first trial trains on.
    assert median.choose(book, trials, busy={"01", "02"})[0].trial_id == "00"
    trials += started(book, [make_trial("03", {1: 0.65})])
    trial, rung = median.choose(book, trials, busy={"00"})
    # 01 (0.7) is above the median of 0.6, 0.2, 0.65: promoted.
    assert (trial.trial_id, rung) == ("01", 1)
    book.promote(trial, rung)
    # 02 (0.2) is below the median of the others: stopped, with the reason on disk; 03 goes on.
    trial, _ = median.choose(book, trials, busy={"00", "01"})
    assert trial.trial_id == "03"
    stopped = read_rung_state(tmp_path / "trial_02")["stopped"]
    assert stopped == "below the median of the 3 other trials at rung 0 (1 epochs)"
    assert not book_for(tmp_path, median).promotable(trials[2], 0)  # stays stopped after a reload


def test_hyperband_starts_its_brackets_at_their_own_rungs_in_hyperbands_proportions(tmp_path):
    hyperband = Hyperband(RUNGS)
    book = book_for(tmp_path, hyperband)
    brackets = [hyperband.bracket(index) for index in range(13)]
    assert sorted(set(brackets)) == [0, 1, 2] and brackets.count(0) > brackets.count(1) > brackets.count(2)
    trial = make_trial("2", {})
    bracket = hyperband.bracket(2)
    assert book.first_state(trial)["rungs"] == RUNGS.for_trial(9, bracket)
    assert ASHA(RUNGS).bracket(2) == 0 and MedianStopping(RUNGS).bracket(5) == 0


def test_a_worse_objective_direction_and_a_nan_rank_last(tmp_path):
    book = RungBook(lambda trial_id: tmp_path / trial_id, keras_tuner.Objective("val_loss", "min"),
                    lambda trial: 9, RUNGS, lambda index: 0)
    low, high, nan = (trial_module.Trial(keras_tuner.HyperParameters(), trial_id=i) for i in ("1", "2", "3"))
    for trial, value in ((low, 0.2), (high, 0.9), (nan, float("nan"))):
        trial.metrics.update("val_loss", value, step=1)
    assert book.score_at(low, 0) > book.score_at(high, 0) > book.score_at(nan, 0) == float("-inf")
    assert book.score_at(low, 1) == float("-inf")  # not reached


@pytest.mark.parametrize("min_epochs, eta, max_epochs", [(1, 3, 40), (1, 2, 9), (3, 3, 81)])
def test_hyperband_brackets_are_the_smooth_weighted_round_robin_sequence(min_epochs, eta, max_epochs):
    """bracket_of(i) reads one period of the sequence; computed step by step to i, it is the same."""
    rungs = Rungs(min_epochs, eta, max_epochs)
    last = rungs.brackets - 1
    weights = [math.ceil((last + 1) / (last + 1 - b) * eta ** (last - b)) for b in range(last + 1)]
    current, expected = [0] * len(weights), []
    for _ in range(3 * sum(weights) + 5):
        current = [c + w for c, w in zip(current, weights)]
        chosen = max(range(len(current)), key=lambda b: (current[b], -b))
        current[chosen] -= sum(weights)
        expected.append(chosen)
    assert [rungs.bracket_of(i) for i in range(len(expected))] == expected
    assert [expected.count(b) for b in range(len(weights))] == [3 * w + expected[-5:].count(b)
                                                               for b, w in enumerate(weights)]
