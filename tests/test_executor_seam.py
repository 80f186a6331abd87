"""The executor seam: the search loop hands each run to `KerasRuns.run(trial, index, data,
stage)`; a table look-up in its place (as the replay benchmark uses) drives the same search,
pruning and promotions included, and Keras never trains."""

import math

import keras
import pandas as pd

from kerashp.cli import main
from kerashp.storage import records
from kerashp.tuning.runs import KerasRuns
from tiny_study import TinyStudy


def table_accuracy(learning_rate: float, epochs: int) -> float:
    """A made-up learning curve: the closer the rate to 0.01, the higher; rising with epochs."""
    return (1 - abs(math.log10(learning_rate) + 2) / 3) * (1 - 0.5 ** epochs)


def table_run(self, trial, index, data, stage):
    rate = trial.hyperparameters["learning_rate"]
    directory = self.execution_dir(trial.trial_id, index)
    directory.mkdir(parents=True, exist_ok=True)
    rows = [{"epoch": epoch, "val_accuracy": table_accuracy(rate, epoch + 1)} for epoch in range(stage)]
    records.write_text_atomic(directory / records.HISTORY_FILE, pd.DataFrame(rows).to_csv(index=False))
    summary = {"best_val_accuracy": rows[-1]["val_accuracy"], "final_val_accuracy": rows[-1]["val_accuracy"],
               "epochs": stage, "stage_epochs": stage, "seed": index, "diverged_epoch": None}
    records.write_json_atomic(directory / records.SUMMARY_FILE, summary)
    return summary


def test_a_table_executor_drives_a_pruned_search_without_training(tmp_path, monkeypatch):
    monkeypatch.setattr(KerasRuns, "run", table_run)
    monkeypatch.setattr(keras.Model, "fit", lambda *a, **k: (_ for _ in ()).throw(AssertionError("trained")))
    out = tmp_path / "out"
    assert main(TinyStudy, ["--out", str(out), "--verbose", "0", "--search", "random", "--trials", "9",
                            "--prune", "asha", "--epochs", "9", "--min-epochs", "1", "--eta", "3"]) == 0
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 9 and (table["status"] == "COMPLETED").all()
    assert sorted(table["epochs"]) [-1] == 9 and (table["epochs"] == 1).sum() >= 5  # pruned at 1, promoted to 9
    best = table.loc[table["best_val_accuracy"].idxmax()]
    assert best["epochs"] == 9
    assert best["best_val_accuracy"] == max(table_accuracy(rate, 9) for rate in
                                            table.loc[table["epochs"] == 9, "learning_rate"])


def test_when_exhausted_promote_trains_the_best_trials_on_beyond_the_quota(tmp_path, monkeypatch):
    """A 9-trial ASHA search stops with most trials at 1 epoch; rerun with --when-exhausted promote
    it starts no new configuration and trains on, best trial of the highest rung first, until every
    trial is at its full 9 epochs (the same trials, their rates unchanged)."""
    calls = []

    def recorded(self, trial, index, data, stage):
        calls.append((trial.trial_id, stage))
        return table_run(self, trial, index, data, stage)

    monkeypatch.setattr(KerasRuns, "run", recorded)
    out = tmp_path / "out"
    options = ["--out", str(out), "--verbose", "0", "--search", "random", "--trials", "9", "--prune", "asha",
               "--epochs", "9", "--min-epochs", "1", "--eta", "3"]
    assert main(TinyStudy, options) == 0
    stopped = pd.read_csv(out / "results.csv", dtype={"trial": str})
    assert (stopped["epochs"] < 9).sum() >= 6
    calls.clear()
    assert main(TinyStudy, [*options, "--when-exhausted", "promote"]) == 0
    promoted = pd.read_csv(out / "results.csv", dtype={"trial": str})
    assert (promoted["epochs"] == 9).all() and list(promoted["learning_rate"]) == list(stopped["learning_rate"])
    # The new stages (a rerun also hands each finished run to the executor, which answers from its records):
    # the trials at 3 epochs first, best first, each to 9; then each trial at 1 epoch, best first, to 3 and on to 9.
    epochs = dict(zip(stopped["trial"], stopped["epochs"]))
    new = [(trial, stage) for trial, stage in calls if stage > epochs[trial]]
    by_score = lambda rows: list(rows.sort_values("best_val_accuracy", ascending=False, kind="stable")["trial"])
    expected = [(trial, 9) for trial in by_score(stopped[stopped["epochs"] == 3])]
    for trial in by_score(stopped[stopped["epochs"] == 1]):
        expected += [(trial, 3), (trial, 9)]
    assert new == expected
