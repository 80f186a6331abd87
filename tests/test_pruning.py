"""Pruned search (kerashp.tuning.pruners): rungs, promotions, continuation from the
checkpoint, exact resume after SIGKILL, packing, the median rule and Hyperband brackets."""

import collections
import json
import logging
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from kerashp.cli import main
from kerashp.tuning.pruners import Rungs
from tiny_study import TinyStudy, synthetic_splits

ROOT = pathlib.Path(__file__).resolve().parents[1]
SEARCH = ["--search", "random", "--trials", "9", "--epochs", "9", "--min-epochs", "1"]  # rungs 1, 3, 9


def run(out, *args):
    return main(TinyStudy, ["--out", str(out), "--verbose", "0", *SEARCH, *args])


def trained(out):
    """(trial, epoch, pid) of every epoch trained, in order."""
    return [tuple(line.split()) for line in (out / "epochs_trained.log").read_text().splitlines() if line]


def history(out, trial):
    return pd.read_csv(out / "tuner" / f"trial_{trial}" / "execution_0" / "history.csv")


@pytest.fixture(scope="module")
def searches(tmp_path_factory):
    """The same 9-trial random search of the tiny study, unpruned and with ASHA."""
    root = tmp_path_factory.mktemp("pruning")
    assert main(TinyStudy, ["--out", str(root / "full"), "--verbose", "0", "--search", "random", "--trials", "6",
                            "--epochs", "9"]) == 0  # the random oracle's first 6 trials, unpruned
    assert run(root / "asha", "--prune", "asha") == 0
    return root / "full", root / "asha"


@pytest.mark.fast
def test_rungs_of_a_trial_and_the_hyperband_brackets():
    rungs = Rungs(min_epochs=1, eta=3, max_epochs=40)
    assert rungs.global_epochs() == [1, 3, 9, 27, 40]
    assert rungs.for_trial(20) == [1, 3, 9, 20]  # a shorter trial: its own length is its last rung
    assert rungs.for_trial(40, bracket=2) == [9, 27, 40]
    assert rungs.for_trial(20, bracket=4) == [20]
    four = Rungs(1, 3, 27)  # Hyperband's brackets for 27 epochs, eta 3: 27, 12, 6 and 4 trials per 49
    assert collections.Counter(four.bracket_of(index) for index in range(49)) == {0: 27, 1: 12, 2: 6, 3: 4}
    assert 3 in [four.bracket_of(index) for index in range(15)]  # interleaved, not one bracket after another
    with pytest.raises(ValueError, match="shorter than the longest"):
        Rungs(9, 3, 9)


def test_asha_promotes_the_top_third_and_continues_from_the_checkpoint(searches):
    full, asha = searches
    table = pd.read_csv(asha / "results.csv").set_index("trial")
    # 9 trials at rung 0 (1 epoch), the top 9 // 3 at rung 1 (3 epochs), 3 // 3 at rung 2 (9 epochs).
    assert (table["rung_reached"] >= 0).sum() == 9
    assert (table["rung_reached"] >= 1).sum() == 3
    assert (table["rung_reached"] == 2).sum() == 1
    assert set(table["rung_epochs"]) == {1, 3, 9}
    # Rung 0's best three by validation accuracy after 1 epoch are the ones promoted.
    after_one = {trial: history(asha, f"{trial}")["val_accuracy"].iloc[0] for trial in table.index}
    top = sorted(after_one, key=lambda trial: (-after_one[trial], trial))[:3]
    assert set(table.index[table["rung_reached"] >= 1]) == set(top)
    assert table.loc[table["rung_reached"] == 0, "stopped"].str.contains("promotion needs the top 3").all()

    # Each trial's epochs are those of the unpruned run of the same configuration,
    # each trained once: a promotion continues where the rung stopped.
    full_table = pd.read_csv(full / "results.csv").set_index("trial")
    assert (full_table["learning_rate"] == table.loc[full_table.index, "learning_rate"]).all()
    assert table.loc[full_table.index, "rung_reached"].tolist().count(2) == 1  # the full-length trial is among them
    for trial, epochs in table.loc[full_table.index, "rung_epochs"].items():
        ours, theirs = history(asha, trial), history(full, trial).iloc[:epochs]
        assert list(ours["epoch"]) == list(range(epochs))
        np.testing.assert_allclose(ours[["loss", "val_loss", "val_accuracy"]], theirs[["loss", "val_loss", "val_accuracy"]],
                                   rtol=1e-5)
    epochs = collections.Counter((trial, epoch) for trial, epoch, _ in trained(asha))
    assert max(epochs.values()) == 1 and len(epochs) == table["rung_epochs"].sum() == 9 + 3 * 2 + 6
    report = (asha / "results.md").read_text()
    assert "21 epochs trained, against 81 for the same trials unpruned (25.9%)" in report
    assert "9 trial(s); 9 reached 1 epoch(s), 3 reached 3 epoch(s), 1 trained their full length (9 epochs)" in report
    assert (asha / "pruned_curves.png").stat().st_size > 0
    # The search is done, so no stopped trial can be promoted: with a search's default
    # --keep-weights best their checkpoints are gone (tests/test_keep_weights.py: with "all" they stay).
    assert not list((asha / "tuner").glob("trial_*/execution_*/backup"))


