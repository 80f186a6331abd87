"""Statistics across seeds, checked against values computed by hand."""

import math
import pathlib

import numpy as np
import pandas as pd
import pytest

from kerashp.cli import main
from kerashp.report import uncertainty
from kerashp.storage.records import ExecutionRecord, TrialRecord
from tiny_study import TinyStudy


def trial(name, values, metric="best_val_accuracy"):
    executions = [ExecutionRecord(i, pathlib.Path("."), pd.DataFrame(), {metric: v}) for i, v in enumerate(values)]
    return TrialRecord(name, "COMPLETED", {"config": name}, None, executions)


def test_mean_interval_is_the_t_interval():
    mean, std, low, high = uncertainty.mean_interval([0.52, 0.58, 0.55])
    # mean 0.55, std 0.03, t(0.975, 2) = 4.302653: half width 4.302653 * 0.03 / sqrt(3) = 0.074524
    assert mean == pytest.approx(0.55) and std == pytest.approx(0.03)
    assert (low, high) == (pytest.approx(0.55 - 0.074524, abs=1e-6), pytest.approx(0.55 + 0.074524, abs=1e-6))
    assert math.isnan(uncertainty.mean_interval([0.5])[2])


def test_paired_t_test_p_value_by_hand():
    # differences 0.05, 0.06, 0.04: mean 0.05, sd 0.01, t = 0.05 / (0.01 / sqrt 3) = 8.660254;
    # with 2 degrees of freedom the t CDF is 1/2 + t / (2 sqrt(2 + t^2)), so p = 1 - t / sqrt(2 + t^2).
    t = 0.05 / (0.01 / math.sqrt(3))
    assert uncertainty.paired_t_p_value([0.05, 0.06, 0.04]) == pytest.approx(1 - t / math.sqrt(2 + t * t), rel=1e-9)
    assert uncertainty.paired_t_p_value([0.02, 0.02]) == 0.0  # no spread, a difference: certain
    assert math.isnan(uncertainty.paired_t_p_value([0.1]))


def test_bootstrap_interval_of_three_seeds():
    # Resampling {0.04, 0.05, 0.06}: the mean is 0.04 or 0.06 with probability 1/27 = 3.7% each (> 2.5%),
    # so the 2.5% and 97.5% quantiles are exactly those extremes.
    low, high = uncertainty.bootstrap_mean_interval([0.04, 0.05, 0.06], np.random.default_rng(0))
    assert (low, high) == (pytest.approx(0.04), pytest.approx(0.06))


def test_seeds_needed_matches_the_paired_t_test_power_table():
    # Effect size 0.5 (difference 1, spread 2), alpha 0.05 two-sided, power 0.8: 34 pairs (G*Power's figure).
    assert uncertainty.seeds_to_separate(1.0, 2.0) == 34
    # Effect size 1: 10 pairs.
    assert uncertainty.seeds_to_separate(-0.5, 0.5) == 10
    assert uncertainty.seeds_to_separate(0.0, 1.0) is None and uncertainty.seeds_to_separate(1.0, math.nan) is None


def test_probability_first_counts_resampled_winners():
    values = pd.DataFrame({0: [0.5, 0.6, 0.1], 1: [0.5, 0.7, 0.2], 2: [0.5, 0.4, 0.9]}, index=["a", "b", "c"])
    shares = uncertainty.probability_first(values, True, np.random.default_rng(1), samples=20000)
    assert shares.sum() == pytest.approx(1.0)
    # By hand over the 27 equally likely resamples, by seed counts (n0, n1, n2): c has the best mean
    # for (0, 0, 3), (0, 1, 2) and (1, 0, 2), weights 1 + 3 + 3 = 7; b for the other 20; a (0.5 in
    # every seed) is always below one of them.
    assert shares["b"] == pytest.approx(20 / 27, abs=0.01) and shares["c"] == pytest.approx(7 / 27, abs=0.01)
    assert shares["a"] == pytest.approx(0.0, abs=0.01)


def test_compare_metric_gives_verdicts_in_points():
    trials = [trial("Baseline", [0.50, 0.52, 0.48]), trial("Better", [0.55, 0.58, 0.52]),
              trial("Same", [0.51, 0.50, 0.50])]
    comparison = uncertainty.compare_metric(trials, "best_val_accuracy", None, higher_is_better=True)
    summary = comparison.summary.set_index("name")
    assert comparison.reference == "Baseline"
    assert summary.loc["Better", "diff"] == pytest.approx(0.05)
    assert summary.loc["Better", "diff_ci_low"] == pytest.approx(0.04)
    assert summary.loc["Better", "diff_ci_high"] == pytest.approx(0.06)
    assert comparison.verdicts[0] == ("Better beats Baseline by 5.0 points, 95% CI [4.0, 6.0], "
                                      "paired t-test p = 0.013 (Holm-adjusted for 2 comparisons: 0.026), "
                                      "signed-rank p = 0.25, 3 seeds")
    # Same: differences 0.01, -0.02, 0.02 (mean 0.00333, sd 0.020817): not separated, and the
    # seeds a paired t-test would need for effect size 0.16: more than a hundred.
    assert comparison.verdicts[1].startswith("Same vs Baseline: not separated with 3 seeds (+0.3 points")
    assert "seeds would separate" in comparison.verdicts[1]
    per_seed = comparison.per_seed[comparison.per_seed["name"] == "Better"]
    assert per_seed["difference"].round(6).tolist() == [0.05, 0.06, 0.04]


