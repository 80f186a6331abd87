"""--keep-weights all|best|none: what a finished trial keeps on disk, with every number
and the resumption unchanged."""

import json

import pandas as pd
import pytest

from kerashp.cli import main
from kerashp.storage import weights as weights_module
from tiny_study import TinyStudy

NUMBERS = ["best_val_accuracy", "best_accuracy", "final_val_loss"]


def run(out, *args):
    return main(TinyStudy, ["--out", str(out), "--verbose", "0", *args])


def held(out):
    """Trial ids with a final weights file, and the runs holding a checkpoint."""
    tuner = out / "tuner"
    return (sorted({p.parent.parent.name[len("trial_"):] for p in tuner.glob("trial_*/execution_*/final.weights.h5")},
                   key=int),
            sorted(str(p.relative_to(tuner)) for p in tuner.glob("trial_*/execution_*/backup")))


def results(out):
    return pd.read_csv(out / "results.csv", dtype={"trial": str}).set_index("trial")


def trained_epochs(out):
    log = out / "epochs_trained.log"
    return log.read_text().count("\n") if log.exists() else 0


def test_a_search_keeps_only_the_best_trials_weights_by_default(tmp_path):
    search = ["--search", "random", "--trials", "4", "--epochs", "2"]
    assert run(tmp_path / "best", *search) == 0
    assert run(tmp_path / "all", *search, "--keep-weights", "all") == 0
    best, every = results(tmp_path / "best"), results(tmp_path / "all")
    pd.testing.assert_frame_equal(best[NUMBERS], every[NUMBERS])  # the same numbers
    assert held(tmp_path / "all")[0] == ["0", "1", "2", "3"]
    winner = every["best_val_accuracy"].astype(float).idxmax()
    assert held(tmp_path / "best")[0] == [winner]
    summary = json.loads((tmp_path / "best" / "tuner" / f"trial_{'0' if winner != '0' else '1'}"
                          / "execution_0" / "summary.json").read_text())
    assert summary["weights_kept"] is False
    # a rerun sees every trial finished: nothing retrained, the table unchanged
    before = trained_epochs(tmp_path / "best")
    assert run(tmp_path / "best", *search) == 0
    assert trained_epochs(tmp_path / "best") == before
    pd.testing.assert_frame_equal(results(tmp_path / "best")[NUMBERS], best[NUMBERS])


def test_named_configurations_keep_every_runs_weights_unless_told(tmp_path):
    assert run(tmp_path / "a", "--configs", "slow,medium", "--epochs", "1") == 0
    assert held(tmp_path / "a")[0] == ["0000", "0001"]
    assert run(tmp_path / "b", "--configs", "slow,medium", "--epochs", "1", "--keep-weights", "none") == 0
    assert held(tmp_path / "b") == ([], [])
    assert run(tmp_path / "b", "--configs", "slow,medium", "--epochs", "1", "--keep-weights", "none") == 0
    assert trained_epochs(tmp_path / "b") == 2  # nothing retrained for lack of weights


def test_pruned_trials_lose_their_checkpoints_when_the_search_is_done_and_an_extension_still_agrees(tmp_path):
    search = ["--search", "random", "--epochs", "9", "--prune", "asha"]
    assert run(tmp_path / "all", *search, "--trials", "6", "--keep-weights", "all") == 0
    assert run(tmp_path / "none", *search, "--trials", "6", "--keep-weights", "none") == 0
    assert held(tmp_path / "all")[1], "ASHA keeps the checkpoints of the trials it stopped"
    assert held(tmp_path / "none") == ([], [])
    pd.testing.assert_frame_equal(results(tmp_path / "none")[NUMBERS], results(tmp_path / "all")[NUMBERS])
    # More trials: a stopped trial promoted now, its checkpoint gone, trains again from its first epoch.
    assert run(tmp_path / "all", *search, "--trials", "9", "--keep-weights", "all") == 0
    assert run(tmp_path / "none", *search, "--trials", "9", "--keep-weights", "none") == 0
    pd.testing.assert_frame_equal(results(tmp_path / "none")[NUMBERS], results(tmp_path / "all")[NUMBERS])
    for trial in results(tmp_path / "all").index:
        paths = [tmp_path / kind / "tuner" / f"trial_{trial}" / "execution_0" / "history.csv" for kind in ("all", "none")]
        a, b = (pd.read_csv(p) for p in paths)
        assert list(a["epoch"]) == list(b["epoch"]) == list(range(len(a)))  # one row per epoch, none repeated
        pd.testing.assert_series_equal(a["val_accuracy"], b["val_accuracy"])



def test_a_run_stopped_at_a_rung_writes_no_final_weights_unless_all_are_kept(tmp_path, monkeypatch):
    # Its checkpoint holds the same weights for a promotion; with "best" it would be removed when
    # the search ends anyway. Kept past the end here, to see what the search itself wrote.
    monkeypatch.setattr(weights_module.WeightsPolicy, "search_finished", lambda self: 0)
    search = ["--search", "random", "--epochs", "9", "--prune", "asha", "--trials", "6"]
    assert run(tmp_path / "best", *search) == 0
    assert run(tmp_path / "all", *search, "--keep-weights", "all") == 0
    for kind, writes in (("best", False), ("all", True)):
        stopped = [path.parent for path in (tmp_path / kind / "tuner").glob("trial_*/execution_*/backup")]
        assert stopped, "ASHA stops some of the 6 trials at a rung"
        for run_dir in stopped:
            assert (run_dir / "final.weights.h5").exists() == writes, run_dir
            assert json.loads((run_dir / "summary.json").read_text()).get("weights_kept", True) == writes
    pd.testing.assert_frame_equal(results(tmp_path / "best")[NUMBERS], results(tmp_path / "all")[NUMBERS])


@pytest.mark.fast
def test_which_runs_write_final_weights(tmp_path):
    policies = {mode: weights_module.WeightsPolicy(mode, tmp_path) for mode in weights_module.KEEP_WEIGHTS}
    assert [policies[mode].saves_final_weights(full_length=True) for mode in ("all", "best", "none")] == \
        [True, True, False]
    assert [policies[mode].saves_final_weights(full_length=False) for mode in ("all", "best", "none")] == \
        [True, False, False]

@pytest.mark.fast
def test_strip_records_before_it_deletes(tmp_path):
    run_dir = tmp_path / "trial_0000" / "execution_0"
    (run_dir / "backup").mkdir(parents=True)
    (run_dir / "backup" / "epoch_000001.weights.h5").write_bytes(b"x" * 10)
    (run_dir / "final.weights.h5").write_bytes(b"x" * 5)
    (run_dir / "summary.json").write_text(json.dumps({"best_val_accuracy": 0.5}))
    assert weights_module.strip_run(run_dir) == 5 and (run_dir / "backup").exists()
    assert json.loads((run_dir / "summary.json").read_text()) == {"best_val_accuracy": 0.5, "weights_kept": False}
    assert weights_module.strip_run(run_dir, checkpoint=True) == 10 and not (run_dir / "backup").exists()
    assert weights_module.strip_run(tmp_path / "nothing") == 0
    with pytest.raises(ValueError, match="all, best, none"):
        weights_module.WeightsPolicy("some", tmp_path)