def start(out, *args, search=tuple(SEARCH)):
    command = [sys.executable, str(ROOT / "tests" / "tiny_study.py"), "--out", str(out), "--verbose", "0",
               *search, "--prune", "asha", *args]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def kill_then_rerun(out, kill_points, search=tuple(SEARCH)):
    """Starts the pruned search, SIGKILLs it once `kill_after` epochs were trained, for each
    of `kill_points`, then reruns it to the end."""
    for kill_after in kill_points:
        process = start(out, "--epoch-sleep", "0.2", search=search)
        deadline = time.time() + 300
        while time.time() < deadline:
            if (out / "epochs_trained.log").exists() and len(trained(out)) >= kill_after:
                break
            assert process.poll() is None, process.stdout.read()
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
    rerun = start(out, "--epoch-sleep", "0.2", search=search)
    output, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output


def same_decisions(out, reference):
    """Asserts that the two searches' tables agree on values, rungs, scores and stops; ours."""
    columns = ["learning_rate", "rung_reached", "rung_epochs", "best_val_accuracy", "stopped"]
    ours = pd.read_csv(out / "results.csv").set_index("trial")[columns]
    theirs = pd.read_csv(reference / "results.csv").set_index("trial")[columns]
    pd.testing.assert_frame_equal(ours, theirs, rtol=1e-5)
    return ours


def test_a_pruned_search_killed_twice_makes_the_uninterrupted_searchs_decisions(searches, tmp_path):
    _, reference = searches
    out = tmp_path / "out"
    kills = (6, 13)  # epochs trained: the first kill in rung 0, the second after promotions began
    kill_then_rerun(out, kills)
    ours = same_decisions(out, reference)
    # No trial trained again from the start: at most the epoch in flight at each kill is repeated.
    epochs = collections.Counter((trial, epoch) for trial, epoch, _ in trained(out))
    assert sum(count - 1 for count in epochs.values()) <= len(kills)
    assert len(epochs) == ours["rung_epochs"].sum()


def test_a_tpe_search_killed_while_its_model_proposes_decides_as_the_uninterrupted_one(tmp_path):
    """`--search tpe` past its 10 random configurations: a SIGKILL while the model proposes
    from the first rung's scores, then a rerun, give the uninterrupted search's trials, values
    and promotions. (Kills among the random proposals: the ASHA test above.)"""
    search = ("--search", "tpe", "--trials", "16", "--epochs", "9")
    reference = tmp_path / "reference"
    assert main(TinyStudy, ["--out", str(reference), "--verbose", "0", *search, "--prune", "asha"]) == 0
    out = tmp_path / "out"
    kill_then_rerun(out, (19,), search=search)
    assert len(same_decisions(out, reference)) == 16


def test_a_packed_pruned_search_makes_the_same_decisions(searches, tmp_path, caplog):
    _, reference = searches
    caplog.set_level(logging.INFO, logger="kerashp")
    assert run(tmp_path / "packed", "--prune", "asha", "--pack", "3") == 0
    assert "packed in one model" in caplog.text
    columns = ["rung_reached", "rung_epochs", "best_val_accuracy", "final_val_loss"]
    ours = pd.read_csv(tmp_path / "packed" / "results.csv").set_index("trial")[columns]
    theirs = pd.read_csv(reference / "results.csv").set_index("trial")[columns]
    pd.testing.assert_frame_equal(ours, theirs, rtol=1e-4)