def test_holm_adjusts_for_the_number_of_comparisons():
    assert uncertainty.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert uncertainty.holm([0.2, float("nan")])[0] == pytest.approx(0.2)  # NaN does not count
    # Three configurations each ahead of the reference with an unadjusted p near 0.02: no longer separated.
    base = [0.50, 0.52, 0.48]
    trials = [trial("Reference", base)] + [
        trial(name, [b + d for b, d in zip(base, (0.04, 0.07, 0.05))]) for name in ("A", "B", "C")]
    comparison = uncertainty.compare_metric(trials, "best_val_accuracy", None, higher_is_better=True)
    summary = comparison.summary.set_index("name")
    assert summary.loc["A", "p_value"] < 0.05 < summary.loc["A", "p_holm"]
    assert all(" not separated " in line for line in comparison.verdicts), comparison.verdicts


def test_a_search_compares_with_its_best_trial_and_ranks_are_checked_too():
    trials = [trial("trial 0", [0.50, 0.52, 0.48, 0.5, 0.51, 0.49]),
              trial("trial 1", [0.60, 0.62, 0.58, 0.6, 0.61, 0.59])]
    comparison = uncertainty.compare_metric(trials, "best_val_accuracy", None, higher_is_better=True,
                                            best_as_reference=True)
    assert comparison.reference == "trial 1"
    row = comparison.summary.set_index("name").loc["trial 0"]
    assert row["signed_rank_p"] == pytest.approx(2 / 64)  # six differences of one sign, exact
    assert comparison.verdicts[0].startswith("trial 0 is worse than trial 1 by 10.0 points")


def test_a_lower_is_better_metric_and_a_chosen_reference():
    trials = [trial("A", [2.0, 2.2, 2.1], "best_val_loss"), trial("B", [1.0, 1.1, 1.05], "best_val_loss")]
    comparison = uncertainty.compare_metric(trials, "best_val_loss", "B", higher_is_better=False)
    assert comparison.reference == "B"
    assert comparison.verdicts == [comparison.verdicts[0]] and comparison.verdicts[0].startswith("A is worse than B by 1.05,")
    assert comparison.summary.set_index("name").loc["B", "p_first"] == pytest.approx(1.0)


@pytest.mark.slow
def test_a_study_with_seeds_reports_intervals_comparisons_and_a_figure(tmp_path):
    out = tmp_path / "out"
    assert main(TinyStudy, ["--out", str(out), "--configs", "slow,fast", "--seeds", "3", "--reference", "slow",
                            "--verbose", "0"]) == 0
    report = (out / "results.md").read_text()
    assert "## Across seeds" in report and "### best_val_accuracy (higher is better; reference: slow)" in report
    per_seed = pd.read_csv(out / "seeds.csv")
    fast = per_seed[(per_seed["metric"] == "best_val_accuracy") & (per_seed["name"] == "fast")]
    assert fast["run"].tolist() == [0, 1, 2]
    # The table's numbers are those of the runs on disk.
    results = pd.read_csv(out / "results.csv").set_index("name")
    assert results.loc["fast", "best_val_accuracy_diff"] == pytest.approx(fast["difference"].mean())
    assert results.loc["fast", "best_val_accuracy"] == pytest.approx(fast["value"].mean())
    mean, std, low, high = uncertainty.mean_interval(fast["value"])
    assert results.loc["fast", "best_val_accuracy_ci_low"] == pytest.approx(low)
    verdict_lines = [line for line in report.splitlines() if line.startswith("- fast")]
    assert len(verdict_lines) == 2  # best and final val accuracy (the tiny study has no test split)
    assert (out / "seeds.png").stat().st_size > 0


def test_an_unknown_reference_is_one_line(tmp_path, capfd):
    assert main(TinyStudy, ["--out", str(tmp_path / "out"), "--configs", "slow,fast", "--seeds", "2",
                            "--reference", "nope", "--verbose", "0"]) == 2
    err = capfd.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--reference 'nope' is not among the configurations run" in err
