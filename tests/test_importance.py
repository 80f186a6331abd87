"""Hyperparameter importance (fANOVA main effects) and the search figures that read at a
glance: known effects recovered and ranked as Optuna's fANOVA ranks them; a pruned search
compared at one rung; the slice plot's rung groups, the optimisation history's best-so-far,
parallel coordinates, the pruned curves' y range and the seeds band's legend entry."""

import math

import numpy as np
import optuna
import pandas as pd
import pytest

from kerashp import load_results
from kerashp.cli import main
from kerashp.report.importance import MIN_TRIALS, main_effects
from kerashp.tuning.runs import KerasRuns
from test_executor_seam import table_accuracy, table_run
from tiny_study import TinyStudy


def synthetic(n, seed=0):
    """`a` decides most, `b` (one category of three) a little, `c` nothing."""
    rng = np.random.default_rng(seed)
    values = pd.DataFrame({"a": rng.uniform(0, 1, n), "b": rng.choice(["x", "y", "z"], n),
                           "c": rng.integers(0, 10, n)})
    return values, 3 * values["a"] + 0.5 * (values["b"] == "y") + rng.normal(0, 0.05, n)


def test_main_effects_recover_known_effects_in_optunas_order():
    values, scores = synthetic(300)
    table = main_effects(values, scores).set_index("hyperparameter")
    assert list(table.index) == ["a", "b", "c"]
    assert table["importance"].sum() == pytest.approx(1.0)
    # the true main effects: a's variance 9/12 = 0.75, b's 0.25 * 2/9 = 0.056, c's 0, of about 0.81 in all
    # (shares 0.93, 0.069 and 0)
    assert 0.85 < table.loc["a", "variance_share"] <= 1.0
    assert 0.02 < table.loc["b", "variance_share"] < 0.1 and table.loc["c", "variance_share"] < 0.01
    study = optuna.create_study()
    distributions = {"a": optuna.distributions.FloatDistribution(0, 1),
                     "b": optuna.distributions.CategoricalDistribution(["x", "y", "z"]),
                     "c": optuna.distributions.IntDistribution(0, 9)}
    for row, score in zip(values.itertuples(index=False), scores):
        study.add_trial(optuna.trial.create_trial(params=row._asdict() | {"c": int(row.c)},
                                                  distributions=distributions, value=float(score)))
    fanova = optuna.importance.get_param_importances(
        study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
    assert list(fanova) == list(table.index)


def test_nothing_to_explain_gives_no_importance():
    values, scores = synthetic(20)
    assert main_effects(values.assign(a=0.5, b="x", c=1), scores) is None  # no column varies
    assert main_effects(values, np.ones(20)) is None  # every score the same


@pytest.fixture
def pruned_search(tmp_path, monkeypatch):
    monkeypatch.setattr(KerasRuns, "run", table_run)
    out = tmp_path / "out"
    assert main(TinyStudy, ["--out", str(out), "--verbose", "0", "--search", "random", "--trials", "30",
                            "--prune", "asha", "--epochs", "9", "--min-epochs", "1", "--eta", "3"]) == 0
    return out


def test_a_pruned_search_is_compared_at_the_highest_rung_enough_trials_reached(pruned_search):
    results = load_results(pruned_search)
    table = results.table
    at_rung_1 = int((table["rung_reached"] >= 1).sum())
    assert at_rung_1 >= MIN_TRIALS > int((table["rung_reached"] >= 2).sum())
    importance = results.importance
    assert list(importance["hyperparameter"]) == ["learning_rate"]
    markdown = (pruned_search / "results.md").read_text()
    assert f"of {at_rung_1} trials: the trials of the pruned search that trained 3 epochs" in markdown
    assert "| learning_rate | 1.000 |" in markdown


def test_the_search_figures_show_rungs_apart_and_the_best_so_far(pruned_search):
    results = load_results(pruned_search)
    table = results.table
    figures = results.figures()
    for name in ("hyperparameters", "history", "parallel_coordinates", "importance", "pruned_curves"):
        assert (pruned_search / f"{name}.png").stat().st_size > 0 and name in figures
    full = table["rung_reached"] == 2

    [panel] = [axes for axes in figures["hyperparameters"].axes if axes.get_visible()]
    groups = {collection.get_label(): len(collection.get_offsets()) for collection in panel.collections}
    assert groups == {"full length": int(full.sum()),
                      **{f"stopped at rung {r} ({e} epochs)": int((table["rung_reached"] == r).sum())
                         for r, e in ((1, 3), (0, 1))}}

    [history] = figures["history"].axes
    [best_line] = [line for line in history.lines if line.get_label() == "best so far"]
    assert best_line.get_ydata()[-1] == pytest.approx(table.loc[full, "best_val_accuracy"].max())
    assert np.all(np.diff(best_line.get_ydata()[~np.isnan(best_line.get_ydata())]) >= 0)

    lines = [line for line in figures["parallel_coordinates"].axes[0].lines if list(line.get_xdata()) == [0, 1]]
    assert len(lines) == int(full.sum())  # one line (learning_rate -> best_val_accuracy) per full-length trial

    [curves] = figures["pruned_curves"].axes
    low, high = curves.get_ylim()
    finals = [table_accuracy(rate, 9) for rate in table.loc[full, "learning_rate"]]
    assert low > table["best_val_accuracy"].min() and low < min(finals) and high > max(finals)


def test_the_band_of_several_seeds_has_a_legend_entry(tmp_path, monkeypatch):
    monkeypatch.setattr(KerasRuns, "run", table_run)
    out = tmp_path / "out"
    assert main(TinyStudy, ["--out", str(out), "--verbose", "0", "--configs", "slow,medium", "--seeds", "3"]) == 0
    [axes] = load_results(out).figures()["val_accuracy"].axes
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert labels == ["slow", "medium", "band: 95% CI of the mean over 3 seeds"]