def test_the_median_rule_stops_trials_below_the_median_of_their_rung(tmp_path):
    out = tmp_path / "median"
    assert main(TinyStudy, ["--out", str(out), "--verbose", "0", "--search", "random", "--trials", "7",
                            "--epochs", "3", "--prune", "median"]) == 0
    table = pd.read_csv(out / "results.csv").set_index("trial")
    assert table["stopped"].str.contains("below the median").sum() >= 1 and (table["rung_reached"] == 1).any()
    rungs = [1, 3]

    def score(trial, rung):
        return history(out, trial)["val_accuracy"].iloc[:rungs[rung]].max()

    # One process: a trial's decision at rung k compares it with the earlier trials that reached rung k.
    for trial, row in table.iterrows():
        for rung in range(min(row["rung_reached"] + 1, 1)):
            earlier = [score(other, rung) for other in table.index
                       if other < trial and table.loc[other, "rung_reached"] >= rung]
            went_on = row["rung_reached"] > rung
            if len(earlier) < 3:
                assert went_on, (trial, rung)
            else:
                assert went_on == (score(trial, rung) >= np.median(earlier)), (trial, rung)


def test_hyperband_starts_each_bracket_at_its_own_rung(tmp_path):
    out = tmp_path / "hyperband"
    assert main(TinyStudy, ["--out", str(out), "--verbose", "0", "--search", "hyperband", "--trials", "6",
                            "--epochs", "9"]) == 0
    table = pd.read_csv(out / "results.csv").set_index("trial")
    rungs = Rungs(1, 3, 9)
    for trial, row in table.iterrows():
        bracket = rungs.bracket_of(int(trial))
        assert row["bracket"] == bracket and row["rungs"] == "/".join(map(str, rungs.for_trial(9, bracket)))
        first = rungs.for_trial(9, bracket)[0]
        assert len(history(out, trial)) >= first  # never stopped before its bracket's first rung
    assert len(set(table["bracket"])) >= 2
    state = json.loads((out / "tuner" / f"trial_{table.index[0]}" / "rung.json").read_text())
    assert state["bracket"] == table["bracket"].iloc[0]


@pytest.mark.fast
def test_pruning_options_that_cannot_work_are_refused_in_one_line(tmp_path, capfd):
    assert main(TinyStudy, ["--out", str(tmp_path / "a"), "--search", "random", "--trials", "3", "--epochs", "3",
                            "--prune", "asha", "--min-epochs", "3"]) == 2
    assert "must be shorter than the longest trial (3 epochs)" in capfd.readouterr().err
    assert not (tmp_path / "a").exists()
    assert main(TinyStudy, ["--out", str(tmp_path / "b"), "--search", "hyperband", "--prune", "median"]) == 2
    assert main(TinyStudy, ["--out", str(tmp_path / "b"), "--prune", "asha", "--eta", "1"]) == 2
    errors = capfd.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and "--search hyperband prunes with hyperband" in errors[0] and "--eta" in errors[1]


@pytest.mark.fast
def test_the_first_rung_by_default_is_three_epochs_for_asha_where_the_trials_have_room():
    from kerashp.tuning.pruners import first_rung

    assert [first_rung("asha", 3, epochs) for epochs in (4, 8, 9, 40)] == [1, 1, 3, 3]
    assert first_rung("asha", 4, 11) == 1 and first_rung("asha", 4, 12) == 3
    assert first_rung("hyperband", 3, 40) == 1 and first_rung("median", 3, 40) == 1


def test_a_pruned_search_left_to_its_defaults_starts_at_three_epochs_and_an_older_project_is_told_how_to_go_on(
        tmp_path, capfd):
    """Without --min-epochs, ASHA on 9-epoch trials has rungs 3 and 9, the value chosen is saved
    (a rerun resumes), and a project made with the earlier defaults (a first rung of 1 epoch, the
    last epoch tested) is refused with the options that go on with it."""
    from kerashp.storage.layout import FINGERPRINT_FILE

    out = tmp_path / "auto"
    search = ["--verbose", "0", "--search", "random", "--trials", "4", "--epochs", "9", "--prune", "asha"]
    assert main(TinyStudy, ["--out", str(out), *search]) == 0
    table = pd.read_csv(out / "results.csv")
    assert set(table["rung_epochs"]) <= {3, 9} and (table["rung_epochs"] == 3).sum() >= 3
    saved = json.loads((out / "tuner" / FINGERPRINT_FILE).read_text())
    assert saved["min_epochs"] == 3 and saved["restore_best_weights"] is True
    assert main(TinyStudy, ["--out", str(out), *search[:5], "5", *search[6:]]) == 0  # resumed: one trial more
    assert len(pd.read_csv(out / "results.csv")) == 5

    old = tmp_path / "old"
    assert main(TinyStudy, ["--out", str(old), *search, "--min-epochs", "1", "--no-restore-best-weights"]) == 0
    capfd.readouterr()
    assert main(TinyStudy, ["--out", str(old), *search]) == 2
    error = capfd.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "pass --min-epochs 1 and --no-restore-best-weights to go on with its pruning settings" in error
    assert main(TinyStudy, ["--out", str(old), *search, "--min-epochs", "1", "--no-restore-best-weights"]) == 0


def test_named_configurations_and_bayesian_and_tpe_searches_are_pruned_too(tmp_path):
    out = tmp_path / "configs"
    assert main(TinyStudy, ["--out", str(out), "--verbose", "0", "--epochs", "3", "--prune", "asha",
                            "--configs", "slow,medium,fast,diverging"]) == 0
    table = pd.read_csv(out / "results.csv").set_index("name")
    assert table.loc["diverging", "status"] == "FAILED" and table.loc["diverging", "stopped"] == "failed"
    # The diverged configuration counts at rung 0 (last): 4 // 3 = 1 promotion, the best after one epoch.
    assert (table["rung_reached"] == 1).sum() == 1
    after_one = {name: history(out, f"{trial:04d}")["val_accuracy"].iloc[0]
                 for name, trial in table["trial"].items() if name != "diverging"}
    assert table.loc[max(after_one, key=after_one.get), "rung_reached"] == 1

    out = tmp_path / "bayesian"
    assert main(TinyStudy, ["--out", str(out), "--verbose", "0", "--search", "bayesian", "--trials", "3",
                            "--epochs", "3", "--prune", "asha"]) == 0
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 3 and (table["status"] == "COMPLETED").all() and (table["rung_reached"] == 1).sum() == 1

    # TPE: 10 random configurations, then proposals from the first rung's scores.
    out = tmp_path / "tpe"
    assert main(TinyStudy, ["--out", str(out), "--verbose", "0", "--search", "tpe", "--trials", "12",
                            "--epochs", "3", "--prune", "asha"]) == 0
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 12 and (table["status"] == "COMPLETED").all() and (table["rung_reached"] == 1).sum() >= 12 // 3


class TinyWithTest(TinyStudy):
    """The tiny study with a test split of its own (the tiny study validates on its test split)."""

    name = "tiny_test"

    def load_data(self):
        import dataclasses

        data = synthetic_splits()
        return dataclasses.replace(data, test=synthetic_splits(num_train=64, num_test=64, seed=1).train)


def test_a_run_stopped_at_a_rung_is_tested_only_where_it_could_be_the_pick(tmp_path):
    """Every run trained to its full length has its test figures, and so does the
    search's pick; a run stopped at a rung is evaluated on the test split only where
    its objective was at least the best score so far (replayed from the order the
    runs trained in)."""
    out = tmp_path / "out"
    assert main(TinyWithTest, ["--out", str(out), "--verbose", "0", *SEARCH, "--prune", "asha"]) == 0
    blocks = []  # (trial, epochs trained to) of each run, in the order they trained
    for trial, epoch, _ in trained(out):
        if blocks and blocks[-1][0] == trial and int(epoch) == blocks[-1][1]:
            blocks[-1] = (trial, int(epoch) + 1)
        else:
            blocks.append((trial, int(epoch) + 1))
    best, expected = None, {}
    for trial, epochs in blocks:
        score = float(history(out, trial)["val_accuracy"].iloc[:epochs].max())
        expected[trial] = epochs == 9 or best is None or score >= best  # the last run of a trial is its summary's
        best = score if best is None else max(best, score)
    summaries = {trial: json.loads((out / "tuner" / f"trial_{trial}" / "execution_0" / "summary.json").read_text())
                 for trial in expected}
    tested = {trial: "test_accuracy" in summary for trial, summary in summaries.items()}
    assert tested == expected
    assert not all(tested.values()) and any(tested.values())  # the rule both skipped and ran test passes here
    table = pd.read_csv(out / "results.csv")
    pick = str(table.loc[table["best_val_accuracy"].idxmax(), "trial"])
    assert 0 <= summaries[pick]["test_accuracy"] <= 1
    assert all(tested[str(trial)] for trial in table.loc[table["rung_epochs"] == 9, "trial"])
